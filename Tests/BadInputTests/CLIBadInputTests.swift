import Foundation
import Kernels
import TestSupport
import XCTest

/// The CLI's side of the bad-input table: each case exits non-zero (not by a signal) with exactly
/// one error line on stderr that names the problem, and no trap or stack trace.
final class CLIBadInputTests: XCTestCase {
    struct Case {
        var label: String
        var args: [String]
        var stdin = ""
        /// Text the error line must contain (case-insensitive).
        var mention: String
    }

    /// Runs each case and checks the exit and the one error line.
    func check(_ cases: [Case], file: StaticString = #filePath, line: UInt = #line) throws {
        for c in cases {
            let result = try CLI.run(c.args, stdin: c.stdin)
            let label = "\(c.label) [bertqa \(c.args.prefix(8).joined(separator: " ").prefix(200))]"
            XCTAssertNotEqual(result.status, 0, "\(label): exit 0; stdout: \(result.stdout.prefix(300))", file: file, line: line)
            XCTAssertEqual(result.reason, .exit, "\(label): killed by a signal: \(result.stderr.suffix(500))", file: file, line: line)
            for trace in ["Fatal error", "Stack dump", "Illegal instruction", "Current stack trace", "Segmentation fault"] {
                XCTAssertFalse(result.stderr.contains(trace), "\(label): \(result.stderr.suffix(800))", file: file, line: line)
            }
            // ArgumentParser follows its error line with usage and help lines; progress lines
            // (train) come before it. Exactly one line is the error.
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
            XCTAssertEqual(errors.count, 1, "\(label): stderr: \(result.stderr.suffix(800))", file: file, line: line)
            if let error = errors.first {
                XCTAssertTrue(error.lowercased().contains(c.mention.lowercased()), "\(label): \"\(error)\" does not mention \(c.mention)",
                              file: file, line: line)
            }
        }
    }

    /// Broken tokenizer files of the other families, through `tokenize` (which reads only them).
    func testBrokenTokenizerFamilies() throws {
        let fixtures = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/tokenizers")
        func folder(_ family: String, removing: String? = nil, _ file: String, _ change: (String) -> String) throws -> String {
            let copy = try TinyModel.temporaryFolder("bad-\(family)")
            try FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(family), to: copy)
            if let removing { try FileManager.default.removeItem(at: copy.appendingPathComponent(removing)) }
            let url = copy.appendingPathComponent(file)
            try change(String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
            return copy.path
        }
        let cases = [
            Case(label: "truncated tokenizer.json (BPE)", args: ["tokenize", "--model", try folder("roberta", "tokenizer.json") { String($0.prefix(300)) }],
                 stdin: "{\"text\": \"x\"}\n", mention: "tokenizer.json"),
            Case(label: "unknown pre-tokenizer", args: ["tokenize", "--model", try folder("roberta", "tokenizer.json") {
                $0.replacingOccurrences(of: "\"type\": \"ByteLevel\",\n    \"add_prefix_space\"", with: "\"type\": \"CharDelimiterSplit\",\n    \"add_prefix_space\"") }],
                 stdin: "{\"text\": \"x\"}\n", mention: "unsupported pre-tokenizer CharDelimiterSplit"),
            Case(label: "merges.txt naming unknown tokens", args: ["tokenize", "--model", try folder("roberta", removing: "tokenizer.json", "merges.txt") { $0 + "qqqq zzzz\n" }],
                 stdin: "{\"text\": \"x\"}\n", mention: "missing from the vocabulary"),
            Case(label: "Unigram charsmap not base64", args: ["tokenize", "--model", try folder("deberta-v3", "tokenizer.json") {
                $0.replacingOccurrences(of: "\"precompiled_charsmap\": \"", with: "\"precompiled_charsmap\": \"!!") }],
                 stdin: "{\"text\": \"x\"}\n", mention: "precompiled_charsmap"),
            Case(label: "Unigram model of unknown type", args: ["tokenize", "--model", try folder("deberta-v3", "tokenizer.json") {
                $0.replacingOccurrences(of: "\"type\": \"Unigram\"", with: "\"type\": \"WordLevel\"") }],
                 stdin: "{\"text\": \"x\"}\n", mention: "unsupported model WordLevel"),
        ]
        try check(cases)
    }

