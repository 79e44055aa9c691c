import ArgumentParser
import BERT
import Foundation
import Inference
import SQuAD
import Tokenization
import Training

/// `bertqa demo`: the seed notebook end to end on built-in data, in a few minutes on 2 cores.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fine-tune all-MiniLM-L6-v2 on a built-in SQuAD sample, evaluate it, and answer two questions.",
        discussion: """
        Steps: get the pretrained model (--model, or fetched once into the cache and checked by sha256),
        fine-tune on 528 SQuAD v1.1 train questions (showing the loss fall), score EM/F1 on 240 dev
        questions, then answer "Who developed the theory of relativity?" and "Where is the Eiffel Tower
        located?". SQuAD sample: CC BY-SA 4.0, Rajpurkar et al. 2016.
        """
    )

    @Option(help: "Pretrained model folder or Hub id; default: all-MiniLM-L6-v2 fetched once.") var model: String?
    @OptionGroup var revisionOption: RevisionOption
    @Option(help: "Where the fine-tuned model goes (default: <cache>/demo-model).") var output: String?
    @Option(help: "Cache folder for the pretrained model (default: $BERTQA_CACHE or ~/.cache/bertqa).") var cache: String?
    @Option(parsing: .unconditional, help: "Training epochs.") var epochs = 3
    @Option(parsing: .unconditional, help: "Peak learning rate.") var learningRate = 1e-4
    @Option(parsing: .unconditional, help: "Stop after N optimizer steps (quick smoke runs).") var maxSteps: Int?

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
    }

    func run() throws {
        let say: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let started = Date()
        try CLIError.wrap {
            let cacheURL = cache.map { URL(fileURLWithPath: $0) } ?? ModelFetcher.defaultCache
            say("== 1. pretrained model")
            let modelURL = try model.map { try revisionOption.folder($0) } ?? ModelFetcher(cache: cacheURL, say: say).model()
            guard let trainURL = Bundle.module.url(forResource: "demo-train", withExtension: "json"),
                  let devURL = Bundle.module.url(forResource: "demo-dev", withExtension: "json") else {
                throw CLIError(description: "the built-in SQuAD sample is missing from the bertqa resources")
            }
            let outputURL = output.map { URL(fileURLWithPath: $0) } ?? cacheURL.appendingPathComponent("demo-model")

            say("\n== 2. fine-tuning on the built-in SQuAD sample (loss should fall)")
            var job = FineTuneJob(model: modelURL, trainFile: trainURL, validationFile: devURL, output: outputURL)
            job.options.epochs = epochs
            job.options.learningRate = learningRate
            job.options.warmupRatio = 0.1
            job.options.loggingSteps = 5
            job.stopAfterSteps = maxSteps
            let summary = try FineTune.run(job, say: say)

            say("\n== 3. evaluating on \(240) dev questions (run_qa-style decoding, official SQuAD v1.1 metric)")
            let tokenizer = try Tokenizers.load(directory: outputURL)
            let (fineTuned, _) = try BertInferenceModel.load(from: outputURL)  // packed weights
            let dev = try SQuADDataset.load(devURL)
            let evaluation = try SQuADEvaluator.evaluate(model: fineTuned, tokenizer: tokenizer, dataset: dev)
            say("   \(evaluation.metricsJSON)")

            say("\n== 4. answering the seed's questions")
            let answerer = QuestionAnswerer(tokenizer: tokenizer, model: fineTuned)
            let questions = [
                ("Who developed the theory of relativity?", "Albert Einstein developed the theory of relativity in the early 20th century."),
                ("Where is the Eiffel Tower located?", "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France."),
            ]
            var answered: [String] = []
            for (question, context) in questions {
                let best = try answerer.answer(question: question, context: context).first
                let text = best.map { "\"\($0.answer)\" (score \(String(format: "%.3f", $0.score)), chars \($0.start)–\($0.end))" } ?? "(no answer)"
                say("   Q: \(question)\n   A: \(text)")
                answered.append("\(question) → \(best?.answer ?? "")")
            }

            let losses = summary.evalLossPerEpoch.map { String(format: "%.3f", $0) }.joined(separator: " → ")
            print("""

            bertqa demo summary
              model            \(modelURL.path)
              fine-tuned model \(outputURL.path) (Hugging Face format; try: bertqa answer --model \(outputURL.path) --question ... --context ...)
              training         \(summary.trainFeatures) windows, \(summary.steps) steps in \(String(format: "%.0f", summary.trainSeconds)) s (\(String(format: "%.1f", summary.trainSequencesPerSecond)) windows/s)
              loss             final training loss \(summary.finalTrainLoss.map { String(format: "%.3f", $0) } ?? "-"); validation loss per epoch \(losses)
              loss curve       \(outputURL.appendingPathComponent("loss_curve.svg").path)
              dev EM / F1      \(evaluation.exactMatch.map { String(format: "%.2f", $0) } ?? "-") / \(evaluation.f1.map { String(format: "%.2f", $0) } ?? "-") on \(dev.examples.count) questions
              answers          \(answered.joined(separator: "\n                               "))
              total time       \(String(format: "%.0f", Date().timeIntervalSince(started))) s
            """)
        }
    }
}
