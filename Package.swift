// swift-tools-version: 6.0
// bertqa: extractive question answering with BERT-family transformers, in Swift.
//
// The targets follow the data's path, and dependencies point one way:
//   Tokenization (text → tokens → windows)      knows nothing of the model
//   SQuAD        (data, features, spans, metrics) builds on Tokenization
//   Support      (JSON, atomic files, memory)     Foundation only
//   Kernels      (BLAS + SIMD numeric kernels)    knows nothing of text; its vector loops are
//                built per instruction set and chosen at start-up (KernelCore, VectorKernels*)
//   BERT         (config, weights, layers)        builds on Kernels
//   Hub          (the Hugging Face Hub and its cache) files only: knows no model
//   Inference    (QA pipeline, SQuAD evaluation)  joins the two sides; takes folders or Hub ids
//   Training     (Trainer, AdamW, the fine-tune job) builds on Inference: the job evaluates
//                after each epoch, as HF's Trainer does, with the same evaluator
//   Reports      (report.html of train and evaluate, SVG charts) from data and logs only
//   Distributed  (MPI ranks: sums over them)      buffers only; Open MPI loaded at run time
//   Server and the CLI sit on top.
import Foundation
import PackageDescription

// Hot numeric loops: drop exclusivity checks where kernels touch only raw buffers. The vector
// kernels (Sources/VectorKernels: softmax, GELU, LayerNorm, attention and their backward passes)
// are built three times from one source — portable (the x86-64 or aarch64 baseline), AVX2 + FMA
// (`-target-cpu haswell`: Haswell, 2013, and every Zen) and AVX-512 (`skylake-avx512`) —
// and `Kernels` picks one at start-up from the CPU (`KernelPath`), as oneDNN picks its own: one
// binary, built anywhere, runs on any x86-64 CPU with the widest registers it has. The other
// modules are compiled for the baseline (their loops are not the hot ones).
//
// BERTQA_TARGET_CPU=<cpu> (e.g. native) compiles every module for one CPU instead, a binary
// for that machine only (an opt-in; the kernels' choice at start-up stays).
let environment = ProcessInfo.processInfo.environment
let singleTarget: [String] = environment["BERTQA_TARGET_CPU"].map { $0.isEmpty ? [] : ["-target-cpu", $0] } ?? []
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"] + singleTarget, .when(configuration: .release)),
]
/// The settings of one build of the vector kernels: its CPU and the conditions its loops read
/// (BERTQA_FMA: fused multiply-add is one instruction; BERTQA_AVX512: 32 vector registers of 16 lanes).
func vectorKernels(cpu: String, _ conditions: [String]) -> [SwiftSetting] {
    [.unsafeFlags(["-enforce-exclusivity=unchecked", "-target-cpu", cpu], .when(configuration: .release))]
        + conditions.map { .define($0, .when(configuration: .release)) }
}
#if arch(x86_64)
let vectorPaths: [Target] = [
    .target(name: "VectorKernelsAVX2", dependencies: ["KernelCore"],
            swiftSettings: vectorKernels(cpu: "haswell", ["BERTQA_FMA"])),
    .target(name: "VectorKernelsAVX512", dependencies: ["KernelCore"],
            swiftSettings: vectorKernels(cpu: "skylake-avx512", ["BERTQA_FMA", "BERTQA_AVX512"])),
]
#else
let vectorPaths: [Target] = []
#endif

