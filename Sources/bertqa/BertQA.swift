import ArgumentParser
import Foundation

/// The `bertqa` command line: one `ParsableCommand` per verb.
@main
struct BertQA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bertqa",
        abstract: "Extractive question answering with BERT models: tokenize, train, evaluate, answer.",
        subcommands: [
            TokenizeCommand.self,
            ScoreCommand.self,
            BenchCommand.self,
        ]
    )
}
