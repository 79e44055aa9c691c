import BERT
import Foundation
import Kernels
import TestSupport
import XCTest

/// The user-facing commands end to end on a random tiny model (runs anywhere): `answer`,
/// `evaluate`, `train`, `demo`, `score`, `bench infer`, and their one-line errors.
final class CommandTests: XCTestCase {
    let devSample = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/squad/sample-dev.json").path
    let trainSample = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/squad/sample-train.json").path

    func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

    func testAnswerFromFlagsAndStdin() throws {
        let model = try CLITestModel.folder().path
        let one = try CLI.run(["answer", "--model", model, "--question", "Who developed relativity?",
                               "--context", "Albert Einstein developed the theory of relativity."])
        XCTAssertEqual(one.status, 0, one.stderr)
        let answer = try XCTUnwrap(json(one.stdout) as? [String: Any], one.stdout)
        XCTAssertEqual(Set(answer.keys), ["score", "start", "end", "answer"])
        let three = try CLI.run(["answer", "--model", model, "--question", "Who?", "--top-k", "3",
                                 "--context", "Albert Einstein developed the theory of relativity in the early 20th century."])
        XCTAssertEqual((json(three.stdout) as? [Any])?.count, 3, three.stdout)
        let lines = try CLI.run(["answer", "--model", model], stdin: """
        {"question": "Where?", "context": "The Eiffel Tower is in Paris."}
        not json
        {"question": "", "context": "x"}
        {"question": "What?", "context": "Water boils at 100 degrees."}
        """)
        // Every line is answered in place; the two bad ones make the exit status 1.
        XCTAssertEqual(lines.status, 1, lines.stderr)
        XCTAssertTrue(lines.stderr.contains("2 of 4 input lines failed (first: line 2: not JSON: expected an object"), lines.stderr)
        let out = lines.stdout.split(separator: "\n").map { json(String($0)) as? [String: Any] }
        XCTAssertEqual(out.count, 4)
        XCTAssertNotNil(out[0]?["answer"])
        XCTAssertNotNil(out[1]?["error"])
        XCTAssertEqual(out[2]?["error"] as? String, "the question is empty")
        XCTAssertNotNil(out[3]?["answer"])
    }

