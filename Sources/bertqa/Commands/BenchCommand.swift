import ArgumentParser

/// `bertqa bench ...`: benchmarks (never tests). Each verb prints readable figures, or one
/// JSON object with `--json`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput: tokenizer, SQuAD features, inference, training.",
        subcommands: [
            // Each bench verb lives in its own file: Bench<Name>Command.swift.
            BenchTokenizeCommand.self,
            BenchAnswerCommand.self,
            BenchFeaturesCommand.self,
            BenchInferCommand.self,
            BenchTrainCommand.self,
        ]
    )
}
