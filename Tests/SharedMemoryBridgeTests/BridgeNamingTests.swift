import SharedMemory
import Testing
@testable import SharedMemoryBridge

@Suite("Bridge naming: service name <-> DDS topic")
struct BridgeNamingTests {
    @Test("names map to escaped topics and back, one to one")
    func roundTrip() {
        let cases = [
            ("stream", "shm/stream"),
            ("cam-0.raw_rgb", "shm/cam_h0_draw__rgb"),
            ("a__b", "shm/a____b"),
            ("x.y-z", "shm/x_dy_hz"),
        ]
        for (name, topic) in cases {
            #expect(BridgeNaming.topicName(forService: name) == topic)
            #expect(BridgeNaming.serviceName(forTopic: topic) == name)
        }
    }

    @Test("path tricks, control bytes and odd names are refused")
    func refused() {
        for name in ["", "a/b", "/etc", "..", "a..b", ".hidden", "a\u{0}b", "a\nb", "caf\u{e9}", "sp ace",
                     String(repeating: "a", count: 201)] {
            #expect(BridgeNaming.problem(withServiceName: name) != nil, "\(name.debugDescription)")
            #expect(BridgeNaming.topicName(forService: name) == nil)
        }
        #expect(BridgeNaming.problem(withServiceName: String(repeating: "a", count: 200)) == nil)
    }

    @Test("topics outside the rule map to no service")
    func badTopics() {
        for topic in ["stream", "rt/stream", "shm/", "shm/a/b", "shm/a-b", "shm/a.b", "shm/a_", "shm/a_x", "shm/_d_d",
                      "shm/_dhidden", "shm/a_d_db"] {
            #expect(BridgeNaming.serviceName(forTopic: topic) == nil, "\(topic)")
        }
    }
}

@Suite("Bridge checks of samples from the network")
struct InboundCheckTests {
    let own: [UInt8] = Array(0..<16)
    let other: [UInt8] = Array(repeating: 7, count: 16)

    func refusal(_ check: InboundCheck, origin: [UInt8], length: Int, typeSize: UInt32 = 0, fingerprint: UInt64 = 0,
                 byteOrder: UInt8 = InboundCheck.localByteOrder) -> InboundCheck.Refusal? {
        origin.withUnsafeBytes { check.refusal(origin: $0, payloadLength: length, typeSize: typeSize,
                                               typeFingerprint: fingerprint, byteOrder: byteOrder) }
    }

    @Test("a ring of bytes takes untyped samples up to its largest message")
    func bytes() {
        let check = InboundCheck(origin: own, maxMessageSize: 1000, messageType: nil)
        #expect(refusal(check, origin: other, length: 0) == nil)
        #expect(refusal(check, origin: other, length: 1000) == nil)
        #expect(refusal(check, origin: other, length: 1001) == .tooLarge(1001))
        #expect(refusal(check, origin: own, length: 10) == .ownSample)
        if case .typeMismatch = refusal(check, origin: other, length: 8, typeSize: 8, fingerprint: 42) {} else {
            Issue.record("a typed sample was taken by a ring of bytes")
        }
    }

    @Test("a typed ring takes only its type: fingerprint, size and byte order")
    func typed() {
        let type = RecordedMessageType(size: 16, alignment: 8, stride: 16, name: "Pair", fingerprint: 0xABCD)
        let check = InboundCheck(origin: own, maxMessageSize: 1000, messageType: type)
        #expect(refusal(check, origin: other, length: 16, typeSize: 16, fingerprint: 0xABCD) == nil)
        for (length, size, fingerprint, order) in [(16, 16, UInt64(0xABCE), InboundCheck.localByteOrder),
                                                    (16, 8, 0xABCD, InboundCheck.localByteOrder),
                                                    (8, 16, 0xABCD, InboundCheck.localByteOrder),
                                                    (16, 16, 0, InboundCheck.localByteOrder),
                                                    (16, 16, 0xABCD, 3 - InboundCheck.localByteOrder)] {
            guard case .typeMismatch = refusal(check, origin: other, length: length, typeSize: UInt32(size),
                                               fingerprint: fingerprint, byteOrder: order) else {
                Issue.record("taken: length \(length) size \(size) fingerprint \(fingerprint) order \(order)")
                continue
            }
        }
    }
}

@Suite("Bridge configuration")
struct BridgeConfigurationTests {
    @Test("interfaces cannot break out of the XML configuration")
    func interfaces() {
        #expect(DDSDomainConfiguration.problem(withInterface: "lo") == nil)
        #expect(DDSDomainConfiguration.problem(withInterface: "veth-a_1") == nil)
        #expect(DDSDomainConfiguration.problem(withInterface: "10.0.0.1") == nil)
        for bad in ["", "lo\"/><x", "a b", "<", String(repeating: "e", count: 65)] {
            #expect(DDSDomainConfiguration.problem(withInterface: bad) != nil)
        }
        let xml = DDSDomainConfiguration(domain: 42, interfaces: ["lo"], maxSampleSize: 5000).xml
        #expect(xml.contains("<NetworkInterface name=\"lo\"/>"))
        #expect(xml.contains("<MaxSampleSize>5000B</MaxSampleSize>"))
    }

    @Test("one name both ways is taken (a topic); twice one way, domain 231 and no services are refused; the default domain is not 0; the bridge sleeps on its rings")
    func problems() {
        #expect(BridgeConfiguration(services: []).problem != nil)
        #expect(BridgeConfiguration(services: [.init(name: "a", direction: .out), .init(name: "a", direction: .in)]).problem == nil)
        #expect(BridgeConfiguration(services: [.init(name: "a", direction: .out)]).wait == .sleep)
        #expect(BridgeConfiguration(services: [.init(name: "a", direction: .out)]).topic.maxPublishers == 16)
        #expect(BridgeConfiguration(services: [.init(name: "a", direction: .in), .init(name: "a", direction: .in)]).problem != nil)
        #expect(BridgeConfiguration(services: [.init(name: "a/b", direction: .in)]).problem != nil)
        var configuration = BridgeConfiguration(services: [.init(name: "a", direction: .out), .init(name: "b", direction: .in)])
        #expect(configuration.problem == nil)
        #expect(configuration.domain != 0)
        configuration.domain = 231
        #expect(configuration.problem != nil)
        configuration.domain = 7
        configuration.interfaces = ["lo\""]
        #expect(configuration.problem != nil)
    }

    @Test("queues are bounded by message size: about 64 MiB per endpoint, at least 2 samples")
    func depth() {
        #expect(BridgeQoS.depth(requested: 64, maxMessageSize: 1000) == 64)
        #expect(BridgeQoS.depth(requested: 64, maxMessageSize: 4 << 20) == 16)
        #expect(BridgeQoS.depth(requested: 64, maxMessageSize: 1 << 30) == 2)
    }
}