    /// `--version`: the release, the code paths (oneDNN's and the kernels') and the CPU.
    func testVersionNamesTheCodePathsAndTheCPU() throws {
        let result = try CLI.run(["--version"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, result.stdout)
        XCTAssertTrue(lines[0].hasPrefix("bertqa "), result.stdout)
        XCTAssertTrue(lines[1].hasPrefix("oneDNN ") && lines[1].contains("kernels "), result.stdout)
        XCTAssertTrue(lines[2].hasPrefix("CPU: ") && lines[2].contains("core"), result.stdout)
    }

    func testEvaluateWritesPredictionsAndPrintsMetrics() throws {
        let model = try CLITestModel.folder().path
        let output = try TinyModel.temporaryFolder("bertqa-eval")
        let result = try CLI.run(["evaluate", "--model", model, "--data", devSample, "--limit", "12", "--output", output.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let metrics = try XCTUnwrap(json(result.stdout) as? [String: Any], result.stdout)
        XCTAssertNotNil(metrics["exact_match"] as? Double)
        XCTAssertNotNil(metrics["f1"] as? Double)
        let predictions = try XCTUnwrap(json(String(contentsOf: output.appendingPathComponent("predictions.json"), encoding: .utf8)) as? [String: String])
        XCTAssertEqual(predictions.count, 12)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("nbest_predictions.json").path))
        // `score` on what `evaluate` wrote gives the same metrics as the official script would.
        let scored = try CLI.run(["score", "--data", devSample, "--predictions", output.appendingPathComponent("predictions.json").path])
        // Like evaluate-v1.1.py: unanswered questions score 0 (and are named on stderr).
        XCTAssertEqual(scored.status, 0, scored.stderr)
        XCTAssertNotNil((json(scored.stdout) as? [String: Any])?["exact_match"], scored.stdout)
        XCTAssertTrue(scored.stderr.contains("have no prediction and scored 0; --only-predicted"), scored.stderr)
        // The metrics saved beside the predictions are the ones printed; scoring only the predicted
        // questions gives them again, and says how many of the file's questions that was.
        let saved = try String(contentsOf: output.appendingPathComponent("metrics.json"), encoding: .utf8)
        XCTAssertEqual(saved, result.stdout)
        let only = try CLI.run(["score", "--data", devSample, "--only-predicted",
                                "--predictions", output.appendingPathComponent("predictions.json").path])
        XCTAssertEqual(only.status, 0, only.stderr)
        XCTAssertEqual(only.stdout, result.stdout)
        XCTAssertTrue(only.stderr.contains("scored 12 of the"), only.stderr)
        XCTAssertFalse(only.stderr.contains("Unanswered"), only.stderr)
    }

    func testTrainThenAnswerWithTheSavedModel() throws {
        let model = try CLITestModel.folder().path
        let output = try TinyModel.temporaryFolder("bertqa-cli-train")
        let result = try CLI.run(["train", "--model", model, "--train-file", trainSample, "--validation-file", devSample,
                                  "--output", output.path, "--max-train-samples", "24", "--max-eval-samples", "8",
                                  "--epochs", "1", "--batch-size", "8", "--max-length", "128", "--stride", "32",
                                  "--logging-steps", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try XCTUnwrap(json(result.stdout) as? [String: Any], result.stdout)
        let windows = try XCTUnwrap(summary["train_features"] as? Int)
        XCTAssertEqual(summary["steps"] as? Int, (windows + 7) / 8)
        // Padded tokens: each batch padded to its longest window, so between 1 and 128 per window.
        let tokens = try XCTUnwrap(summary["train_padded_tokens"] as? Int)
        XCTAssertTrue((windows...(windows * 128)).contains(tokens), "\(tokens) tokens for \(windows) windows")
        XCTAssertEqual(try XCTUnwrap(summary["train_mean_padded_length"] as? Double), Double(tokens) / Double(windows), accuracy: 1e-9)
        XCTAssertTrue(result.stderr.contains("validation loss"), result.stderr)
        for file in ["config.json", "model.safetensors", "vocab.txt", "training_log.jsonl", "loss_curve.svg", "train_results.json", "report.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), file)
        }
        XCTAssertTrue(try String(contentsOf: output.appendingPathComponent("loss_curve.svg"), encoding: .utf8).contains("<polyline"))
        let answer = try CLI.run(["answer", "--model", output.path, "--question", "Who?", "--context", "Marie Curie won two Nobel prizes."])
        XCTAssertEqual(answer.status, 0, answer.stderr)
        // --resume with nothing left to do continues from the last checkpoint and ends at once.
        let resumed = try CLI.run(["train", "--model", model, "--train-file", trainSample, "--output", output.path,
                                   "--max-train-samples", "24", "--epochs", "1", "--batch-size", "8",
                                   "--max-length", "128", "--stride", "32", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resumed from"), resumed.stderr)
        XCTAssertFalse(resumed.stderr.contains("--bf16"), resumed.stderr)
        if BF16Products.available {
            // Resuming an fp32 run with --bf16 is allowed (another CPU, say) and said.
            let inBF16 = try CLI.run(["train", "--model", model, "--train-file", trainSample, "--output", output.path,
                                      "--max-train-samples", "24", "--epochs", "1", "--batch-size", "8",
                                      "--max-length", "128", "--stride", "32", "--resume", "--bf16"])
            XCTAssertEqual(inBF16.status, 0, inBF16.stderr)
            XCTAssertTrue(inBF16.stderr.contains("the checkpoint's steps ran without --bf16, the steps from here with it"), inBF16.stderr)
        }
        // Without --resume, a folder holding a run is not trained into unless the user says so.
        let again = ["train", "--model", model, "--train-file", trainSample, "--output", output.path,
                     "--max-train-samples", "8", "--batch-size", "8", "--max-length", "128", "--stride", "32", "--max-steps", "1"]
        let refused = try CLI.run(again)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--overwrite-output-dir"), refused.stderr)
        let overwritten = try CLI.run(again + ["--overwrite-output-dir"])
        XCTAssertEqual(overwritten.status, 0, overwritten.stderr)
        XCTAssertTrue(overwritten.stderr.contains("removed the earlier run's checkpoints"), overwritten.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output.appendingPathComponent("checkpoints").path),
                       ["checkpoint-1"])
        // The new run's log only: the earlier run's lines (steps 1 to 3) are gone from the log
        // (and so from report.html's curves).
        let log = try String(contentsOf: output.appendingPathComponent("training_log.jsonl"), encoding: .utf8)
        let steps = log.split(separator: "\n").compactMap { (json(String($0)) as? [String: Any])?["step"] as? Int }
        XCTAssertFalse(steps.isEmpty, log)
        XCTAssertEqual(Set(steps), [1], log)
        // Fixed padding: one step of 8 windows is exactly 8 × 128 token positions.
        let fixed = try CLI.run(["train", "--model", model, "--train-file", trainSample,
                                 "--output", TinyModel.temporaryFolder("bertqa-cli-fixed").path,
                                 "--max-train-samples", "24", "--epochs", "1", "--batch-size", "8", "--max-length", "128",
                                 "--stride", "32", "--no-dynamic-padding", "--max-steps", "1"])
        XCTAssertEqual(fixed.status, 0, fixed.stderr)
        XCTAssertEqual((json(fixed.stdout) as? [String: Any])?["train_padded_tokens"] as? Int, 8 * 128, fixed.stdout)
        // HF's max_steps: one step in all, planned as one (not a cut of the epoch's), its loss logged.
        XCTAssertEqual((json(fixed.stdout) as? [String: Any])?["steps"] as? Int, 1, fixed.stdout)
        XCTAssertNotNil((json(fixed.stdout) as? [String: Any])?["final_train_loss"] as? Double, fixed.stdout)
        XCTAssertTrue(fixed.stderr.contains("1 optimizer step (max steps"), fixed.stderr)
    }

    /// A checkpoint without a QA head (a base model): `answer` says once on stderr that the head
    /// is untrained, as transformers does, and still answers; a trained model gives no warning,
    /// and `train` does not tell the user to train.
    func testAnswerWarnsAboutAnUntrainedHeadAndTrainDoesNot() throws {
        let source = try CLITestModel.folder()
        let headless = try CLITestModel.headless()
        defer { try? FileManager.default.removeItem(at: headless) }
        let question = ["--question", "Who?", "--context", "Marie Curie won two Nobel prizes."]
        let untrained = try CLI.run(["answer", "--model", headless.path] + question)
        XCTAssertEqual(untrained.status, 0, untrained.stderr)
        XCTAssertEqual(untrained.stderr.components(separatedBy: "newly initialized").count - 1, 1, untrained.stderr)
        XCTAssertTrue(untrained.stderr.contains("Train the model before using it"), untrained.stderr)
        let trained = try CLI.run(["answer", "--model", source.path] + question)
        XCTAssertFalse(trained.stderr.contains("newly initialized"), trained.stderr)
        let training = try CLI.run(["train", "--model", headless.path, "--train-file", trainSample,
                                    "--output", TinyModel.temporaryFolder("bertqa-cli-train-headless").path,
                                    "--max-train-samples", "8", "--epochs", "1", "--batch-size", "8",
                                    "--max-length", "128", "--stride", "32", "--max-steps", "1"])
        XCTAssertEqual(training.status, 0, training.stderr)
        XCTAssertTrue(training.stderr.contains("fine-tuning trains them"), training.stderr)
        XCTAssertFalse(training.stderr.contains("Train the model before using it"), training.stderr)
    }

    /// The demo's quick plan cut to two steps, data unpacked from the built-in archive into a fresh
    /// cache; the report's verdicts must follow the answers it prints (a tiny untrained model
    /// rarely answers right, and the report must not say it did).
    func testDemoRunsEndToEndWithAGivenModel() throws {
        let model = try CLITestModel.folder().path
        let output = try TinyModel.temporaryFolder("bertqa-demo")
        let cache = try TinyModel.temporaryFolder("bertqa-demo-cache")
        let result = try CLI.run(["demo", "--quick", "--model", model, "--output", output.path,
                                  "--cache", cache.path, "--max-steps", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("bertqa demo summary"), result.stdout)
        XCTAssertTrue(result.stderr.contains("exact_match"), result.stderr)
        XCTAssertTrue(result.stdout.contains("1000 train questions"), result.stdout)
        let unpacked = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        XCTAssertTrue(unpacked.contains { $0.hasPrefix("seed-squad-") }, "\(unpacked)")

        // Each question's line: `Q → "answer" (score s): verdict`, the verdict true to the answer.
        let expected = ["Who developed the theory of relativity?": ["Albert Einstein"],
                        "Where is the Eiffel Tower located?": ["Paris", "Champ de Mars"]]
        var right = 0
        for (question, accepted) in expected {
            let line = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.contains(question + " →") },
                                     result.stdout)
            let answer = line.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
            let isRight = accepted.contains { answer.contains($0) }
            XCTAssertEqual(line.hasSuffix(": as expected"), isRight, String(line))
            if isRight { right += 1 }
        }
        let verdict = right == 2 ? "both answered as expected" : "\(right) of 2 answered as expected"
        XCTAssertTrue(result.stdout.contains("answers          " + verdict), result.stdout)
    }

    /// `bench infer`: the issue's JSON fields, and `--on-request` (one line of pass times per line
    /// of input, a bad line a one-line error and a non-zero exit) as scripts/bench/bench_paired.py uses it.
    func testBenchInferJSONAndOnRequest() throws {
        let model = try CLITestModel.folder().path
        let shape = ["bench", "infer", "--model", model, "--batch-size", "2", "--max-seq-len", "16"]
        let plain = try CLI.run(shape + ["--iterations", "2", "--json", "--ceiling", "200"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let report = try XCTUnwrap(json(plain.stdout) as? [String: Any], plain.stdout)
        for key in ["sequences_per_second", "ms_per_batch", "gflops", "peak_rss_mb", "percent_of_ceiling"] {
            XCTAssertGreaterThan(report[key] as? Double ?? 0, 0, key)
        }
        // No --ceiling, no % figure: the machine's peak is the user's to give, not a default.
        let bare = try CLI.run(shape + ["--iterations", "1", "--json"])
        let bareReport = try XCTUnwrap(json(bare.stdout) as? [String: Any], bare.stdout)
        XCTAssertNil(bareReport["percent_of_ceiling"])
        XCTAssertNotNil(bareReport["gflops"])
        let paced = try CLI.run(shape + ["--on-request"], stdin: "1\n3\n\n")
        XCTAssertEqual(paced.status, 0, paced.stderr)
        let lines = paced.stdout.split(separator: "\n").map { json(String($0)) as? [String: Any] }
        XCTAssertEqual(lines.count, 4, paced.stdout)
        XCTAssertEqual(lines.first??["ready"] as? Bool, true)
        XCTAssertEqual(lines.dropFirst().map { ($0?["ms"] as? [Double])?.filter { $0 > 0 }.count }, [1, 3, 1])
        let bad = try CLI.run(shape + ["--on-request"], stdin: "2\nmany\n")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("line 2") && bad.stderr.contains("many"), bad.stderr)
        let both = try CLI.run(shape + ["--on-request", "--json"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--on-request"), both.stderr)
        // --precision bf16: runs and says so where the CPU has bf16 kernels, else a clear error.
        let bf16 = try CLI.run(shape + ["--iterations", "1", "--json", "--precision", "bf16"])
        if bf16.status == 0 {
            XCTAssertEqual((json(bf16.stdout) as? [String: Any])?["precision"] as? String, "bf16", bf16.stdout)
        } else {
            XCTAssertTrue(bf16.stderr.contains("bf16"), bf16.stderr)
        }
        let unknown = try CLI.run(shape + ["--precision", "fp8"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("precision"), unknown.stderr)
    }

    func testAnswerInBF16() throws {
        let model = try CLITestModel.folder().path
        let args = ["answer", "--model", model, "--question", "Who wrote it?", "--context", "It was written by Ada Lovelace in 1843."]
        let fp32 = try CLI.run(args)
        XCTAssertEqual(fp32.status, 0, fp32.stderr)
        let bf16 = try CLI.run(args + ["--precision", "bf16"])
        guard bf16.status == 0 else {
            XCTAssertTrue(bf16.stderr.contains("bf16"), bf16.stderr)
            throw XCTSkip("SKIPPED: no bf16 kernels on this CPU: \(bf16.stderr)")
        }
        let a = try XCTUnwrap(json(fp32.stdout) as? [String: Any]), b = try XCTUnwrap(json(bf16.stdout) as? [String: Any])
        XCTAssertEqual((b["score"] as? Double) ?? -1, (a["score"] as? Double) ?? 1, accuracy: 0.05 * ((a["score"] as? Double) ?? 1))
        XCTAssertNotNil(b["answer"] as? String)
    }

    /// --precision int8 answers on any CPU: the same answer as fp32 on the test model, its score
    /// near fp32's; where the CPU has no int8 dot products it says once that int8 is no faster there.
    func testAnswerInInt8() throws {
        let model = try CLITestModel.folder().path
        let args = ["answer", "--model", model, "--question", "Who wrote it?", "--context", "It was written by Ada Lovelace in 1843."]
        let fp32 = try CLI.run(args), int8 = try CLI.run(args + ["--precision", "int8"])
        XCTAssertEqual(fp32.status, 0, fp32.stderr)
        XCTAssertEqual(int8.status, 0, int8.stderr)
        let a = try XCTUnwrap(json(fp32.stdout) as? [String: Any]), b = try XCTUnwrap(json(int8.stdout) as? [String: Any])
        XCTAssertEqual(b["answer"] as? String, a["answer"] as? String, int8.stdout)
        XCTAssertEqual((b["score"] as? Double) ?? -1, (a["score"] as? Double) ?? 1, accuracy: 0.05 * ((a["score"] as? Double) ?? 1))
        XCTAssertEqual(int8.stderr.contains("no int8 dot products"), !PackedLinear.hasInt8DotProducts, int8.stderr)
        let unpacked = try CLI.run(args + ["--precision", "int8", "--no-packed-weights"])
        XCTAssertNotEqual(unpacked.status, 0)
        XCTAssertTrue(unpacked.stderr.contains("--precision int8 needs packed weights"), unpacked.stderr)
    }

    /// `train --bf16`: where the CPU has bf16 products it trains and saves a model that answers;
    /// elsewhere it is refused before anything loads, its first line saying why.
    func testTrainInBF16OrARefusalThatSaysWhy() throws {
        let model = try CLITestModel.folder().path
        let output = try TinyModel.temporaryFolder("bertqa-cli-bf16")
        let result = try CLI.run(["train", "--model", model, "--train-file", trainSample, "--output", output.path,
                                  "--max-train-samples", "16", "--batch-size", "8", "--max-length", "128", "--stride", "32",
                                  "--max-steps", "2", "--bf16"])
        if BF16Products.available {
            XCTAssertEqual(result.status, 0, result.stderr)
            let summary = try XCTUnwrap(json(result.stdout) as? [String: Any], result.stdout)
            XCTAssertEqual(summary["steps"] as? Int, 2, result.stdout)
            let loss = try XCTUnwrap(summary["final_train_loss"] as? Double, result.stdout)
            XCTAssertTrue(loss.isFinite && loss > 0, "\(loss)")
            let answer = try CLI.run(["answer", "--model", output.path, "--question", "Who?", "--context", "Ada wrote it."])
            XCTAssertEqual(answer.status, 0, answer.stderr)
        } else {
            XCTAssertNotEqual(result.status, 0)
            // The reason on the first line (a usage hint follows, as for every invalid option).
            let first = String(result.stderr.split(separator: "\n").first ?? "")
            XCTAssertTrue(first.hasPrefix("Error:") && first.contains("avx512_bf16 or AMX"), result.stderr)
        }
    }

    /// One vocabulary: the pipeline's names lead everywhere, and run_qa.py's and the tokenizer's
    /// spellings are aliases that set the same thing.
    func testOneVocabularyWithAliases() throws {
        let model = try CLITestModel.folder().path
        let pair = #"{"question": "Who developed the theory?", "context": "Albert Einstein developed the theory of relativity in the early twentieth century, in Bern and in Berlin."}"#
        func tokenize(_ flags: [String]) throws -> String {
            let result = try CLI.run(["tokenize", "--model", model] + flags, stdin: pair + "\n")
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout
        }
        let lead = try tokenize(["--max-seq-len", "16", "--doc-stride", "4"])
        XCTAssertEqual(try tokenize(["--max-length", "16", "--stride", "4"]), lead)
        XCTAssertEqual(try tokenize(["--max-seq-length", "16", "--stride", "4"]), lead)
        XCTAssertNotEqual(try tokenize([]), lead)

        func evaluate(_ flags: [String]) throws -> (metrics: String, predictions: String) {
            let output = try TinyModel.temporaryFolder("bertqa-vocabulary")
            let result = try CLI.run(["evaluate", "--model", model, "--data", devSample, "--limit", "4", "--output", output.path] + flags)
            XCTAssertEqual(result.status, 0, result.stderr)
            return (result.stdout, try String(contentsOf: output.appendingPathComponent("nbest_predictions.json"), encoding: .utf8))
        }
        let ours = try evaluate(["--max-seq-len", "64", "--doc-stride", "16", "--max-answer-len", "5"])
        let runQA = try evaluate(["--max-seq-length", "64", "--stride", "16", "--max-answer-length", "5"])
        XCTAssertEqual(ours.metrics, runQA.metrics)
        XCTAssertEqual(ours.predictions, runQA.predictions)

        // Every command that takes a setting names it the same way, and lists its aliases.
        let names: [([String], [String])] = [
            (["answer"], ["--max-seq-len, --max-seq-length, --max-length", "--doc-stride, --stride",
                          "--max-answer-len, --max-answer-length", "--batch-size", "--quiet", "--verbose"]),
            (["evaluate"], ["--max-seq-len, --max-seq-length, --max-length", "--doc-stride, --stride",
                            "--max-answer-len, --max-answer-length", "--batch-size", "--quiet"]),
            (["train"], ["--max-seq-len, --max-seq-length, --max-length", "--doc-stride, --stride",
                         "--batch-size, --per-device-train-batch-size", "--epochs, --num-train-epochs",
                         "--eval-batch-size, --per-device-eval-batch-size", "--quiet"]),
            (["tokenize"], ["--max-seq-len, --max-seq-length, --max-length", "--doc-stride, --stride"]),
            (["serve"], ["--batch-size", "--max-windows-per-request", "--quiet"]),
            (["bench", "infer"], ["--batch-size, --batch", "--max-seq-len, --seq"]),
            (["bench", "train"], ["--batch-size, --batch", "--max-seq-len, --seq"]),
        ]
        for (command, expected) in names {
            let help = try CLI.run(command + ["--help"], environment: ["COLUMNS": "200"])
            for name in expected { XCTAssertTrue(help.stdout.contains(name), "\(command): \(name) missing from\n\(help.stdout)") }
        }
    }

    /// `--help` of every command reads at 80 columns: no line wider, and no words from inside
    /// the project.
    func testHelpFitsEightyColumns() throws {
        let commands: [[String]] = [[], ["demo"], ["answer"], ["evaluate"], ["train"], ["serve"], ["tokenize"], ["score"],
                                    ["download"], ["bench"], ["bench", "infer"], ["bench", "train"], ["bench", "gemm"],
                                    ["bench", "tokenize"], ["bench", "features"], ["bench", "answer"]]
        for command in commands {
            let help = try CLI.run(command + ["--help"], environment: ["COLUMNS": "80"])
            XCTAssertEqual(help.status, 0, "\(command): \(help.stderr)")
            XCTAssertTrue(help.stdout.contains("USAGE:"), "\(command): \(help.stdout)")
            for line in help.stdout.split(separator: "\n") {
                XCTAssertLessThanOrEqual(line.count, 80, "\(command): \"\(line)\"")
                for jargon in ["the seed", "seed job", "seed notebook", "issue", "session"] {
                    XCTAssertFalse(line.lowercased().contains(jargon), "\(command): \"\(line)\"")
                }
            }
        }
    }

    /// --quiet says nothing on stderr but warnings; --verbose adds what was loaded and timings.
    func testQuietAndVerbose() throws {
        let model = try CLITestModel.folder().path
        let args = ["evaluate", "--model", model, "--data", devSample, "--limit", "3"]
        let normal = try CLI.run(args)
        XCTAssertEqual(normal.status, 0, normal.stderr)
        XCTAssertTrue(normal.stderr.contains("windows in"), normal.stderr)
        let quiet = try CLI.run(args + ["--quiet"])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stdout, normal.stdout)
        XCTAssertTrue(quiet.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("warning: ") }, quiet.stderr)
        let verbose = try CLI.run(args + ["-v"])
        XCTAssertEqual(verbose.stdout, normal.stdout)
        XCTAssertTrue(verbose.stderr.contains("loaded \(model) in "), verbose.stderr)
        XCTAssertTrue(verbose.stderr.contains("layers, hidden"), verbose.stderr)
        let answered = try CLI.run(["answer", "--model", model, "--verbose"], stdin: #"{"question": "Who?", "context": "Ann did."}"# + "\n")
        XCTAssertEqual(answered.status, 0, answered.stderr)
        XCTAssertTrue(answered.stderr.contains("answered 1 line in"), answered.stderr)
    }

    func testErrorsAreOneLineAndNonZero() throws {
        let model = try CLITestModel.folder().path
        let broken = try TinyModel.temporaryFolder("bertqa-broken")
        try Data("{not json".utf8).write(to: broken.appendingPathComponent("bad.json"))
        let cases: [[String]] = [
            ["answer", "--model", "/nonexistent", "--question", "q", "--context", "c"],
            ["answer", "--model", model, "--question", "q"],
            ["answer", "--model", model, "--question", "q", "--context", "c", "--top-k", "0"],
            ["evaluate", "--model", model, "--data", broken.appendingPathComponent("bad.json").path],
            ["evaluate", "--model", model, "--data", "/nonexistent.json"],
            ["train", "--model", model, "--train-file", trainSample, "--output", "/proc/nope", "--max-train-samples", "8"],
            ["train", "--model", model, "--train-file", trainSample, "--output", broken.path, "--batch-size", "0"],
            ["score", "--data", devSample, "--predictions", "/nonexistent.json"],
            ["serve", "--model", model, "--port", "70000"],
        ]
        for args in cases {
            let result = try CLI.run(args)
            XCTAssertNotEqual(result.status, 0, "\(args)")
            let lines = result.stderr.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See ") }
            XCTAssertGreaterThanOrEqual(lines.count, 1, "\(args)")
            XCTAssertFalse(result.stderr.contains("Fatal error"), "\(args): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("Stack dump"), "\(args): \(result.stderr)")
        }
    }
}