    func testBrokenModelFolders() throws {
        let root = try BrokenInputs.root()
        var cases = [
            Case(label: "missing model folder", args: ["answer", "--model", root.appendingPathComponent("nowhere").path,
                                                       "--question", "Who?", "--context", "Einstein."], mention: "nowhere does not exist: give a model folder"),
            Case(label: "missing model folder (train)", args: ["train", "--model", "/nonexistent", "--train-file", root.appendingPathComponent("good.json").path,
                                                               "--output", root.appendingPathComponent("out-missing").path], mention: "model folder /nonexistent does not exist"),
            Case(label: "model path is a file", args: ["answer", "--model", root.appendingPathComponent("good.json").path,
                                                       "--question", "Who?", "--context", "Einstein."], mention: "good.json is a file: give the model's folder"),
        ]
        for (name, mention) in BrokenInputs.modelCases {
            let model = root.appendingPathComponent(name).path
            cases.append(Case(label: name, args: ["answer", "--model", model, "--question", "Who?", "--context", "Einstein."], mention: mention))
        }
        for name in ["binary-weights", "config-disagrees-with-weights", "vocab-without-special-tokens"] {
            let model = root.appendingPathComponent(name).path
            let mention = BrokenInputs.modelCases.first { $0.name == name }!.mention
            cases.append(Case(label: "evaluate with \(name)", args: ["evaluate", "--model", model, "--data", root.appendingPathComponent("good.json").path],
                              mention: mention))
            cases.append(Case(label: "train with \(name)", args: ["train", "--model", model, "--train-file", root.appendingPathComponent("good.json").path,
                                                                   "--output", root.appendingPathComponent("out-\(name)").path], mention: mention))
            cases.append(Case(label: "serve with \(name)", args: ["serve", "--model", model, "--port", "0"], mention: mention))
            cases.append(Case(label: "tokenize with \(name)", args: ["tokenize", "--model", model], stdin: "{\"text\": \"x\"}\n",
                              mention: name.contains("vocab") ? mention : "x"))
        }
        // `tokenize` only reads the tokenizer files, so only the vocabulary cases apply to it.
        cases.removeAll { $0.args[0] == "tokenize" && !$0.label.contains("vocab") }
        try check(cases)
    }

