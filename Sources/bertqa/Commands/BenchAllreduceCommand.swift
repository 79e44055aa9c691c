import ArgumentParser
import BERT
import Distributed
import Foundation
import Kernels
import Support

/// `mpirun -np N bertqa bench allreduce`: the gradients' sum over the ranks alone, as training
/// does it (in-place MPI_Iallreduce in buckets of 2 Mi floats cut at layer edges), for a model's
/// parameter count: what a step costs in communication when nothing hides it.
struct BenchAllreduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Speed of the gradients' sum over MPI ranks (run under mpirun), at a model's size.",
        usage: "mpirun -np <ranks> bertqa bench allreduce [--model <shape>] [<options>]",
        discussion: """
        Sums a buffer of the model's parameter count over the ranks, in training's buckets, and \
        reports seconds per sum and the bus bandwidth (2(N−1)/N × bytes / seconds, the ring \
        algorithm's traffic per rank, as NCCL's tests report it). Models: \
        \(BenchModel.shapes.map(\.name).joined(separator: ", ")), or a folder.
        """
    )

    @Option(parsing: .unconditional, help: "A built-in shape or a model folder: its parameter count and layer edges.")
    var model = BenchModel.shape(name: "minilm-shape", config: .miniLML6)

    @Option(parsing: .unconditional, help: "Sums to time (after one warm-up).")
    var repeats = 10

    @Flag(help: "Print one JSON object (rank 0).")
    var json = false

    @OptionGroup var revision: RevisionOption

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        guard let communicator = try CLIError.wrap({ try Communicator.join() }) else {
            throw CLIError(description: "bench allreduce measures MPI's sums: run it under mpirun, e.g. mpirun -np 2 bertqa bench allreduce")
        }
        defer { communicator.finish() }
        let qa = try CLIError.wrap { try model.load(revision: revision) }
        let count = qa.layout.totalCount
        let gradients = FloatBuffer(count: count)
        for i in 0..<count { gradients.pointer[i] = Float(i % 7) * 1e-3 }
        let reduction = GradientReduction(communicator: communicator, buffer: gradients.pointer, count: count,
                                          boundaries: qa.gradientBlockEdges)
        var times: [Double] = []
        for k in 0...repeats {
            try CLIError.wrap { try communicator.barrier(what: "the start of a sum") }
            let start = DispatchTime.now().uptimeNanoseconds
            reduction.begin()
            try CLIError.wrap { try reduction.finish() }
            if k > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        guard communicator.rank == 0 else { return }
        let median = times.sorted()[times.count / 2]
        let n = Double(communicator.size)
        let busGBs = 2 * (n - 1) / n * Double(count * 4) / median / 1e9
        if json {
            print(JSONValue.object([
                ("model", .string(model.description)), ("parameters", .int(count)), ("ranks", .int(communicator.size)),
                ("buckets", .int(reduction.buckets.count)), ("median_seconds", decimals(median, 4)),
                ("bus_gigabytes_per_second", decimals(busGBs, 2)),
            ]).compactText)
        } else {
            print(String(format: "%@: %.1f M floats in %d buckets over %d ranks: %.1f ms per sum (median of %d), bus %.2f GB/s",
                         model.description, Double(count) / 1e6, reduction.buckets.count, communicator.size,
                         median * 1000, times.count, busGBs))
        }
    }
}
