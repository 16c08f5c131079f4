/// A type every bit pattern of whose bytes is a valid value: integers,
/// floating-point numbers, SIMD vectors of them, and structs (and tuples
/// inside structs) made only of such types.
///
/// Channels read plain-data values from bytes another process wrote, in
/// place or copied out, without checking them: for a plain-data type, no
/// bytes can make an invalid value. `Bool`, enumerations, pointers,
/// references, `String` and `Array` are not plain data (some of their bit
/// patterns are invalid, or they refer to memory of one process).
///
/// Conforming is your promise, as with `BitwiseCopyable`: declare it on a
/// struct whose stored properties are all plain data. Swift cannot make a
/// tuple conform to a protocol; wrap a tuple in a struct.
///
/// ```swift
/// struct Sample: PlainData {
///     var time: UInt64
///     var position: SIMD4<Float>
/// }
/// ```
///
/// A typed channel (``TypedChannelSender``) records the type's
/// ``messageTypeName`` with its size, alignment and stride in the ring, and
/// refuses an end that expects another type.
public protocol PlainData: BitwiseCopyable {
    /// The name a typed ring records for this type. By default the type's
    /// name without its module (`String(describing:)`), so that two programs
    /// that each declare the same struct agree; override it to tell apart
    /// types of the same name, or to keep a ring's type when renaming one.
    static var messageTypeName: String { get }
}

extension PlainData {
    /// The type's name without its module, as `String(describing:)` gives it.
    public static var messageTypeName: String { String(describing: Self.self) }
}

extension Int: PlainData {}
extension Int8: PlainData {}
extension Int16: PlainData {}
extension Int32: PlainData {}
extension Int64: PlainData {}
extension UInt: PlainData {}
extension UInt8: PlainData {}
extension UInt16: PlainData {}
extension UInt32: PlainData {}
extension UInt64: PlainData {}
@available(macOS 15, iOS 18, *) extension Int128: PlainData {}
@available(macOS 15, iOS 18, *) extension UInt128: PlainData {}
extension Float: PlainData {}
extension Double: PlainData {}
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: PlainData {}
#endif

// A SIMD vector is plain data when its scalar is; the compiler needs the
// storage types' conformances to see that the vector is bitwise copyable.
extension SIMD2: PlainData where Scalar: PlainData, Scalar.SIMD2Storage: PlainData {}
extension SIMD3: PlainData where Scalar: PlainData, Scalar.SIMD4Storage: PlainData {}
extension SIMD4: PlainData where Scalar: PlainData, Scalar.SIMD4Storage: PlainData {}
extension SIMD8: PlainData where Scalar: PlainData, Scalar.SIMD8Storage: PlainData {}
extension SIMD16: PlainData where Scalar: PlainData, Scalar.SIMD16Storage: PlainData {}
extension SIMD32: PlainData where Scalar: PlainData, Scalar.SIMD32Storage: PlainData {}
extension SIMD64: PlainData where Scalar: PlainData, Scalar.SIMD64Storage: PlainData {}
extension Int.SIMD2Storage: PlainData {}
extension Int.SIMD4Storage: PlainData {}
extension Int.SIMD8Storage: PlainData {}
extension Int.SIMD16Storage: PlainData {}
extension Int.SIMD32Storage: PlainData {}
extension Int.SIMD64Storage: PlainData {}
extension Int8.SIMD2Storage: PlainData {}
extension Int8.SIMD4Storage: PlainData {}
extension Int8.SIMD8Storage: PlainData {}
extension Int8.SIMD16Storage: PlainData {}
extension Int8.SIMD32Storage: PlainData {}
extension Int8.SIMD64Storage: PlainData {}
extension Int16.SIMD2Storage: PlainData {}
extension Int16.SIMD4Storage: PlainData {}
extension Int16.SIMD8Storage: PlainData {}
extension Int16.SIMD16Storage: PlainData {}
extension Int16.SIMD32Storage: PlainData {}
extension Int16.SIMD64Storage: PlainData {}
extension Int32.SIMD2Storage: PlainData {}
extension Int32.SIMD4Storage: PlainData {}
extension Int32.SIMD8Storage: PlainData {}
extension Int32.SIMD16Storage: PlainData {}
extension Int32.SIMD32Storage: PlainData {}
extension Int32.SIMD64Storage: PlainData {}
extension Int64.SIMD2Storage: PlainData {}
extension Int64.SIMD4Storage: PlainData {}
extension Int64.SIMD8Storage: PlainData {}
extension Int64.SIMD16Storage: PlainData {}
extension Int64.SIMD32Storage: PlainData {}
extension Int64.SIMD64Storage: PlainData {}
extension UInt.SIMD2Storage: PlainData {}
extension UInt.SIMD4Storage: PlainData {}
extension UInt.SIMD8Storage: PlainData {}
extension UInt.SIMD16Storage: PlainData {}
extension UInt.SIMD32Storage: PlainData {}
extension UInt.SIMD64Storage: PlainData {}
extension UInt8.SIMD2Storage: PlainData {}
extension UInt8.SIMD4Storage: PlainData {}
extension UInt8.SIMD8Storage: PlainData {}
extension UInt8.SIMD16Storage: PlainData {}
extension UInt8.SIMD32Storage: PlainData {}
extension UInt8.SIMD64Storage: PlainData {}
extension UInt16.SIMD2Storage: PlainData {}
extension UInt16.SIMD4Storage: PlainData {}
extension UInt16.SIMD8Storage: PlainData {}
extension UInt16.SIMD16Storage: PlainData {}
extension UInt16.SIMD32Storage: PlainData {}
extension UInt16.SIMD64Storage: PlainData {}
extension UInt32.SIMD2Storage: PlainData {}
extension UInt32.SIMD4Storage: PlainData {}
extension UInt32.SIMD8Storage: PlainData {}
extension UInt32.SIMD16Storage: PlainData {}
extension UInt32.SIMD32Storage: PlainData {}
extension UInt32.SIMD64Storage: PlainData {}
extension UInt64.SIMD2Storage: PlainData {}
extension UInt64.SIMD4Storage: PlainData {}
extension UInt64.SIMD8Storage: PlainData {}
extension UInt64.SIMD16Storage: PlainData {}
extension UInt64.SIMD32Storage: PlainData {}
extension UInt64.SIMD64Storage: PlainData {}
extension Float.SIMD2Storage: PlainData {}
extension Float.SIMD4Storage: PlainData {}
extension Float.SIMD8Storage: PlainData {}
extension Float.SIMD16Storage: PlainData {}
extension Float.SIMD32Storage: PlainData {}
extension Float.SIMD64Storage: PlainData {}
extension Double.SIMD2Storage: PlainData {}
extension Double.SIMD4Storage: PlainData {}
extension Double.SIMD8Storage: PlainData {}
extension Double.SIMD16Storage: PlainData {}
extension Double.SIMD32Storage: PlainData {}
extension Double.SIMD64Storage: PlainData {}
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16.SIMD2Storage: PlainData {}
extension Float16.SIMD4Storage: PlainData {}
extension Float16.SIMD8Storage: PlainData {}
extension Float16.SIMD16Storage: PlainData {}
extension Float16.SIMD32Storage: PlainData {}
extension Float16.SIMD64Storage: PlainData {}
#endif
