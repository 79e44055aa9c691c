import BERT
import Foundation
import TestSupport
import XCTest

/// `mpirun -np N bertqa train`: N ranks on shares of each global batch give what one process
/// gives on the whole batch (and with accumulation), resume on any number of ranks, and stop
/// together when a rank dies or hangs. Needs Open MPI (`apt-get install openmpi-bin`; `.ci/run`
/// installs it); skips, saying so, without it.
final class DistributedTrainingTests: XCTestCase {
    let trainSample = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/squad/sample-train.json").path

    /// mpirun, or a skip.
    static func mpirun() throws -> URL {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("SKIPPED: no mpirun here (apt-get install openmpi-bin); the multi-rank tests need Open MPI")
    }

    /// As root in CI Open MPI wants to be told; every rank gets one kernel thread (2 ranks on 2 cores).
    static let mpiEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

    /// mpirun's arguments for `bertqa args` on `ranks` ranks, one kernel thread each.
    func mpirunArguments(ranks: Int, _ args: [String]) -> [String] {
        ["-np", "\(ranks)", "--oversubscribe", "-x", "OMP_NUM_THREADS=1", CLI.binary.path] + args
    }

    func launch(ranks: Int, _ args: [String]) throws -> Process {
        let process = Process()
        process.executableURL = try Self.mpirun()
        process.arguments = mpirunArguments(ranks: ranks, args)
        process.environment = ProcessInfo.processInfo.environment.merging(Self.mpiEnvironment) { $1 }
        return process
    }

    /// Runs `bertqa train args` on `ranks` ranks (1: a plain process, no MPI) and waits.
    func train(ranks: Int, _ args: [String]) throws -> CLI.Result {
        guard ranks > 1 else { return try CLI.run(["train"] + args) }
        return try CLI.run(mpirunArguments(ranks: ranks, ["train"] + args), stdinData: Data(),
                           environment: Self.mpiEnvironment, executable: try Self.mpirun())
    }

    /// A BERT-shaped model without dropout (ranks draw their own masks, so only a model without
    /// dropout can match one process exactly), with the MiniLM tokenizer.
    func tinyModel(seed: UInt64 = 7) throws -> URL {
        let dir = try TinyModel.temporaryFolder("bertqa-mpi-model")
        let config = BertConfig(vocabSize: 30522, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                intermediateSize: 64, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0,
                                maxPositionEmbeddings: 512)
        try BertForQuestionAnswering(config: config, seed: seed).save(to: dir)
        try TinyModel.copyTokenizer(to: dir)
        return dir
    }