let package = Package(
    name: "bertqa",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bertqa", targets: ["bertqa"]),
        .library(name: "Tokenization", targets: ["Tokenization"]),
        .library(name: "SQuAD", targets: ["SQuAD"]),
        .library(name: "BERT", targets: ["BERT"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Training", targets: ["Training"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // The server's API keys (the Authorization: Bearer header, as HummingbirdAuth reads it).
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        // Hummingbird's own dependencies, named because the server imports them too.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // GET /metrics in Prometheus's text format.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        // The HTTP request parts a server channel handler sees (the slow-client deadline).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // SentencePiece model files are protobuf (the Swift code is generated once and committed).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // pytorch_model.bin is a zip (its pickle is read by our own restricted unpickler).
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // The Hub's downloads (redirects, Range, streaming to disk) and their checksums.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The fake Hub's header names (Hummingbird's own HTTP types).
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // oneDNN (Debian: libdnnl-dev) for every matrix product, and the OpenMP runtime it runs
        // on (libgomp, part of GCC's runtime) for every parallel loop.
        .systemLibrary(
            name: "CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        // JSON (one ordered value type, Python-exact writing, Codable), files written whole or
        // not at all, process memory: what several modules need.
        .target(name: "Support"),
        .target(name: "Tokenization", dependencies: ["Support", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "SQuAD", dependencies: ["Tokenization", "Support"]),
        // Kernels: parallel loops, oneDNN products, the kernels' entry points and the choice of
        // vector path; KernelCore: what every path shares (the entry points' protocol, types).
        .target(name: "KernelCore", dependencies: ["CDNNL"], swiftSettings: fastMath),
        .target(name: "VectorKernels", dependencies: ["KernelCore"], swiftSettings: fastMath),
        .target(name: "Kernels", dependencies: ["CDNNL", "KernelCore", "VectorKernels"]
                    + vectorPaths.map { .target(name: $0.name) },
                swiftSettings: fastMath),
        .target(name: "BERT", dependencies: ["Kernels", "Support", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                swiftSettings: fastMath),
        // Models by Hub id: huggingface_hub's cache layout, shared with Python tools.
        .target(name: "Hub", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "Inference", dependencies: ["BERT", "Kernels", "SQuAD", "Tokenization", "Support", "Hub"]),
        // Reports: self-contained HTML (report.html of train and evaluate) and SVG charts, from
        // SQuAD data, predictions and a run's logs; knows no model.
        .target(name: "Reports", dependencies: ["SQuAD", "Support"]),
        // MPI for data-parallel training, loaded at run time only when launched under it.
        .target(name: "Distributed"),
        .target(name: "Training", dependencies: ["BERT", "SQuAD", "Tokenization", "Kernels", "Inference", "Support", "Reports", "Distributed"], swiftSettings: fastMath),
        // The HTTP service; only the CLI imports it.
        .target(
            name: "Server",
            dependencies: [
                "Inference", "Support",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // GET /openapi.json: the API described once, by hand (a static document); GET /: the
            // page to ask questions on (one self-contained HTML file).
            resources: [.copy("Resources/openapi.json"), .copy("Resources/index.html")]
        ),
        .executableTarget(
            name: "bertqa",
            dependencies: [
                "Tokenization", "SQuAD", "Kernels", "BERT", "Inference", "Training", "Distributed", "Server", "Support", "Hub", "Reports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            // The seed job's SQuAD subsets for the demo (CC BY-SA 4.0), zipped.
            resources: [.copy("Resources/seed-squad.zip"), .copy("Resources/SQUAD-LICENSE.txt")]
        ),
        // Test-only helpers: find ../shared, read JSON lines, compare arrays, run kernels on one
        // thread, a fake Hugging Face Hub on loopback.
        .target(name: "TestSupport", dependencies: ["Kernels", .product(name: "Hummingbird", package: "hummingbird"),
                                                    .product(name: "HTTPTypes", package: "swift-http-types"),
                                                    .product(name: "Logging", package: "swift-log"),
                                                    .product(name: "Crypto", package: "swift-crypto")],
                path: "Tests/TestSupport"),
        .testTarget(name: "HubTests", dependencies: ["Hub", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "Support", "TestSupport"]),
        .testTarget(name: "SQuADTests", dependencies: ["SQuAD", "Tokenization", "Support", "TestSupport"]),
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "VectorKernels", "TestSupport"]
                        + vectorPaths.map { .target(name: $0.name) }),
        // Training: the architectures' six-step parity runs its AdamW and schedule.
        .testTarget(name: "BERTTests", dependencies: ["BERT", "Kernels", "Support", "TestSupport", "Training"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Distributed", "BERT", "Kernels", "SQuAD", "Tokenization", "TestSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "BERT", "Kernels", "Tokenization", "TestSupport"]),
        // The server's queue and keys, on a stand-in model.
        .testTarget(name: "ServerTests", dependencies: ["Server", "Inference"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "SQuAD", "Support"]),
        // Runs the built `bertqa` binary as a user would.
        // (AsyncHTTPClient speaks to chromedriver, whose headers Foundation's URLSession refuses.)
        .testTarget(name: "CLITests", dependencies: ["bertqa", "BERT", "Support", "TestSupport",
                                                    .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        // The bad-input table, over the library and over the built `bertqa` binary.
        .testTarget(name: "BadInputTests",
                    dependencies: ["bertqa", "BERT", "Inference", "SQuAD", "Tokenization", "Training", "TestSupport"]),
    ] + vectorPaths
)
