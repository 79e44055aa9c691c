import Foundation
import Kernels
import VectorKernels
#if arch(x86_64)
import VectorKernelsAVX2
import VectorKernelsAVX512
#endif
import XCTest

/// The vector kernels are one source built per instruction set and chosen at start-up
/// (`KernelPath`): the choice, each build's exp/erf accuracy, and the one thing that would make
/// one binary unsafe on a narrower CPU — a function that two builds emit under one name, of
/// which the linker keeps a single copy for all callers.
final class VectorPathTests: XCTestCase {
    func testChoiceFollowsTheCPUTheRequestAndOneDNNsCap() {
        let best = KernelPath.supported[0]
        XCTAssertEqual(KernelPath.supported.last, .portable)
        XCTAssertEqual(KernelPath.choose(request: nil, oneDNNCap: nil).path, best)
        XCTAssertEqual(KernelPath.choose(request: "portable", oneDNNCap: nil).path, .portable)
        XCTAssertEqual(KernelPath.choose(request: nil, oneDNNCap: "SSE41").path, .portable)
        XCTAssertEqual(KernelPath.choose(request: nil, oneDNNCap: "AVX2").path, best == .avx512 ? .avx2 : best)
        XCTAssertEqual(KernelPath.choose(request: nil, oneDNNCap: "avx512_core_amx").path, best)
        let unknown = KernelPath.choose(request: "avx1024", oneDNNCap: nil)
        XCTAssertEqual(unknown.path, best)
        XCTAssertEqual(unknown.note, "BERTQA_KERNELS=avx1024 is not a kernel path (avx512, avx2, portable): using \(best.rawValue)")
        for path in KernelPath.allCases where !path.isSupported {
            let refused = KernelPath.choose(request: path.rawValue, oneDNNCap: nil)
            XCTAssertEqual(refused.path, best)
            XCTAssertTrue(refused.note?.contains("this CPU cannot run it") == true, "\(refused)")
            XCTAssertThrowsError(try KernelPath.use(path))
        }
        print("kernel paths here: \(KernelPath.supported.map(\.rawValue)); chosen \(KernelPath.chosen.rawValue)")
    }

    /// exp within a few ulp (relative), erf as PyTorch's vectorized kernel (A&S 7.1.26), and
    /// underflow to exactly 0, in every build this CPU can run.
    func testVectorMathAccuracyOnEveryPath() {
        var builds: [(String, (Vec16) -> Vec16, (Vec16) -> Vec16)] = [
            ("portable", VectorKernels.SIMDKernels.VectorMath.exp, VectorKernels.SIMDKernels.VectorMath.erf),
        ]
        #if arch(x86_64)
        if KernelPath.avx2.isSupported {
            builds.append(("avx2", VectorKernelsAVX2.SIMDKernels.VectorMath.exp, VectorKernelsAVX2.SIMDKernels.VectorMath.erf))
        }
        if KernelPath.avx512.isSupported {
            builds.append(("avx512", VectorKernelsAVX512.SIMDKernels.VectorMath.exp, VectorKernelsAVX512.SIMDKernels.VectorMath.erf))
        }
        #endif
        for (name, exp, erf) in builds {
            var maxExpRel: Double = 0, maxErf: Double = 0
            var x: Float = -20
            while x < 20 {
                let v = Vec16((0..<16).map { x + Float($0) * 0.0025 })
                let ev = exp(v), rv = erf(v)
                for i in 0..<16 {
                    let ref = Foundation.exp(Double(v[i]))
                    maxExpRel = max(maxExpRel, abs(Double(ev[i]) - ref) / ref)
                    maxErf = max(maxErf, abs(Double(rv[i]) - Foundation.erf(Double(v[i]))))
                }
                x += 0.04
            }
            XCTAssertLessThan(maxExpRel, 1e-6, name)  // a few ulp
            XCTAssertLessThan(maxErf, 1e-6, name)  // A&S 7.1.26 in float, as PyTorch
            print("\(name): exp max relative error \(maxExpRel), erf max error \(maxErf)")
            XCTAssertEqual(exp(Vec16(repeating: -200))[0], 0, name)
            XCTAssertEqual(exp(Vec16(repeating: -Float.greatestFiniteMagnitude))[0], 0, name)
        }
    }

    /// No out-of-line function of the AVX2 or AVX-512 build shares its symbol with another
    /// module's: a generic the compiler specializes (the standard library's SIMD `sum()`, say)
    /// is emitted as a weak symbol by each module that uses it, and the linker keeps one copy —
    /// possibly the AVX-512 one, which an AVX2 CPU cannot execute. Reads the release build's
    /// object files with `nm`; skips where they or nm are absent (a debug build compiles every
    /// path alike).
    func testNoFunctionIsSharedBetweenAVXBuildsAndOtherModules() throws {
        #if !arch(x86_64) || DEBUG
        throw XCTSkip("SKIPPED: only a release build on x86-64 compiles the AVX builds apart")
        #else
        // The test executable (bertqaPackageTests.xctest) sits in the build folder beside the modules'.
        let build = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let nm = ["/usr/bin/nm", "/bin/nm"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let nm else { throw XCTSkip("SKIPPED: no nm (binutils) to read the object files") }
        let modules = try FileManager.default.contentsOfDirectory(atPath: build.path).filter { $0.hasSuffix(".build") }
        func weakFunctions(_ module: String) throws -> Set<String> {
            let folder = build.appendingPathComponent(module)
            let objects = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".o") }.map { folder.appendingPathComponent($0).path }
            guard !objects.isEmpty else { return [] }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: nm)
            process.arguments = ["--defined-only"] + objects
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            // "address W symbol": a weak function (data, type V, is never executed).
            return Set(String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count == 3 && fields[1] == "W" ? String(fields[2]) : nil
            })
        }
        var read: [String: Set<String>] = [:]
        func functions(_ module: String) throws -> Set<String> {
            if let known = read[module] { return known }
            let found = try weakFunctions(module)
            read[module] = found
            return found
        }
        var checked = 0
        for avx in ["VectorKernelsAVX2.build", "VectorKernelsAVX512.build"] where modules.contains(avx) {
            let own = try functions(avx)
            XCTAssertFalse(own.isEmpty, "\(avx): no object files read")
            for other in modules where other != avx {
                let shared = own.intersection(try functions(other))
                XCTAssertTrue(shared.isEmpty, "\(avx) and \(other) both emit \(shared.sorted()): write it in the kernels' own code")
            }
            checked += 1
        }
        if checked == 0 { throw XCTSkip("SKIPPED: no AVX builds' object files beside \(build.path)") }
        #endif
    }
}
