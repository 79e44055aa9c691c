import ArgumentParser
import Dispatch
import Foundation
import SQuAD
import Tokenization

/// `bertqa bench features`: training features of a train file plus evaluation features of a
/// dev file (the seed's and run_qa's preprocessing), timed end to end after loading.
struct BenchFeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "SQuAD feature building throughput: training windows of --train and evaluation windows of --dev.",
        usage: "bertqa bench features --model <folder-or-hub-id> --train <squad.json>\n--dev <squad.json> [<options>]"
    )

    @OptionGroup var modelOption: ModelOption

    @Option(help: "SQuAD file whose questions become training features.")
    var train: String

    @Option(help: "SQuAD file whose questions become evaluation features.")
    var dev: String

    @Option(parsing: .unconditional, help: "Timed passes (the best is reported).")
    var repeats: Int = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let (builder, trainSet, devSet) = try CLIError.wrap {
            (FeatureBuilder(tokenizer: try Tokenizers.load(directory: modelOption.folder())),
             try SQuADDataset.load(URL(fileURLWithPath: train)),
             try SQuADDataset.load(URL(fileURLWithPath: dev)))
        }
        let loadSeconds = Self.seconds(since: loadStart)
        var trainCount = 0, devCount = 0
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            let (t, d) = try CLIError.wrap {
                (try builder.trainingFeatures(trainSet.examples), try builder.evaluationFeatures(devSet.examples))
            }
            best = min(best, Self.seconds(since: start))
            trainCount = t.count
            devCount = d.count
        }
        let questions = trainSet.examples.count + devSet.examples.count
        let features = trainCount + devCount
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if json {
            print("{\"questions\":\(questions),\"features\":\(features),\"train_features\":\(trainCount),"
                + "\"dev_features\":\(devCount),\"cores\":\(cores),\"load_seconds\":\(String(format: "%.3f", loadSeconds)),"
                + "\"seconds\":\(String(format: "%.3f", best)),\"features_per_second\":\(Int(Double(features) / best))}")
        } else {
            print("\(questions) questions → \(features) features (train \(trainCount), dev \(devCount)) on \(cores) cores")
            print(String(format: "features: %.3f s, %.0f features/s (best of %d); loading JSON + tokenizer: %.3f s",
                         best, Double(features) / best, repeats, loadSeconds))
        }
    }

    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
