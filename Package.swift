// swift-tools-version:6.0
// envrun — reward environments for RL on language models.
// Dependencies point one way: envrun -> Server -> Tasks/Rewards -> Verify/Sandbox/RM/Judge -> Core.
import PackageDescription

let package = Package(
    name: "envrun",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "envrun", targets: ["envrun"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        // Server only: HTTP, metrics, lifecycle, config files, and the bench's HTTP client.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // OpenEnv's session protocol is a WebSocket.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    ],
    targets: [
        // Sendable value types and the protocols at the seams.
        .target(name: "EnvrunCore"),

        // System libraries (Debian: libseccomp-dev, libopenblas-dev).
        .systemLibrary(
            name: "CSeccomp", pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(
            name: "COpenBLAS",
            providers: [.apt(["libopenblas-dev"])]),
        // zlib, for task files stored as .jsonl.gz (Debian: zlib1g-dev).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

        // C shim: clone, namespaces, rlimits, seccomp, execve. The only code that calls libseccomp.
        .target(name: "CEnvrunSandbox", dependencies: ["CSeccomp"]),
        .target(
            name: "EnvrunSandbox",
            dependencies: [
                "EnvrunCore", "CEnvrunSandbox",
                .product(name: "Logging", package: "swift-log"),
            ]),

        .target(
            name: "EnvrunVerify",
            dependencies: ["EnvrunCore", .product(name: "BigInt", package: "BigInt")]),
        .target(name: "EnvrunRM", dependencies: ["EnvrunCore", "COpenBLAS"]),
        // The generative RM: an OpenAI-compatible judge client, prompt templates, parsing, voting, cache.
        .target(
            name: "EnvrunJudge",
            dependencies: [
                "EnvrunCore", "EnvrunRM",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "EnvrunRewards",
            dependencies: [
                "EnvrunCore", "EnvrunSandbox", "EnvrunVerify", "EnvrunRM", "EnvrunJudge",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "EnvrunTasks",
            dependencies: [
                "EnvrunCore", "EnvrunRewards", "EnvrunJudge", "CZlib",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "EnvrunServer",
            dependencies: [
                "EnvrunCore", "EnvrunTasks", "EnvrunRewards", "EnvrunJudge", "EnvrunSandbox",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        // Test helpers; EnvrunServer for the attack corpus the load bench shares with the sandbox suites.
        .target(
            name: "EnvrunTesting",
            dependencies: [
                "EnvrunCore", "EnvrunServer", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        .target(
            name: "EnvrunRL",
            dependencies: [
                "EnvrunCore", "COpenBLAS", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),

        .executableTarget(
            name: "envrun",
            dependencies: [
                "EnvrunCore", "EnvrunSandbox", "EnvrunVerify", "EnvrunRM", "EnvrunRewards",
                "EnvrunTasks", "EnvrunServer", "EnvrunJudge", "EnvrunRL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        .testTarget(name: "EnvrunCoreTests", dependencies: ["EnvrunCore"]),
        .testTarget(name: "EnvrunSandboxTests", dependencies: ["EnvrunSandbox", "EnvrunTesting"]),
        .testTarget(name: "EnvrunVerifyTests", dependencies: ["EnvrunVerify"]),
        .testTarget(name: "EnvrunRMTests", dependencies: ["EnvrunRM"]),
        .testTarget(name: "EnvrunRLTests", dependencies: ["EnvrunRL", "EnvrunTasks", "EnvrunRewards", "EnvrunTesting"]),
        .testTarget(name: "EnvrunJudgeTests", dependencies: ["EnvrunJudge", "EnvrunTesting"]),
        .testTarget(
            name: "EnvrunTasksTests", dependencies: ["EnvrunTasks", "EnvrunRewards", "EnvrunJudge", "EnvrunRM", "EnvrunVerify", "EnvrunTesting"]),
        .testTarget(
            name: "EnvrunServerTests",
            dependencies: [
                "EnvrunServer", "EnvrunTesting", "EnvrunJudge", "EnvrunRewards", "EnvrunTasks",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
    ]
)
