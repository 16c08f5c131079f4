// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-shm",
    products: [
        .library(name: "SharedMemory", targets: ["SharedMemory"]),
        // Plain C programs link `libCShm.a` and include `include/cshm.h`.
        .library(name: "CShm", type: .static, targets: ["CShm"]),
        .executable(name: "shm-server", targets: ["shm-server"]),
        .executable(name: "shm-client", targets: ["shm-client"]),
        .executable(name: "shm-bench", targets: ["shm-bench"]),
        .executable(name: "shm", targets: ["shm"]),
        // Services across machines over DDS (Eclipse Cyclone DDS). A product of
        // its own: the SharedMemory library above builds and links no DDS.
        .executable(name: "shm-bridge", targets: ["shm-bridge"]),
    ],
    dependencies: [
        // Command-line parsing for the executables.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation`: the DocC catalog is the channel
        // protocol's contract, and scripts/test-docs.sh checks that it builds clean.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The C shim. Its one public header is the top-level `include/cshm.h`,
        // the same file plain C callers include.
        .target(
            name: "CShm",
            path: ".",
            sources: ["Sources/CShm"],
            publicHeadersPath: "include"
        ),
        .target(name: "CShmBench", path: "Sources/CShmBench"),
        .target(
            name: "SharedMemory",
            dependencies: ["CShm"]
        ),
        .target(
            name: "SampleSupport",
            dependencies: [
                "SharedMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "shm-server", dependencies: ["SampleSupport"]),
        .executableTarget(name: "shm-client", dependencies: ["SampleSupport"]),
        .executableTarget(
            name: "shm-bench",
            dependencies: ["SharedMemory", "CShmBench", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The command-line tool: list, inspect, dump, read and write segments; channels from the shell.
        .executableTarget(
            name: "shm",
            dependencies: ["SharedMemory", "SampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // A separate process for the channel tests: sends and checks message streams.
        .executableTarget(
            name: "shm-test-peer",
            dependencies: ["SharedMemory", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The bridge over DDS: libddsc through pkg-config, the sample type generated
        // by idlc from Sources/CShmBridgeTypes/shm_bridge.idl (scripts/generate-dds-types.sh).
        .systemLibrary(
            name: "CCycloneDDS",
            pkgConfig: "CycloneDDS",
            providers: [.apt(["cyclonedds-dev"])]
        ),
        .target(name: "CShmBridgeTypes", dependencies: ["CCycloneDDS"]),
        .target(name: "SharedMemoryBridge", dependencies: ["SharedMemory", "CCycloneDDS", "CShmBridgeTypes"]),
        .executableTarget(
            name: "shm-bridge",
            dependencies: ["SharedMemoryBridge", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Local ends of the bridge benchmark (scripts/bench-bridge.sh); no DDS in it.
        .executableTarget(
            name: "shm-bridge-bench",
            dependencies: ["SharedMemory", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "SharedMemoryTests",
            dependencies: ["SharedMemory", "CShm", "SampleSupport"]
        ),
        // The bridge's checks that need no network (the network tests are scripts/test-bridge.sh).
        .testTarget(name: "SharedMemoryBridgeTests", dependencies: ["SharedMemoryBridge", "SharedMemory"]),
        // Starts the built executables as real processes.
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["SharedMemory", "shm-server", "shm-client", "shm-test-peer", "shm", "shm-bench"]
        ),
    ]
)
