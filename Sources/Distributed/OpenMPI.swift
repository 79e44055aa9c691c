import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Open MPI's C API, loaded with `dlopen` when a process is launched under MPI, so that the
/// binary starts (and trains on one process) on machines without MPI. Open MPI's handles are
/// pointers to its predefined objects (`MPI_COMM_WORLD` is `&ompi_mpi_comm_world`, `MPI_FLOAT`
/// `&ompi_mpi_float`, ...), found by name like the functions; `MPI_IN_PLACE` is `(void *)1` and
/// `MPI_STATUS_IGNORE` is NULL (`mpi.h` of Open MPI 4.x and 5.x, both `libmpi.so.40`).
/// MPICH's ABI (integer handles, `libmpi.so.12`) is a different one and is refused by name.
final class OpenMPI: @unchecked Sendable {
    typealias Handle = OpaquePointer

    let world: Handle, float: Handle, double: Handle, sum: Handle, max: Handle
    let inPlace = UnsafeRawPointer(bitPattern: 1)
    let path: String

    let initialized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let finalized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let initThread: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?,
                                    Int32, UnsafeMutablePointer<Int32>) -> Int32
    let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSetErrhandler: @convention(c) (Handle, Handle) -> Int32
    let iallreduce: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle,
                                    UnsafeMutablePointer<Handle?>) -> Int32
    let ibarrier: @convention(c) (Handle, UnsafeMutablePointer<Handle?>) -> Int32
    let test: @convention(c) (UnsafeMutablePointer<Handle?>, UnsafeMutablePointer<Int32>, UnsafeMutableRawPointer?) -> Int32
    let abort: @convention(c) (Handle, Int32) -> Int32
    let finalize: @convention(c) () -> Int32
    let errorString: @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    let errorsReturn: Handle

    /// `MPI_THREAD_SERIALIZED`: MPI is called from one thread at a time, not always the main one
    /// (the training loop may run on any thread; the kernels' worker threads never call it).
    static let threadSerialized: Int32 = 2

    /// The library named by `BERTQA_MPI_LIBRARY`, else Open MPI's soname.
    init(environment: [String: String]) throws {
        let candidates = environment["BERTQA_MPI_LIBRARY"].map { [$0] } ?? ["libmpi.so.40", "libmpi.so"]
        var handle: UnsafeMutableRawPointer?
        var reasons: [String] = []
        var loaded = ""
        for name in candidates {
            // RTLD_GLOBAL: Open MPI's own plugins (shared memory, TCP) resolve symbols of libmpi.
            handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
            if handle != nil { loaded = name; break }
            reasons.append(dlerror().map { String(cString: $0) } ?? name)
        }
        guard let handle else {
            throw DistributedError.library("this process was launched under MPI, but Open MPI's library could not be loaded (\(reasons.joined(separator: "; "))); install it (Debian: apt-get install openmpi-bin) or name it with BERTQA_MPI_LIBRARY")
        }
        path = loaded
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let s = dlsym(handle, name) else {
                if name.hasPrefix("ompi_") {
                    throw DistributedError.library("\(loaded) is not Open MPI (no \(name)): bertqa speaks Open MPI's ABI (libmpi.so.40, Open MPI 4 or 5); MPICH and its derivatives are not supported")
                }
                throw DistributedError.library("\(loaded) has no \(name)")
            }
            return s
        }
        func function<F>(_ name: String, _: F.Type) throws -> F { unsafeBitCast(try symbol(name), to: F.self) }
        world = OpaquePointer(try symbol("ompi_mpi_comm_world"))
        float = OpaquePointer(try symbol("ompi_mpi_float"))
        double = OpaquePointer(try symbol("ompi_mpi_double"))
        sum = OpaquePointer(try symbol("ompi_mpi_op_sum"))
        max = OpaquePointer(try symbol("ompi_mpi_op_max"))
        errorsReturn = OpaquePointer(try symbol("ompi_mpi_errors_return"))
        initialized = try function("MPI_Initialized", type(of: initialized))
        finalized = try function("MPI_Finalized", type(of: finalized))
        initThread = try function("MPI_Init_thread", type(of: initThread))
        commRank = try function("MPI_Comm_rank", type(of: commRank))
        commSize = try function("MPI_Comm_size", type(of: commSize))
        commSetErrhandler = try function("MPI_Comm_set_errhandler", type(of: commSetErrhandler))
        iallreduce = try function("MPI_Iallreduce", type(of: iallreduce))
        ibarrier = try function("MPI_Ibarrier", type(of: ibarrier))
        test = try function("MPI_Test", type(of: test))
        abort = try function("MPI_Abort", type(of: abort))
        finalize = try function("MPI_Finalize", type(of: finalize))
        errorString = try function("MPI_Error_string", type(of: errorString))
    }

    /// Throws a readable error for a return code other than MPI_SUCCESS.
    func check(_ code: Int32, _ call: String) throws {
        guard code != 0 else { return }
        var text = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        _ = errorString(code, &text, &length)
        throw DistributedError.mpi(call: call, message: String(cString: text))
    }
}

public enum DistributedError: Error, CustomStringConvertible, Sendable {
    case library(String)
    case mpi(call: String, message: String)
    case peerTimeout(rank: Int, seconds: Double, waitingFor: String)
    case replicasDiverged(step: Int)
    case replicasStartApart(step: Int)

    public var description: String {
        switch self {
        case .library(let m): return m
        case .mpi(let call, let message): return "\(call) failed: \(message)"
        case .peerTimeout(let rank, let seconds, let what):
            return "rank \(rank) waited \(Int(seconds.rounded())) s for the other ranks (\(what)): one of them died or hangs; "
                + "stopping every rank (resume from the last complete checkpoint with --resume)"
        case .replicasStartApart(let step):
            return "the ranks start from different weights (at step \(step)): each rank reads --model, and with --resume the checkpoint, itself; give every rank the same files (for --resume, --output on a filesystem every rank sees)"
        case .replicasDiverged(let step):
            return "the ranks' weights differ after step \(step): the replicas diverged (MPI's sums were not the same on every rank)"
        }
    }
}
