import Kernels
import XCTest

/// Runs `body` once on each vector path this CPU can execute (AVX-512, AVX2, portable;
/// `KernelPath`), then restores the path chosen before, so parity is checked for all of them
/// wherever the tests run: on an AVX-512 host the AVX2 and portable builds are checked too.
/// Each run prints its path first, so a failure below it names the path.
public func forEachKernelPath(_ test: String = #function, _ body: () throws -> Void) rethrows {
    let chosen = KernelPath.current
    defer { try? KernelPath.use(chosen) }
    for path in KernelPath.supported {
        do { try KernelPath.use(path) } catch { XCTFail("\(error)"); continue }
        print("kernel path \(path.rawValue) (\(path.instructionSet)): \(test)")
        try body()
    }
}
