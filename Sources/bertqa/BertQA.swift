import ArgumentParser
import Foundation

/// The `bertqa` command line: one `ParsableCommand` per verb.
@main
struct BertQA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bertqa",
        abstract: "Extractive question answering with BERT models: tokenize, train, evaluate, answer.",
        subcommands: [
            DemoCommand.self,
            AnswerCommand.self,
            EvaluateCommand.self,
            TrainCommand.self,
            ServeCommand.self,
            TokenizeCommand.self,
            ScoreCommand.self,
            BenchCommand.self,
            DownloadCommand.self,
        ]
    )
}
