// swift-tools-version:6.2
import PackageDescription

let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")

// The layers, bottom first (docs/ARCHITECTURE.md). A target may import every target of the layers below its own and
// no other of ours: not a peer, not a layer above. An import that points up is a cycle, which SwiftPM refuses; one of
// a peer is refused by `--explicit-target-dependency-import-check error` (scripts/test.sh, scripts/build-release.sh).
let layers: [[Target]] = [
    [.target(name: "RegistrySupport")],
    [.target(name: "RegistryModel", dependencies: [.product(name: "HashTreeCollections", package: "swift-collections")])],
    [
        .target(
            name: "RegistryStore",
            dependencies: ["CLMDB", .product(name: "HashTreeCollections", package: "swift-collections")]
        )
    ],
    [
        .target(
            name: "RegistryProbe",
            dependencies: [
                "CCurl", .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "HashTreeCollections", package: "swift-collections"), logging, lifecycle,
            ]),
        .target(name: "RegistryDiscovery", dependencies: [logging, lifecycle]),
        .target(name: "RegistryExposition", dependencies: ["CZlib", hummingbird]),
        // The dashboard's script and stylesheet: real files, compiled into the binary as byte arrays.
        .target(name: "RegistryDashboard", resources: [.embedInCode("Assets/app.js"), .embedInCode("Assets/app.css")]),
        .target(
            name: "RegistryTLS",
            dependencies: [
                hummingbird, .product(name: "HummingbirdCore", package: "hummingbird"), logging, lifecycle,
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"), .product(name: "Yams", package: "Yams"),
            ]),
    ],
    [
        .target(
            name: "RegistryHTTP",
            dependencies: [
                "CZlib", hummingbird, .product(name: "HummingbirdCore", package: "hummingbird"), logging, lifecycle,
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"), .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ])
    ],
    [
        .target(
            name: "RegistryApp",
            dependencies: [
                hummingbird, .product(name: "HummingbirdCore", package: "hummingbird"), logging, lifecycle,
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ])
    ],
]
let libraryTargets = layers.flatMap { $0 }
let everyLibrary = libraryTargets.map { Target.Dependency.target(name: $0.name) }
for (rank, layer) in layers.enumerated() {
    let below = layers[..<rank].flatMap { $0 }.map { Target.Dependency.target(name: $0.name) }
    for target in layer { target.dependencies += below }
}

let package = Package(
    // Linux only (Debian 12 and later): the code uses Glibc, procfs, systemd and apt's liblmdb/libcurl/zlib.
    // SwiftPM cannot declare Linux as a platform, so no `platforms:` is given (it would name macOS only).
    name: "service-registry",
    products: [
        .executable(name: "service-registry", targets: ["service-registry"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Used directly by the list fast path (a NIO channel handler); already in the graph through Hummingbird.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // HTTPS for the registry itself (SPEC §11): TLS, and the exporter-toolkit web configuration file (YAML).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // HeapModule for the probe schedule; already in the graph through swift-nio and swift-nio-extras.
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        // Tests only: property-based tests of the JSON parser and the validation bounds.
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // C libraries, each behind a small shim header (PLATFORM.md: variadic libcurl calls need typed wrappers).
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    ] + libraryTargets + [
        .executableTarget(
            name: "service-registry",
            // The command line: `serve` (the app) and the clients, which use the model and libcurl directly.
            dependencies: everyLibrary + [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmarks/metrics.sh: render timing and a data directory with many services (not shipped).
        .executableTarget(
            name: "metrics-benchmark",
            dependencies: everyLibrary + [hummingbird],
            path: "Benchmarks/metrics"
        ),
        .testTarget(
            name: "ServiceRegistryTests",
            dependencies: everyLibrary + [
                "service-registry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ]
)
