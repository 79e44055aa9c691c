import ArgumentParser
import Foundation
import SQuAD

/// `bertqa score`: the official SQuAD evaluation scripts (v1.1 and v2.0), same JSON out.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score predictions against a SQuAD file, printing what evaluate-v1.1.py / evaluate-v2.0.py print.",
        usage: "bertqa score --data <squad.json> --predictions <predictions.json>\n[<options>]",
        discussion: """
        v1.1 prints {"exact_match", "f1"}; v2.0 prints exact, f1, total, HasAns_*, NoAns_* and, with \
        --na-prob, best_exact/best_f1 and their thresholds. v2.0 is used when the file's version \
        says so, when a question has no answer, or with --version-2. As the official scripts do, \
        every question of --data counts, a question without a prediction scoring 0; --only-predicted \
        scores just the questions the predictions answer (e.g. those of `evaluate --limit N`), and \
        says how many of the file's that is.
        """
    )

    @Option(help: "SQuAD JSON file with the gold answers.")
    var data: String

    @Option(help: "Predictions JSON: {question id: answer text}.")
    var predictions: String

    @Option(name: .customLong("na-prob"), help: "v2.0: no-answer probabilities JSON {question id: probability}.")
    var naProb: String?

    @Option(name: .customLong("na-prob-thresh"), parsing: .unconditional, help: "v2.0: predict \"\" when the no-answer probability exceeds this.")
    var naProbThresh: Double = 1.0

    @Flag(name: .customLong("version-2"), help: "Score with the SQuAD v2.0 script whatever the file says.")
    var version2 = false

    @Flag(help: "Score only the questions that have a prediction (the official scripts score every question).")
    var onlyPredicted = false

    @OptionGroup var verbosity: VerbosityOptions

    private func say(_ line: String) { Console.say(line) }

    func run() throws {
        verbosity.apply()
        let output = try CLIError.wrap { () throws -> String in
            var dataset = try SQuADDataset.load(URL(fileURLWithPath: data))
            let answers = try loadPredictions(URL(fileURLWithPath: predictions))
            if onlyPredicted {
                let questions = dataset.examples.count
                dataset = dataset.only(ids: Set(answers.keys))
                say("scored \(dataset.examples.count) of the \(questions) questions in \(data): those with a prediction (--only-predicted)")
                if dataset.examples.isEmpty {
                    throw CLIError(description: "none of the \(answers.count) predictions in \(predictions) is for a question of \(data)")
                }
            }
            if version2 || naProb != nil || dataset.isVersion2 {
                let probabilities = try naProb.map { try NoAnswerProbabilities.load(URL(fileURLWithPath: $0)) }
                return try SQuADMetrics.evaluateV2(dataset: dataset, predictions: answers,
                                                   noAnswerProbabilities: probabilities,
                                                   noAnswerThreshold: naProbThresh).json
            }
            let result = try SQuADMetrics.evaluateV1(dataset: dataset, predictions: answers)
            // The official script warns about each unanswered question on stderr.
            for id in result.unanswered { say("Unanswered question \(id) will receive score 0.") }
            if result.unanswered.count > 1 {
                say("\(result.unanswered.count) of the \(dataset.examples.count) questions have no prediction and scored 0; --only-predicted scores only the predicted ones")
            }
            return result.json
        }
        print(output)
    }
}
