import Foundation
import Support

/// One question's v1.1 scores.
public struct QuestionScore: Sendable, Equatable {
    public var id: String
    public var exactMatch: Bool
    public var f1: Double
}

/// `evaluate-v1.1.py`'s result, plus the per-question values behind it.
public struct V1Result: Sendable {
    public var exactMatch: Double
    public var f1: Double
    public var perQuestion: [QuestionScore]
    /// Questions without a prediction (the script warns on stderr and scores them 0).
    public var unanswered: [String]

    /// What the script prints: `{"exact_match": ..., "f1": ...}`.
    public var json: String {
        JSONValue.object([("exact_match", .double(exactMatch)), ("f1", .double(f1))]).pythonText()
    }
}

/// `evaluate-v2.0.py`'s result dict, in its key order.
public struct V2Result: Sendable {
    public var fields: [(String, PyNumber)]

    public subscript(key: String) -> PyNumber? { fields.first { $0.0 == key }?.1 }

    /// What the script prints: `json.dumps(out_eval, indent=2)`.
    public var json: String {
        JSONValue.object(fields.map { (key: $0.0, value: $0.1.json) }).pythonText(indent: 2)
    }
}

/// A no-answer probability file (`--na-prob-file`): in file order, which the best-threshold
/// search depends on, with int/float kept apart as Python does.
public struct NoAnswerProbabilities: Sendable {
    public var entries: [(id: String, probability: PyNumber)]
    public init(entries: [(id: String, probability: PyNumber)]) { self.entries = entries }

    public static func load(_ url: URL) throws(SQuADError) -> NoAnswerProbabilities {
        let fields = JSONFields(file: url.path)
        guard case .object(let members) = try JSONFields.load(url) else {
            throw .wrongType(file: url.path, path: "$", expected: "an object of id → probability", found: "another type", exampleId: nil)
        }
        var entries: [(id: String, probability: PyNumber)] = []
        for (key, value) in members {
            let x = try fields.double(value, at: "$[\(JSONValue.string(key).pythonText())]")
            if case .int(let n) = value {
                entries.append((key, .int(n)))
            } else {
                entries.append((key, .float(x)))
            }
        }
        return NoAnswerProbabilities(entries: entries)
    }
}

/// Reads a predictions file: `{id: answer text}`.
public func loadPredictions(_ url: URL) throws(SQuADError) -> [String: String] {
    let fields = JSONFields(file: url.path)
    guard case .object(let members) = try JSONFields.load(url) else {
        throw .wrongType(file: url.path, path: "$", expected: "an object of id → answer text", found: "another type", exampleId: nil)
    }
    var predictions: [String: String] = [:]
    for (key, value) in members {
        predictions[key] = try fields.string(value, at: "$[\(JSONValue.string(key).pythonText())]")
    }
    return predictions
}

extension SQuADMetrics {
    /// `evaluate-v1.1.py`'s `evaluate(dataset, predictions)`.
    public static func evaluateV1(dataset: SQuADDataset, predictions: [String: String]) throws(SQuADError) -> V1Result {
        var exactCount = 0
        var f1Sum = 0.0
        var perQuestion: [QuestionScore] = []
        var unanswered: [String] = []
        for example in dataset.examples {
            guard let prediction = predictions[example.id] else { unanswered.append(example.id); continue }
            if example.answers.text.isEmpty {
                throw .mismatch("question \(example.id) in \(dataset.path) has no gold answer; score a SQuAD v2 file with --version-2")
            }
            let (exact, f1) = bestV1(prediction: prediction, groundTruths: example.answers.text)
            if exact { exactCount += 1 }
            f1Sum += f1
            perQuestion.append(QuestionScore(id: example.id, exactMatch: exact, f1: f1))
        }
        let total = Double(dataset.examples.count)
        guard total > 0 else { throw .mismatch("\(dataset.path) has no questions") }
        return V1Result(exactMatch: 100.0 * Double(exactCount) / total, f1: 100.0 * f1Sum / total,
                        perQuestion: perQuestion, unanswered: unanswered)
    }

