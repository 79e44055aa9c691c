import ArgumentParser
import Foundation
import Kernels

/// The `bertqa` command line: one `ParsableCommand` per verb.
@main
struct BertQA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bertqa",
        abstract: "Extractive question answering with BERT models: tokenize, train, evaluate, answer.",
        version: BertQA.versionText,
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

    /// `bertqa --version`: the release, and the code paths this CPU gets (chosen at run time by
    /// oneDNN; our kernels' as built), so a report names what ran.
    static let version = "0.1.0"
    static var versionText: String {
        "bertqa \(version)\n\(GEMM.library); \(GEMM.instructionSets)\nCPU: \(HostCPU.current.description)"
    }
}