    func losses(_ output: URL) throws -> [Double] {
        try String(contentsOf: output.appendingPathComponent("training_log.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap {
                (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["loss"] as? Double
            }
    }

    /// Losses within 1e-5 relative and weights within 1e-4. `shiftInvariant`: tensors whose
    /// gradient is zero in exact arithmetic (qa_outputs.bias and the LayerNorm bias before it:
    /// adding a constant to every position's logit leaves each softmax as it was), so AdamW's
    /// step, m/√v, normalizes rounding noise into ±lr per step, with a sign that depends on the
    /// order of the sums — as between PyTorch's DDP and one process. They are held to what
    /// AdamW can move them: 2 × lr × steps.
    func assertSameRun(_ a: URL, _ b: URL, steps: Int, lr: Double, shiftInvariant: Set<String>,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let la = try losses(a), lb = try losses(b)
        XCTAssertEqual(la.count, lb.count, "\(a.lastPathComponent) vs \(b.lastPathComponent)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(la.count, steps, file: file, line: line)
        for (x, y) in zip(la, lb) {
            XCTAssertEqual(x, y, accuracy: 1e-5 * abs(x), "losses of \(a.lastPathComponent) and \(b.lastPathComponent)", file: file, line: line)
        }
        let wa = try SafetensorsFile(contentsOf: a.appendingPathComponent("model.safetensors"))
        let wb = try SafetensorsFile(contentsOf: b.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(wa.names), Set(wb.names), file: file, line: line)
        var checked = 0
        for name in wa.names {
            let x = try wa.floats(name), y = try wb.floats(name)
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            let bound = shiftInvariant.contains(name) ? Float(2 * lr * Double(steps)) : 1e-4
            XCTAssertLessThanOrEqual(worst, bound, "\(name): \(a.lastPathComponent) vs \(b.lastPathComponent)", file: file, line: line)
            checked += x.count
        }
        XCTAssertGreaterThan(checked, 0, file: file, line: line)
    }

    func testRanksMatchOneProcessOnTheGlobalBatchAndResumeOnAnyNumberOfRanks() throws {
        _ = try Self.mpirun()
        let model = try tinyModel().path
        // Fixed padding: a batch padded to its own longest window gives another loss (the QA
        // loss's softmax covers the padding), so shares padded apart would differ for that alone.
        let common = ["--model", model, "--train-file", trainSample, "--max-train-samples", "64", "--max-length", "128",
                      "--stride", "32", "--learning-rate", "1e-3", "--seed", "1", "--no-group-by-length",
                      "--no-dynamic-padding", "--max-steps", "10", "--logging-steps", "1", "--save-steps", "5", "--quiet"]
        func run(_ name: String, ranks: Int, _ extra: [String]) throws -> (URL, [String: Any]) {
            let output = try TinyModel.temporaryFolder("bertqa-mpi-\(name)")
            let result = try train(ranks: ranks, common + ["--output", output.path] + extra)
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            // Rank 0 alone prints the summary.
            let lines = result.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(name): \(result.stdout)")
            let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any],
                                        result.stdout)
            return (output, summary)
        }
        let (one, oneSummary) = try run("one", ranks: 1, ["--batch-size", "8"])
        // Small buckets: each layer's gradients summed on their own as soon as they are final.
        let (ranks, summary) = try run("ranks", ranks: 2, ["--batch-size", "4", "--replica-check-steps", "1",
                                                           "--ddp-bucket-cap-mb", "0.01"])
        let (accumulated, _) = try run("accumulated", ranks: 1, ["--batch-size", "4", "--gradient-accumulation-steps", "2"])
        XCTAssertEqual(summary["world_size"] as? Int, 2)
        XCTAssertEqual(summary["per_device_train_batch_size"] as? Int, 4)
        XCTAssertEqual(summary["total_train_batch_size"] as? Int, 8)
        XCTAssertNotNil(summary["gradient_sum_wait_seconds"] as? Double, "\(summary)")
        XCTAssertEqual(oneSummary["world_size"] as? Int, 1)
        XCTAssertEqual(summary["train_padded_tokens"] as? Int, oneSummary["train_padded_tokens"] as? Int)
        let invariant: Set<String> = ["qa_outputs.bias", "bert.encoder.layer.1.output.LayerNorm.bias"]
        try assertSameRun(one, ranks, steps: 10, lr: 1e-3, shiftInvariant: invariant)
        try assertSameRun(one, accumulated, steps: 10, lr: 1e-3, shiftInvariant: invariant)

        // The 2-rank run's step-5 checkpoint finished on 1 process, and the 1-process run's on 3
        // ranks (8 windows shared 3 + 3 + 2): both end where the 1-process run ended.
        func resume(_ from: URL, ranks: Int, batch: Int, name: String, extra: [String] = []) throws -> (URL, CLI.Result) {
            let output = try TinyModel.temporaryFolder("bertqa-mpi-\(name)")
            let checkpoints = output.appendingPathComponent("checkpoints")
            try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: from.appendingPathComponent("checkpoints/checkpoint-5"),
                                             to: checkpoints.appendingPathComponent("checkpoint-5"))
            let result = try train(ranks: ranks, common.filter { $0 != "--quiet" }
                                   + ["--output", output.path, "--batch-size", "\(batch)", "--resume"] + extra)
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("resumed from"), result.stderr)
            return (output, result)
        }
        let (onOne, _) = try resume(ranks, ranks: 1, batch: 8, name: "resumed-on-1")
        try assertSameRun(one, onOne, steps: 10, lr: 1e-3, shiftInvariant: invariant)
        let (onThree, result) = try resume(one, ranks: 3, batch: 4, name: "resumed-on-3", extra: ["--no-overlap-gradient-sums"])
        XCTAssertTrue(result.stderr.contains("resuming with the checkpoint's global batch of 8 windows"), result.stderr)
        XCTAssertTrue(result.stderr.contains("3 ranks × 3 windows at most"), result.stderr)
        try assertSameRun(one, onThree, steps: 10, lr: 1e-3, shiftInvariant: invariant)
    }

    /// ALBERT (one layer used three times: its gradient is whole only after its last use) and
    /// DeBERTa-v3 (relative embeddings outside the layers) on 2 ranks against one process.
    func testSharedLayersAndRelativeEmbeddingsAcrossRanks() throws {
        _ = try Self.mpirun()
        for (family, invariant) in [("albert", Set(["qa_outputs.bias"])),
                                    ("deberta-v3", Set(["qa_outputs.bias", "deberta.encoder.layer.1.output.LayerNorm.bias"]))] {
            let model = try TinyModel.architectureFixture(family).path
            let common = ["--model", model, "--train-file", trainSample, "--max-train-samples", "32", "--max-length", "96",
                          "--stride", "32", "--learning-rate", "1e-3", "--seed", "3", "--no-group-by-length",
                          "--no-dynamic-padding", "--max-steps", "6", "--logging-steps", "1", "--quiet"]
            let one = try TinyModel.temporaryFolder("bertqa-mpi-\(family)-one")
            let ranks = try TinyModel.temporaryFolder("bertqa-mpi-\(family)-ranks")
            let a = try train(ranks: 1, common + ["--output", one.path, "--batch-size", "6"])
            XCTAssertEqual(a.status, 0, "\(family): \(a.stderr)")
            let b = try train(ranks: 2, common + ["--output", ranks.path, "--batch-size", "3", "--replica-check-steps", "2",
                                                  "--ddp-bucket-cap-mb", "0.01"])
            XCTAssertEqual(b.status, 0, "\(family): \(b.stderr)")
            try assertSameRun(one, ranks, steps: 6, lr: 1e-3, shiftInvariant: invariant)
        }
    }

    /// Every rank reads the model itself: ranks given different weights (mpirun's MPMD form, a
    /// model per rank) are stopped before step one, saying why.
    func testRanksThatStartFromDifferentWeightsAreStopped() throws {
        let mpirun = try Self.mpirun()
        let a = try tinyModel()
        let b = try tinyModel(seed: 8)
        let output = try TinyModel.temporaryFolder("bertqa-mpi-apart").path
        func rank(_ model: URL) -> [String] {
            ["-np", "1", "-x", "OMP_NUM_THREADS=1", CLI.binary.path, "train", "--model", model.path, "--train-file", trainSample,
             "--max-train-samples", "16", "--max-length", "128", "--stride", "32", "--batch-size", "4", "--max-steps", "2",
             "--output", output]
        }
        let result = try CLI.run(["--oversubscribe"] + rank(a) + [":"] + rank(b), stdinData: Data(),
                                 environment: Self.mpiEnvironment, executable: mpirun)
        XCTAssertNotEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("the ranks start from different weights"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + "/checkpoints"), "no step was taken")
    }

    /// The rank processes of a job, found by the job's unique output path in their command lines.
    func rankProcess(_ rank: Int, output: String) -> pid_t? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let env = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if args.first?.hasSuffix("bertqa") == true, args.contains(output), env.contains("OMPI_COMM_WORLD_RANK=\(rank)") {
                return pid
            }
        }
        return nil
    }

    /// Starts a long 2-rank run, waits for its first checkpoint, does `harm` to rank 1, and
    /// returns how long the job took to end after that, with its status and stderr.
    func harmRankOne(output: URL, extra: [String], harm: (pid_t) -> Void) throws -> (seconds: Double, result: CLI.Result) {
        let model = try tinyModel().path
        let args = ["train", "--model", model, "--train-file", trainSample, "--max-train-samples", "64",
                    "--max-length", "128", "--stride", "32", "--batch-size", "4", "--max-steps", "400",
                    "--save-steps", "20", "--output", output.path] + extra
        let process = try launch(ranks: 2, args)
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        nonisolated(unsafe) var stderr = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { stderr = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        defer { if process.isRunning { process.terminate() } }
        let checkpoint = output.appendingPathComponent("checkpoints/checkpoint-20/trainer_state.json").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint) && process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        XCTAssertTrue(process.isRunning, "the job ended before it could be harmed")
        let pid = try XCTUnwrap(rankProcess(1, output: output.path), "rank 1 not found")
        let harmed = Date()
        harm(pid)
        let limit = Date().addingTimeInterval(60)
        while process.isRunning && Date() < limit { usleep(50_000) }
        let seconds = Date().timeIntervalSince(harmed)
        if process.isRunning { kill(pid, SIGKILL); process.terminate() }
        process.waitUntilExit()
        group.wait()
        return (seconds, CLI.Result(status: process.terminationStatus, stdout: "",
                                    stderr: String(decoding: stderr, as: UTF8.self), reason: process.terminationReason))
    }

    func testAKilledOrHungRankStopsTheJobAndTheRunResumes() throws {
        _ = try Self.mpirun()
        // Killed: mpirun sees the rank die and ends the others.
        let killed = try TinyModel.temporaryFolder("bertqa-mpi-killed")
        let (seconds, result) = try harmRankOne(output: killed, extra: []) { kill($0, SIGKILL) }
        XCTAssertNotEqual(result.status, 0, result.stderr)
        XCTAssertLessThan(seconds, 30, result.stderr)
        print("killed rank 1: the job ended \(String(format: "%.1f", seconds)) s later; stderr ends: \(result.stderr.suffix(400))")

        // Hung (stopped, not dead: mpirun sees nothing): rank 0 gives up after --peer-timeout
        // and stops the job, saying why.
        let hung = try TinyModel.temporaryFolder("bertqa-mpi-hung")
        var stopped: pid_t = 0
        let (waited, hungResult) = try harmRankOne(output: hung, extra: ["--peer-timeout", "2"]) { pid in
            stopped = pid
            kill(pid, SIGSTOP)
        }
        kill(stopped, SIGKILL)
        print("hung rank 1: the job ended \(String(format: "%.1f", waited)) s later; "
              + (hungResult.stderr.split(separator: "\n").first { $0.hasPrefix("Error:") }.map(String.init) ?? hungResult.stderr))
        XCTAssertNotEqual(hungResult.status, 0, hungResult.stderr)
        XCTAssertLessThan(waited, 30, hungResult.stderr)
        XCTAssertTrue(hungResult.stderr.contains("Error: rank 0 of 2: rank 0 waited"), hungResult.stderr)
        XCTAssertTrue(hungResult.stderr.contains("for the other ranks"), hungResult.stderr)

        // The killed run resumes from its last complete checkpoint, here on one process.
        let model = try tinyModel().path
        let resumed = try CLI.run(["train", "--model", model, "--train-file", trainSample, "--max-train-samples", "64",
                                   "--max-length", "128", "--stride", "32", "--batch-size", "8", "--max-steps", "400",
                                   "--save-steps", "20", "--output", killed.path, "--resume", "--logging-steps", "100"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resumed from"), resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("step 400/400"), resumed.stderr)
    }
}
