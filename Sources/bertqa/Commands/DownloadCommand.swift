import ArgumentParser
import Foundation
import Hub
import Inference

/// `bertqa download`: a model by Hub id into the Hugging Face cache ahead of time, or the
/// official SQuAD files.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Fetch a model by Hub id into the Hugging Face cache, or the official SQuAD files.",
        discussion: """
        Examples:
          bertqa download deepset/roberta-base-squad2
              the files a model needs (config, tokenizer, weights)
          bertqa download squad --output data
              SQuAD v1.1 and v2.0 train/dev, sha256-checked

        Models go where huggingface_hub puts them (HF_HUB_CACHE, else HF_HOME/hub, else \
        ~/.cache/huggingface/hub), so Python tools and bertqa share one copy; HF_ENDPOINT and \
        HF_TOKEN (or the token file `huggingface-cli login` writes) are honoured. Prints the folder.
        """
    )

    @Argument(help: "A Hub model id (org/name), or `squad`.")
    var what: String

    @OptionGroup var revisionOption: RevisionOption

    @Option(help: "With `squad`: the folder for the files (default: $BERTQA_CACHE/squad or ~/.cache/bertqa/squad).")
    var output: String?

    /// The official files (rajpurkar.github.io/SQuAD-explorer) and their sha256.
    static let squadFiles: [(name: String, sha256: String)] = [
        ("train-v1.1.json", "3527663986b8295af4f7fcdff1ba1ff3f72d07d61a20f487cb238a6ef92fd955"),
        ("dev-v1.1.json", "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9"),
        ("train-v2.0.json", "68dcfbb971bd3e96d5b46c7177b16c1a4e7d4bdef19fb204502738552dede002"),
        ("dev-v2.0.json", "80a5225e94905956a6446d296ca1093975c4d3b3260f1d6c8f68bc2ab77182d8"),
    ]

    func run() throws {
        guard what == "squad" else {
            print(try revisionOption.folder(what).path)
            return
        }
        if revisionOption.revision != nil { throw CLIError(description: "--revision is for Hub ids, not squad") }
        let folder = output.map { URL(fileURLWithPath: $0) } ?? ModelFetcher.defaultCache.appendingPathComponent("squad")
        // BERTQA_SQUAD_URL: a mirror (the tests' loopback server).
        let base = ProcessInfo.processInfo.environment["BERTQA_SQUAD_URL"] ?? "https://rajpurkar.github.io/SQuAD-explorer/dataset"
        let client = HubClient(settings: .fromEnvironment(progress: TerminalProgress.onTerminal()))
        var failed: [String] = []
        for (name, sha256) in Self.squadFiles {
            let destination = folder.appendingPathComponent(name)
            do {
                try client.fetchWaiting(url: base + "/" + name, to: destination, sha256: sha256)
                print(destination.path)
            } catch {
                failed.append("\(error)")
            }
        }
        if !failed.isEmpty { throw CLIError(description: failed.joined(separator: "; ")) }
    }
}