    func testBrokenSQuADFiles() throws {
        let root = try BrokenInputs.root()
        let model = root.appendingPathComponent("good-model").path
        let good = root.appendingPathComponent("good.json").path
        var cases: [Case] = []
        for (name, mention) in BrokenInputs.squadCases {
            let data = root.appendingPathComponent(name).path
            cases.append(Case(label: "evaluate \(name)", args: ["evaluate", "--model", model, "--data", data], mention: mention))
            cases.append(Case(label: "train on \(name)", args: ["train", "--model", model, "--train-file", data,
                                                                "--output", root.appendingPathComponent("out-\(name)").path], mention: mention))
            cases.append(Case(label: "validate on \(name)", args: ["train", "--model", model, "--train-file", good, "--validation-file", data,
                                                                   "--max-length", "64", "--stride", "16",
                                                                   "--output", root.appendingPathComponent("out-v-\(name)").path], mention: mention))
            cases.append(Case(label: "score \(name)", args: ["score", "--data", data, "--predictions", root.appendingPathComponent("predictions.json").path], mention: mention))
        }
        // Predictions that are not {id: text}.
        let badPredictions = root.appendingPathComponent("bad-predictions.json")
        try Data(#"{"q1": 7}"#.utf8).write(to: badPredictions)
        cases.append(Case(label: "predictions with a number", args: ["score", "--data", good, "--predictions", badPredictions.path], mention: "q1"))
        cases.append(Case(label: "predictions that are malformed", args: ["score", "--data", good, "--predictions", root.appendingPathComponent("truncated.json").path],
                          mention: "truncated.json"))
        try check(cases)
    }

    func testBadQuestionsAndContextsOnStdinAndFlags() throws {
        let root = try BrokenInputs.root()
        let model = root.appendingPathComponent("good-model").path
        let context = "Albert Einstein developed the theory of relativity in the early twentieth century."
        let longQuestion = Array(repeating: "why", count: 200).joined(separator: " ")
        func answer(_ question: String, _ context: String, _ extra: [String] = []) -> [String] {
            ["answer", "--model", model, "--question", question, "--context", context] + extra
        }
        let cases = [
            Case(label: "empty question", args: answer("", context), mention: "question is empty"),
            Case(label: "blank question", args: answer("   ", context), mention: "question is empty"),
            Case(label: "empty context", args: answer("Who?", ""), mention: "context is empty"),
            Case(label: "question longer than max-seq-len", args: answer(longQuestion, context, ["--max-seq-len", "64"]), mention: "too long"),
            Case(label: "doc-stride at the window's room", args: answer("Who?", context, ["--max-seq-len", "12", "--doc-stride", "7"]), mention: "doc_stride"),
            Case(label: "question only (no context)", args: ["answer", "--model", model, "--question", "Who?"], mention: "--context"),
            // JSON lines on stdin: the bad line is reported in place, the run exits 1 with a summary.
            Case(label: "empty question on stdin", args: ["answer", "--model", model],
                 stdin: "{\"question\": \"Who?\", \"context\": \"Einstein.\"}\n{\"question\": \"\", \"context\": \"x\"}\n", mention: "line 2: the question is empty"),
            Case(label: "raw NUL byte on stdin", args: ["answer", "--model", model],
                 stdin: "{\"question\": \"Who?\", \"context\": \"Ein\u{0}stein.\"}\n", mention: "line 1: not JSON"),
            Case(label: "wrong types on stdin", args: ["answer", "--model", model],
                 stdin: "{\"question\": 5, \"context\": \"Einstein.\"}\n", mention: "line 1: \"question\" must be a string"),
            Case(label: "tokenize: question longer than max_length", args: ["tokenize", "--model", model],
                 stdin: "{\"question\": \"\(longQuestion)\", \"context\": \"x\", \"max_length\": 32, \"stride\": 0}\n", mention: "too long"),
            Case(label: "tokenize: stride at the window's room", args: ["tokenize", "--model", model],
                 stdin: "{\"question\": \"a b c\", \"context\": \"\(context)\", \"max_length\": 16, \"stride\": 10}\n", mention: "stride"),
            Case(label: "tokenize: max_length not a number", args: ["tokenize", "--model", model],
                 stdin: "{\"question\": \"a\", \"context\": \"b\", \"max_length\": \"long\"}\n", mention: "max_length"),
            Case(label: "train: max-length below the questions", args: ["train", "--model", model, "--train-file", root.appendingPathComponent("good.json").path,
                                                                        "--max-length", "8", "--stride", "2", "--output", root.appendingPathComponent("out-short").path],
                 mention: "q1"),
            Case(label: "train: stride at the window's room", args: ["train", "--model", model, "--train-file", root.appendingPathComponent("good.json").path,
                                                                     "--max-length", "12", "--stride", "10", "--output", root.appendingPathComponent("out-stride").path],
                 mention: "stride"),
        ]
        try check(cases)
        // Bytes that are not UTF-8 cannot go through a Swift String: they go in as raw data.
        let invalid = try CLI.run(["answer", "--model", model], stdinData: Data("{\"question\": \"Who?\", \"context\": \"Ein".utf8) + Data([0xC3, 0x28]) + Data("stein.\"}\n".utf8))
        XCTAssertEqual(invalid.status, 1, invalid.stderr)
        XCTAssertTrue(invalid.stdout.contains("not valid UTF-8"), invalid.stdout)
        XCTAssertTrue(invalid.stderr.contains("line 1: not valid UTF-8"), invalid.stderr)
    }

    func testUnusualButValidInputsSucceed() throws {
        let root = try BrokenInputs.root()
        let model = root.appendingPathComponent("good-model").path
        // A 1 MB context (too long for a command-line argument, so on stdin) and NUL characters.
        let sentence = "Albert Einstein developed the theory of relativity in the early twentieth century. "
        let big = String(repeating: sentence, count: (1 << 20) / sentence.utf8.count + 1)
        let lines = "{\"question\": \"Who developed relativity?\", \"context\": \"\(big)\"}\n"
            + "{\"question\": \"Who\\u0000?\", \"context\": \"Albert\\u0000 Einstein developed relativity.\"}\n"
        let result = try CLI.run(["answer", "--model", model], stdin: lines)
        XCTAssertEqual(result.status, 0, result.stderr)
        let outputs = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(outputs.count, 2, result.stdout.prefix(500).description)
        XCTAssertTrue(outputs.allSatisfy { $0["answer"] is String }, result.stdout.prefix(500).description)
    }

    func testBadSizesAndOutputs() throws {
        let root = try BrokenInputs.root()
        let model = root.appendingPathComponent("good-model").path
        let good = root.appendingPathComponent("good.json").path
        let ask = ["answer", "--model", model, "--question", "Who?", "--context", "Einstein."]
        let train = ["train", "--model", model, "--train-file", good, "--max-length", "64", "--stride", "16"]
        let out = root.appendingPathComponent("out-sizes").path
        let cases = [
            Case(label: "zero top-k", args: ask + ["--top-k", "0"], mention: "top_k"),
            Case(label: "negative top-k", args: ask + ["--top-k", "-2"], mention: "top_k"),
            Case(label: "negative max-seq-len", args: ask + ["--max-seq-len", "-1"], mention: "max_seq_len"),
            Case(label: "zero max-answer-len", args: ask + ["--max-answer-len", "0"], mention: "max_answer_len"),
            Case(label: "negative doc-stride", args: ask + ["--doc-stride", "-1"], mention: "doc_stride"),
            Case(label: "not a number", args: ask + ["--top-k", "many"], mention: "many"),
            Case(label: "zero batch size (answer)", args: ["answer", "--model", model, "--batch-size", "0"], mention: "batch-size"),
            Case(label: "zero epochs", args: train + ["--epochs", "0", "--output", out], mention: "epochs"),
            Case(label: "negative batch size", args: train + ["--batch-size", "-4", "--output", out], mention: "batch size"),
            Case(label: "negative learning rate", args: train + ["--learning-rate", "-1e-5", "--output", out], mention: "learning rate"),
            Case(label: "zero max-length", args: ["train", "--model", model, "--train-file", good, "--max-length", "0", "--output", out], mention: "max length"),
            Case(label: "stride at max-length", args: train + ["--stride", "64", "--output", out], mention: "stride"),
            Case(label: "evaluate: zero batch size", args: ["evaluate", "--model", model, "--data", good, "--batch-size", "0"], mention: "batch-size"),
            Case(label: "evaluate: negative limit", args: ["evaluate", "--model", model, "--data", good, "--limit", "-1"], mention: "limit"),
            Case(label: "evaluate: stride at max-length", args: ["evaluate", "--model", model, "--data", good, "--max-length", "32", "--stride", "40"], mention: "stride"),
            Case(label: "tokenize: zero max-length", args: ["tokenize", "--model", model, "--max-length", "0"], mention: "max-seq-len"),
            Case(label: "serve: negative port", args: ["serve", "--model", model, "--port", "-1"], mention: "port"),
            Case(label: "serve: zero max batch", args: ["serve", "--model", model, "--max-batch", "0"], mention: "max-batch"),
            Case(label: "bench infer: zero batch", args: ["bench", "infer", "--model", model, "--batch", "0"], mention: "batch"),
            Case(label: "bench infer: negative seq", args: ["bench", "infer", "--model", model, "--seq", "-8"], mention: "seq"),
            Case(label: "train: zero max-steps", args: train + ["--max-steps", "0", "--output", out], mention: "max steps"),
            Case(label: "train: output holds another run", args: train + ["--output", root.path], mention: "--overwrite-output-dir"),
            Case(label: "train: output is a file", args: train + ["--output", good], mention: "not a folder"),
            Case(label: "train: output under /proc", args: train + ["--output", "/proc/bertqa-out"], mention: "/proc/bertqa-out"),
            Case(label: "train: output under a file", args: train + ["--output", good + "/out"], mention: good),
            Case(label: "evaluate: output under /proc", args: ["evaluate", "--model", model, "--data", good, "--output", "/proc/bertqa-out"], mention: "/proc/bertqa-out"),
            Case(label: "evaluate: output is a file", args: ["evaluate", "--model", model, "--data", good, "--output", good],
                 mention: "is a file: give a folder"),
            Case(label: "bench gemm: a shape of two sizes", args: ["bench", "gemm", "--shapes", "384x384"], mention: "shapes"),
            Case(label: "demo: output under /proc", args: ["demo", "--model", model, "--output", "/proc/bertqa-out", "--max-steps", "1"], mention: "/proc/bertqa-out"),
        ]
        try check(cases)
    }

    /// Errors said in the user's terms: what is wrong and what to do, not what failed inside.
    func testErrorsInTheUsersTerms() throws {
        let root = try BrokenInputs.root()
        let model = root.appendingPathComponent("good-model").path
        let good = root.appendingPathComponent("good.json").path
        let busy = try ListeningSocket()
        defer { busy.close() }
        var cases = [
            Case(label: "misspelt option", args: ["answer", "--model", model, "--qustion", "Who?", "--context", "Einstein."],
                 mention: "Unknown option '--qustion'. Did you mean '--question'?"),
            Case(label: "misspelt window option", args: ["evaluate", "--model", model, "--data", good, "--max-seq-lenn", "128"],
                 mention: "Did you mean '--max-seq-len'?"),
            Case(label: "a line that is not JSON", args: ["answer", "--model", model], stdin: "garbage\n",
                 mention: "line 1: not JSON: expected an object such as {\"question\""),
            Case(label: "a misspelt parameter on a line", args: ["answer", "--model", model],
                 stdin: "{\"question\": \"Who?\", \"context\": \"Einstein.\", \"topk\": 3}\n", mention: "unknown field \"topk\""),
            Case(label: "a parameter of the wrong type on a line", args: ["answer", "--model", model],
                 stdin: "{\"inputs\": {\"question\": \"Who?\", \"context\": \"E.\"}, \"parameters\": {\"top_k\": \"two\"}}\n",
                 mention: "parameter \"top_k\" must be an integer"),
            Case(label: "serve: port in use", args: ["serve", "--model", model, "--port", String(busy.port)],
                 mention: "port \(busy.port) on 127.0.0.1 is already in use"),
            Case(label: "serve: host not of this machine", args: ["serve", "--model", model, "--host", "192.0.2.1", "--port", "0"],
                 mention: "192.0.2.1: it is not an address of this machine"),
            Case(label: "answer: missing --context-file", args: ["answer", "--model", model, "--question", "Who?",
                                                               "--context-file", root.appendingPathComponent("nowhere.txt").path],
                 mention: "does not exist"),
            Case(label: "answer: --context and --context-file", args: ["answer", "--model", model, "--question", "Who?",
                                                                     "--context", "E.", "--context-file", good],
                 mention: "not both"),
            Case(label: "serve: missing --api-key-file", args: ["serve", "--model", model, "--port", "0",
                                                               "--api-key-file", root.appendingPathComponent("nowhere.txt").path],
                 mention: "cannot be read"),
            Case(label: "serve: --api-key-file without a key", args: ["serve", "--model", model, "--port", "0", "--api-key-file", try {
                let file = root.appendingPathComponent("no-keys.txt")
                try Data("# nothing here\n\n".utf8).write(to: file)
                return file.path
            }()], mention: "holds no key"),
            Case(label: "serve: zero --max-queue", args: ["serve", "--model", model, "--max-queue", "0"], mention: "--max-queue"),
            Case(label: "serve: zero --request-timeout", args: ["serve", "--model", model, "--request-timeout", "0"], mention: "--request-timeout"),
            Case(label: "--quiet with --verbose", args: ["evaluate", "--model", model, "--data", good, "--quiet", "--verbose"],
                 mention: "cannot go together"),
        ]
        if !HostCPU.current.flags.contains("avx512f") {
            cases.append(Case(label: "bf16 on a CPU without AVX-512", args: ["answer", "--model", model, "--precision", "bf16",
                                                                            "--question", "Who?", "--context", "E."],
                              mention: "--precision bf16 needs a CPU with AVX-512"))
        } else {
            print("(the bf16 refusal row runs on CPUs without AVX-512 only; this one has it)")
        }
        try check(cases)
    }
}

/// A TCP socket listening on a free loopback port, to make that port busy.
struct ListeningSocket {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
