// swift-tools-version: 6.0
// bertqa: extractive question answering with BERT-family transformers, in Swift.
//
// The targets follow the data's path, and dependencies point one way:
//   Tokenization (text → tokens → windows)      knows nothing of the model
//   SQuAD        (data, features, spans, metrics) builds on Tokenization
//   Support      (JSON, atomic files, memory)     Foundation only
//   Kernels      (BLAS + SIMD numeric kernels)    knows nothing of text
//   BERT         (config, weights, layers)        builds on Kernels
//   Hub          (the Hugging Face Hub and its cache) files only: knows no model
//   Inference    (QA pipeline, SQuAD evaluation)  joins the two sides; takes folders or Hub ids
//   Training     (Trainer, AdamW, the fine-tune job) builds on Inference: the job evaluates
//                after each epoch, as HF's Trainer does, with the same evaluator
//   Server and the CLI sit on top.
import Foundation
import PackageDescription

// Hot numeric loops: drop exclusivity checks in the kernels (they only touch raw buffers),
// and compile them for the vector units of the machine that builds them, as `-march=native`
// would: AVX-512 where /proc/cpuinfo lists it (SIMD16 kernels — softmax, GELU, LayerNorm,
// attention — then run on one 16-lane register instead of two 8-lane ones), else AVX2/FMA
// (Haswell, 2013+; ~1.7× the SSE2 baseline). A binary built on an AVX-512 machine needs one to
// run: set BERTQA_TARGET_CPU=haswell to build one for any x86-64 machine since 2013
// (BERTQA_TARGET_CPU= , empty, for the baseline).
//
// ONEDNN_MAX_CPU_ISA, oneDNN's own cap on the instructions it JIT-compiles at run time, caps
// these kernels too when it is set at build time: AVX2 (or AVX2_VNNI) builds them for Haswell,
// SSE41 or AVX for the baseline, so one variable runs an AVX-512 host down the AVX2 paths
// (`ONEDNN_MAX_CPU_ISA=AVX2 swift test -c release --scratch-path .build-avx2`, CI's second lane).
func kernelTargetCPU() -> (flags: [String], avx512: Bool) {
    #if arch(x86_64)
    let environment = ProcessInfo.processInfo.environment
    if let chosen = environment["BERTQA_TARGET_CPU"] {
        return (chosen.isEmpty ? [] : ["-target-cpu", chosen], chosen.contains("avx512"))
    }
    switch environment["ONEDNN_MAX_CPU_ISA"]?.uppercased() {
    case "SSE41", "AVX": return ([], false)
    case "AVX2", "AVX2_VNNI": return (["-target-cpu", "haswell"], false)
    default: break
    }
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
    if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) {
        return (["-target-cpu", "skylake-avx512"], true)
    }
    return (["-target-cpu", "haswell"], false)
    #else
    return ([], false)
    #endif
}
let kernelCPU = kernelTargetCPU()
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"] + kernelCPU.flags, .when(configuration: .release)),
] + (kernelCPU.flags.isEmpty ? [] : [
    // The chosen CPU has fused multiply-add: kernels may ask for it (`fma16`) without falling
    // back to a libm call per lane.
    .define("BERTQA_FMA", .when(configuration: .release)),
]) + (kernelCPU.avx512 ? [
    // Only says so in reports (`GEMM.instructionSets`): the kernels are the same Swift SIMD code.
    .define("BERTQA_AVX512", .when(configuration: .release)),
] : [])

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
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
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
        .target(name: "Kernels", dependencies: ["CDNNL"], swiftSettings: fastMath),
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
        .target(name: "Training", dependencies: ["BERT", "SQuAD", "Tokenization", "Kernels", "Inference", "Support"], swiftSettings: fastMath),
        // The HTTP service; only the CLI imports it.
        .target(
            name: "Server",
            dependencies: [
                "Inference", "Support",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // GET /openapi.json: the API described once, by hand (a static document).
            resources: [.copy("Resources/openapi.json")]
        ),
        .executableTarget(
            name: "bertqa",
            dependencies: [
                "Tokenization", "SQuAD", "Kernels", "BERT", "Inference", "Training", "Server", "Support", "Hub",
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
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        // Training: the architectures' six-step parity runs its AdamW and schedule.
        .testTarget(name: "BERTTests", dependencies: ["BERT", "Kernels", "Support", "TestSupport", "Training"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "BERT", "Kernels", "SQuAD", "Tokenization", "TestSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "BERT", "Kernels", "Tokenization", "TestSupport"]),
        // The server's queue and keys, on a stand-in model.
        .testTarget(name: "ServerTests", dependencies: ["Server", "Inference"]),
        // Runs the built `bertqa` binary as a user would.
        .testTarget(name: "CLITests", dependencies: ["bertqa", "BERT", "Support", "TestSupport"]),
        // The bad-input table, over the library and over the built `bertqa` binary.
        .testTarget(name: "BadInputTests",
                    dependencies: ["bertqa", "BERT", "Inference", "SQuAD", "Tokenization", "Training", "TestSupport"]),
    ]
)
