import Foundation
import TestSupport
import XCTest

/// `--model org/name` as a user types it, against a fake Hub on loopback: the CLI downloads into
/// the Hugging Face cache, answers as the model folder does, and works offline afterwards.
final class HubCLITests: XCTestCase {
    var hub: FakeHub!
    var cache: URL!

    override func setUp() async throws {
        hub = FakeHub()
        let fixtures = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures")
        var files: [String: Data] = [:]
        for name in ["config.json", "model.safetensors"] {
            files[name] = try Data(contentsOf: fixtures.appendingPathComponent("architectures/roberta/model/\(name)"))
        }
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"] {
            files[name] = try Data(contentsOf: fixtures.appendingPathComponent("tokenizers/roberta/\(name)"))
        }
        files["README.md"] = Data("not needed\n".utf8)
        var repo = FakeHub.Repo(files: files, lfs: ["model.safetensors"])
        repo.branches["v1"] = repo.commit
        hub.add(repo, as: "deepset/tiny-roberta-squad2")
        try await hub.start()
        cache = FileManager.default.temporaryDirectory.appendingPathComponent("cli-hub-\(UUID().uuidString)")
    }

    override func tearDown() async throws {
        hub.stop()
        try? FileManager.default.removeItem(at: cache)
    }

    var environment: [String: String] { ["HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": cache.path, "HF_TOKEN": ""] }

    func testAnswerByHubIDMatchesTransformersThenWorksOffline() throws {
        let line = try String(contentsOf: Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/architectures/roberta/pipeline.jsonl"),
                              encoding: .utf8).split(separator: "\n")[0]
        let reference = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let expected = reference["output"] as! [String: Any]
        let args = ["answer", "--model", "deepset/tiny-roberta-squad2", "--question", reference["question"] as! String,
                    "--context", reference["context"] as! String]
        for offline in [false, true] {
            var env = environment
            if offline { env["HF_HUB_OFFLINE"] = "1" }
            hub.clearLog()
            let result = try CLI.run(args, environment: env)
            XCTAssertEqual(result.status, 0, result.stderr)
            let answer = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
            XCTAssertEqual(answer["answer"] as? String, expected["answer"] as? String, "offline: \(offline)")
            XCTAssertEqual(answer["start"] as? Int, expected["start"] as? Int)
            XCTAssertEqual((answer["score"] as? Double) ?? -1, expected["score"] as! Double, accuracy: 1e-4)
            if offline { XCTAssertEqual(hub.log, [], "offline runs ask nothing") }
        }
        let snapshot = cache.appendingPathComponent("models--deepset--tiny-roberta-squad2/snapshots/\(String(repeating: "c0ffee12", count: 5))")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: snapshot.path).sorted(),
                       ["config.json", "merges.txt", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
                        "tokenizer_config.json", "vocab.json"], "only what a model needs; README.md stays on the Hub")
    }

    func testDownloadPrintsTheSnapshotAndRevisionIsHonoured() throws {
        let result = try CLI.run(["download", "deepset/tiny-roberta-squad2", "--revision", "v1"], environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasSuffix("snapshots/\(String(repeating: "c0ffee12", count: 5))\n"), result.stdout)
        XCTAssertEqual(try String(contentsOf: cache.appendingPathComponent("models--deepset--tiny-roberta-squad2/refs/v1"), encoding: .utf8),
                       String(repeating: "c0ffee12", count: 5))
        let tokens = try CLI.run(["tokenize", "--model", "deepset/tiny-roberta-squad2", "--revision", "v1"],
                                 stdin: "{\"text\": \"hello\"}\n", environment: environment.merging(["HF_HUB_OFFLINE": "1"]) { $1 })
        XCTAssertEqual(tokens.status, 0, tokens.stderr)
    }

    func testHubErrorsAreOneLine() throws {
        let cases: [([String], [String: String], String)] = [
            (["answer", "--model", "deepset/missing", "--question", "q", "--context", "c"], environment, "'deepset/missing' not found"),
            (["answer", "--model", "deepset/tiny-roberta-squad2", "--revision", "v9", "--question", "q", "--context", "c"], environment,
             "no revision 'v9'"),
            (["evaluate", "--model", "deepset/other", "--data", "x.json"], environment.merging(["HF_HUB_OFFLINE": "1"]) { $1 },
             "HF_HUB_OFFLINE=1"),
            (["answer", "--model", "deepset/tiny-roberta-squad2", "--question", "q", "--context", "c"],
             environment.merging(["HF_ENDPOINT": "http://127.0.0.1:9"]) { $1 }, "cannot reach the Hub"),
            (["answer", "--model", Golden.repositoryRoot.path, "--revision", "main", "--question", "q", "--context", "c"], environment,
             "--revision names a Hub revision"),
        ]
        for (args, env, mention) in cases {
            let result = try CLI.run(args, environment: env)
            XCTAssertNotEqual(result.status, 0, "\(args)")
            XCTAssertEqual(result.reason, .exit)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(args): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(mention), "\(args): '\(mention)' missing from \(result.stderr)")
        }
    }

    func testDownloadSquadChecksEveryFile() throws {
        // Stand-ins under the real names: their sums cannot match, and nothing is kept.
        for name in ["train-v1.1.json", "dev-v1.1.json", "train-v2.0.json", "dev-v2.0.json"] {
            hub.serve(Data("{\"data\": []}".utf8), at: name)
        }
        let output = cache.appendingPathComponent("squad")
        let env = environment.merging(["BERTQA_SQUAD_URL": hub.endpoint + "/files"]) { $1 }
        let result = try CLI.run(["download", "squad", "--output", output.path], environment: env)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("train-v1.1.json arrived corrupted") && result.stderr.contains("dev-v2.0.json arrived corrupted"),
                      result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output.path), [], "nothing kept, not even .incomplete")

        // The real dev set (from ../shared) arrives, passes its sum and is kept under its name.
        guard let dev = Golden.file("squad/dev-v1.1.json") else { return print(Golden.skipMessage("squad/dev-v1.1.json")) }
        hub.serve(try Data(contentsOf: dev), at: "dev-v1.1.json")
        let second = try CLI.run(["download", "squad", "--output", output.path], environment: env)
        XCTAssertNotEqual(second.status, 0, "three stand-ins still fail")
        XCTAssertEqual(second.stdout, output.appendingPathComponent("dev-v1.1.json").path + "\n")
        XCTAssertEqual(try Data(contentsOf: output.appendingPathComponent("dev-v1.1.json")), try Data(contentsOf: dev))
    }
}
