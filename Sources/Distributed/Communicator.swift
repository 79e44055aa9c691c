import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The ranks of a data-parallel job launched by `mpirun` / `srun` (MPI_COMM_WORLD), or nothing
/// when the process was started on its own. Everything is a collective: every rank calls the
/// same operations in the same order with the same sizes.
///
/// Waits poll (`MPI_Test`) instead of blocking in MPI so that a rank that died or hangs is
/// noticed: after `peerTimeout` seconds without completion the wait throws, and the caller
/// stops the job (`abort`). Polling backs off to sleeping so that a waiting rank leaves its core
/// to the ranks still computing.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Seconds a collective may wait for the other ranks before the job is declared broken.
    public var peerTimeout: Double = 300
    /// What was loaded, for people ("libmpi.so.40").
    public let library: String
    let mpi: OpenMPI
    private var finished = false

    /// The environment variables launchers set: Open MPI's mpirun, PMIx launchers (Slurm's
    /// `srun --mpi=pmix`, Open MPI 5's prterun), PMI-2 (`srun --mpi=pmi2`), and Slurm's task count.
    /// `BERTQA_MPI=0` runs a process on its own even so; `BERTQA_MPI=1` initializes MPI anyway.
    public static func isLaunchedUnderMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if let forced = environment["BERTQA_MPI"] { return forced == "1" }
        if environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil || environment["PMI_SIZE"] != nil {
            return true
        }
        return (environment["SLURM_STEP_NUM_TASKS"].flatMap(Int.init) ?? 1) > 1
    }

    /// Joins the job when launched under MPI (loading Open MPI), else returns nil.
    public static func join(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Communicator? {
        guard isLaunchedUnderMPI(environment) else { return nil }
        let mpi = try OpenMPI(environment: environment)
        var already: Int32 = 0
        try mpi.check(mpi.initialized(&already), "MPI_Initialized")
        if already == 0 {
            var provided: Int32 = 0
            try mpi.check(mpi.initThread(nil, nil, OpenMPI.threadSerialized, &provided), "MPI_Init_thread")
            guard provided >= OpenMPI.threadSerialized else {
                throw DistributedError.library("\(mpi.path) gives thread level \(provided); bertqa needs MPI_THREAD_SERIALIZED (2)")
            }
        }
        // Errors come back as return codes (thrown, then the job is aborted with a message)
        // instead of MPI's default of killing the job from inside the library.
        try mpi.check(mpi.commSetErrhandler(mpi.world, mpi.errorsReturn), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0, size: Int32 = 0
        try mpi.check(mpi.commRank(mpi.world, &rank), "MPI_Comm_rank")
        try mpi.check(mpi.commSize(mpi.world, &size), "MPI_Comm_size")
        return Communicator(mpi: mpi, rank: Int(rank), size: Int(size))
    }

    private init(mpi: OpenMPI, rank: Int, size: Int) {
        self.mpi = mpi
        self.rank = rank
        self.size = size
        library = mpi.path
    }

    /// A collective in flight.
    public final class Request {
        var handle: OpaquePointer?
        var done = false
        let what: String
        init(what: String) { self.what = what }
    }

    /// Starts summing `count` floats at `buffer` over all ranks, in place (MPI_Iallreduce).
    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int, what: String) throws -> Request {
        let request = Request(what: what)
        try mpi.check(mpi.iallreduce(mpi.inPlace, buffer, Int32(count), mpi.float, mpi.sum, mpi.world, &request.handle),
                      "MPI_Iallreduce")
        return request
    }

    /// Advances the requests without waiting (MPI moves a nonblocking collective along only
    /// inside MPI calls); returns whether all of them are complete.
    @discardableResult
    public func progress(_ requests: [Request]) throws -> Bool {
        var all = true
        for r in requests where !r.done {
            var flag: Int32 = 0
            try mpi.check(mpi.test(&r.handle, &flag, nil), "MPI_Test")
            if flag != 0 { r.done = true } else { all = false }
        }
        return all
    }

    /// Waits for the requests; after `timeout` seconds (nil: `peerTimeout`; .infinity: never)
    /// throws `peerTimeout`. Spins for the first millisecond, then sleeps between polls.
    public func wait(_ requests: [Request], timeout: Double? = nil) throws {
        let limit = timeout ?? peerTimeout
        let start = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while try !progress(requests) {
            polls += 1
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if elapsed > limit {
                throw DistributedError.peerTimeout(rank: rank, seconds: elapsed,
                                                   waitingFor: requests.first(where: { !$0.done })?.what ?? "a collective")
            }
            if elapsed > 1e-3 { usleep(polls < 1000 ? 50 : 1000) }
        }
    }

    /// Sums doubles over all ranks (small values: losses, counts).
    public func sum(_ values: [Double], what: String) throws -> [Double] {
        try reduce(values, op: mpi.sum, what: what)
    }

    /// The element-wise maximum over all ranks.
    public func maximum(_ values: [Double], what: String) throws -> [Double] {
        try reduce(values, op: mpi.max, what: what)
    }

    private func reduce(_ values: [Double], op: OpaquePointer, what: String) throws -> [Double] {
        var out = values
        let request = Request(what: what)
        try out.withUnsafeMutableBufferPointer { b in
            try mpi.check(mpi.iallreduce(mpi.inPlace, b.baseAddress, Int32(b.count), mpi.double, op, mpi.world, &request.handle),
                          "MPI_Iallreduce")
            try wait([request])
        }
        return out
    }

    /// Waits until every rank arrives, with no time limit by default: the ranks wait here while
    /// rank 0 alone validates and writes checkpoints, which may take long. (A rank that dies
    /// meanwhile is the launcher's to notice: mpirun and srun stop the job.)
    public func barrier(what: String, timeout: Double = .infinity) throws {
        let request = Request(what: what)
        try mpi.check(mpi.ibarrier(mpi.world, &request.handle), "MPI_Ibarrier")
        try wait([request], timeout: timeout)
    }

    /// Ends the job on every rank (after an error on this one), with `code` as mpirun's status.
    public func abort(code: Int32 = 1) -> Never {
        _ = mpi.abort(mpi.world, code)
        exit(code)
    }

    /// MPI_Finalize; call once, at the end of a successful run.
    public func finish() {
        guard !finished else { return }
        finished = true
        var done: Int32 = 0
        _ = mpi.finalized(&done)
        if done == 0 { _ = mpi.finalize() }
    }
}
