import Dispatch
import Foundation
import Synchronization

/// The worker threads of `Parallel.forEachChunk`: they wait for the next parallel region by
/// spinning for a couple of milliseconds before they sleep, as OpenMP runtimes do.
///
/// Why: a forward pass is ~10 parallel regions per layer, each 0.1–2 ms long. Waking a sleeping
/// thread for each (what `DispatchQueue.concurrentPerform` does) costs tens of microseconds on
/// bare metal and far more on a virtual machine, where the host must first schedule the idle
/// vCPU again; measured here, two workers then reached only 1.1–1.4× one worker on a MiniLM
/// product, against 1.7–1.9× for two threads that stay busy.
///
/// One job at a time: a caller that finds the pool busy (another thread's job, or a region
/// nested inside a job) falls back to `concurrentPerform`.
final class SpinningPool: @unchecked Sendable {
    static let shared = SpinningPool(threads: Parallel.workers - 1)

    /// The job word: generation (bits 40...), chunk count (bits 20..<40), next chunk (bits 0..<20).
    /// Claiming a chunk is one compare-and-swap on it, so a thread can never claim a chunk of a
    /// job it did not see published, whatever the timing.
    private let word = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// Written by the caller before it publishes the job word (release), read by a thread after
    /// it claims a chunk (acquire); unchanged until every claimed chunk has finished.
    private var job: ((Int) -> Void)?
    private let sleepers: [Sleeper]
    private static let spinNanoseconds: UInt64 = 200_000

    private final class Sleeper: @unchecked Sendable {
        let asleep = Atomic<Bool>(false)
        let semaphore = DispatchSemaphore(value: 0)
    }

    private init(threads: Int) {
        sleepers = (0..<max(0, threads)).map { _ in Sleeper() }
        for sleeper in sleepers {
            let thread = Thread { [unowned self] in self.workerLoop(sleeper) }
            thread.name = "bertqa-kernels"
            thread.start()
        }
    }

    /// Runs `body(chunk)` for chunk in 0..<chunks on the caller and the pool's threads; returns
    /// when all have finished. Returns false (running nothing) when the pool is busy.
    func run(chunks: Int, _ body: (Int) -> Void) -> Bool {
        guard !sleepers.isEmpty, chunks < 1 << 20,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            job = body
            finished.store(0, ordering: .relaxed)
            // 23 bits of generation (wrapping): only equality is ever compared.
            let generation = ((word.load(ordering: .relaxed) >> 40) + 1) & 0x7F_FFFF
            word.store(generation << 40 | chunks << 20, ordering: .releasing)
            for sleeper in sleepers where sleeper.asleep.exchange(false, ordering: .acquiringAndReleasing) {
                sleeper.semaphore.signal()
            }
            var done = drain(generation: generation)
            // Wait for the chunks other threads claimed.
            while done < chunks { done = finished.load(ordering: .acquiring) }
            job = nil
        }
        return true
    }

    /// Claims and runs chunks of job `generation` until none is left; returns the finished count
    /// seen after its last chunk (or the current one when it ran none).
    private func drain(generation: Int) -> Int {
        while true {
            let current = word.load(ordering: .acquiring)
            let chunks = (current >> 20) & 0xFFFFF, next = current & 0xFFFFF
            guard current >> 40 == generation, next < chunks else { return finished.load(ordering: .acquiring) }
            guard word.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged else {
                continue
            }
            runChunk(next)
            let done = finished.wrappingAdd(1, ordering: .releasing).newValue
            if done == chunks { return done }
        }
    }

    /// Out of line so that the reference to `job` it takes is released before the chunk counts
    /// as finished: `run` clears `job` once all have, and `withoutActuallyEscaping` checks that
    /// nothing still holds the closure.
    @inline(never)
    private func runChunk(_ chunk: Int) {
        job?(chunk)
    }

    private func workerLoop(_ me: Sleeper) {
        var seen = 0
        while true {
            // Spin until a new job is published; after ~2 ms of nothing, sleep until woken.
            var spinStart: UInt64 = 0
            var spins = 0
            while word.load(ordering: .acquiring) >> 40 == seen {
                spins += 1
                if spins & 1023 != 0 { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if spinStart == 0 { spinStart = now; continue }
                if now - spinStart < Self.spinNanoseconds { continue }
                me.asleep.store(true, ordering: .releasing)
                if word.load(ordering: .acquiring) >> 40 != seen {
                    // A job came before we slept: take back the flag, or consume the wake-up
                    // the caller already sent.
                    if !me.asleep.exchange(false, ordering: .acquiringAndReleasing) { me.semaphore.wait() }
                    break
                }
                me.semaphore.wait()
                spinStart = 0
            }
            seen = word.load(ordering: .acquiring) >> 40
            _ = drain(generation: seen)
        }
    }
}