    /// `evaluate-v2.0.py` with an optional no-answer probability file and `--na-prob-thresh`.
    /// - Parameter python312Sum: add up scores as CPython ≥ 3.12's `sum` does (compensated);
    ///   false gives the plain left-to-right sum of older Pythons. The totals can differ in the last bit.
    public static func evaluateV2(dataset: SQuADDataset, predictions: [String: String],
                                  noAnswerProbabilities: NoAnswerProbabilities? = nil,
                                  noAnswerThreshold: Double = 1.0,
                                  python312Sum: Bool = false) throws(SQuADError) -> V2Result {
        // Python dicts keyed by id: a repeated id keeps its first position and its last value.
        var order: [String] = []
        var exactRaw: [String: Int] = [:]
        var f1Raw: [String: PyNumber] = [:]
        var hasAnswer: [String: Bool] = [:]
        var hasAnswerOrder: [String] = []
        for example in dataset.examples {
            if hasAnswer.updateValue(!example.answers.text.isEmpty, forKey: example.id) == nil {
                hasAnswerOrder.append(example.id)
            }
            guard let prediction = predictions[example.id] else {
                throw .missingPrediction(file: "the predictions", exampleId: example.id)
            }
            let (exact, f1) = bestV2(prediction: prediction, answers: example.answers.text)
            if exactRaw.updateValue(exact, forKey: example.id) == nil { order.append(example.id) }
            f1Raw[example.id] = f1
        }
        guard !order.isEmpty else { throw .mismatch("\(dataset.path) has no questions") }

        // na_probs defaults to 0.0 for every prediction.
        var naProb: [String: PyNumber] = [:]
        if let noAnswerProbabilities {
            for e in noAnswerProbabilities.entries { naProb[e.id] = e.probability }
        } else {
            for id in predictions.keys { naProb[id] = .float(0) }
        }
        var exactThresh: [String: PyNumber] = [:]
        var f1Thresh: [String: PyNumber] = [:]
        for id in order {
            guard let p = naProb[id] else { throw .missingPrediction(file: "the no-answer probabilities", exampleId: id) }
            if p.double > noAnswerThreshold {
                let value = PyNumber.float(hasAnswer[id] == true ? 0 : 1)
                exactThresh[id] = value
                f1Thresh[id] = value
            } else {
                exactThresh[id] = .int(exactRaw[id] ?? 0)
                f1Thresh[id] = f1Raw[id] ?? .int(0)
            }
        }

        func evalDict(_ ids: [String]) -> [(String, PyNumber)] {
            func total(_ scores: [String: PyNumber]) -> Double {
                let values = ids.map { scores[$0] ?? .int(0) }
                let sum = python312Sum ? PyNumber.pythonSum(values).double : values.reduce(0.0) { $0 + $1.double }
                return 100.0 * sum / Double(ids.count)
            }
            return [("exact", .float(total(exactThresh))), ("f1", .float(total(f1Thresh))), ("total", .int(ids.count))]
        }
        var fields = evalDict(order)
        let hasIds = hasAnswerOrder.filter { hasAnswer[$0] == true }
        let noIds = hasAnswerOrder.filter { hasAnswer[$0] == false }
        if !hasIds.isEmpty { fields += evalDict(hasIds).map { ("HasAns_" + $0.0, $0.1) } }
        if !noIds.isEmpty { fields += evalDict(noIds).map { ("NoAns_" + $0.0, $0.1) } }

        if let noAnswerProbabilities {
            let exactScores = exactRaw.mapValues { PyNumber.int($0) }
            let (bestExact, exactAt) = bestThreshold(predictions, exactScores, noAnswerProbabilities, hasAnswer, count: order.count)
            let (bestF1, f1At) = bestThreshold(predictions, f1Raw, noAnswerProbabilities, hasAnswer, count: order.count)
            fields += [("best_exact", .float(bestExact)), ("best_exact_thresh", exactAt),
                       ("best_f1", .float(bestF1)), ("best_f1_thresh", f1At)]
        }
        return V2Result(fields: fields)
    }

    /// `find_best_thresh`: walk questions by rising no-answer probability (stable over file
    /// order), answering "" for all below the cut, and keep the best running score.
    static func bestThreshold(_ predictions: [String: String], _ scores: [String: PyNumber],
                              _ probabilities: NoAnswerProbabilities, _ hasAnswer: [String: Bool],
                              count: Int) -> (Double, PyNumber) {
        var current = Double(hasAnswer.values.filter { !$0 }.count)
        var best = current
        var threshold = PyNumber.float(0)
        let sorted = probabilities.entries.enumerated().sorted { a, b in
            a.element.probability.double != b.element.probability.double
                ? a.element.probability.double < b.element.probability.double : a.offset < b.offset
        }
        for (_, entry) in sorted {
            guard let score = scores[entry.id] else { continue }
            if hasAnswer[entry.id] == true {
                current += score.double
            } else if let p = predictions[entry.id], !p.isEmpty {
                current -= 1
            }
            if current > best {
                best = current
                threshold = entry.probability
            }
        }
        return (100.0 * best / Double(count), threshold)
    }
}
