import Foundation
import Synchronization

/// `body` while another thread spins on a core, so that parallel kernels' workers finish their
/// tiles at other times than on an idle machine: results must not change (determinism tests).
public func withBusyCore<T>(_ body: () throws -> T) rethrows -> T {
    let stop = StopFlag()
    let spinner = Thread {
        var x: UInt64 = 1
        while !stop.flag.load(ordering: .relaxed) { x = x &* 6364136223846793005 &+ 1 }
        if x == 0 { print(x) }  // keeps the loop from being optimized away
    }
    spinner.start()
    defer { stop.flag.store(true, ordering: .relaxed) }
    return try body()
}

private final class StopFlag: Sendable {
    let flag = Atomic<Bool>(false)
}
