// The types post-processing takes and gives: its options (utils_qa.py's arguments), the n-best
// entries, each example's prediction and the whole result.
import Foundation
import Support

/// Settings of `postprocess_qa_predictions` (HF `utils_qa.py`).
public struct PostProcessOptions: Sendable, Equatable {
    /// SQuAD v2: the null answer ("") competes with the spans.
    public var versionTwo: Bool
    public var nBestSize: Int
    public var maxAnswerLength: Int
    /// v2: predict "" when null score − best span score exceeds this.
    /// A Python float: numpy compares the float32 difference against it in double precision.
    public var nullScoreDiffThreshold: Double

    public init(versionTwo: Bool = false, nBestSize: Int = 20, maxAnswerLength: Int = 30,
                nullScoreDiffThreshold: Double = 0) {
        self.versionTwo = versionTwo
        self.nBestSize = nBestSize
        self.maxAnswerLength = maxAnswerLength
        self.nullScoreDiffThreshold = nullScoreDiffThreshold
    }
}

/// One n-best candidate. Scores are float32 sums, as numpy computes them on float32 logits.
public struct NBestEntry: Sendable, Equatable {
    public var text: String
    public var startLogit: Float
    public var endLogit: Float
    public var probability: Float
    /// The placeholder HF inserts when no span survived (`{"text": "empty", ...}`).
    public var isPlaceholder: Bool = false
    /// Where `text` is in the context, in code points (nil for the placeholder and the null
    /// answer); not in HF's files, for reports that highlight it.
    public var characters: Range<Int>? = nil

    public init(text: String, startLogit: Float, endLogit: Float, probability: Float, isPlaceholder: Bool = false,
                characters: Range<Int>? = nil) {
        self.text = text
        self.startLogit = startLogit
        self.endLogit = endLogit
        self.probability = probability
        self.isPlaceholder = isPlaceholder
        self.characters = characters
    }
}

/// The answer to one question.
public struct ExamplePrediction: Sendable, Equatable {
    public var id: String
    public var text: String
    public var nBest: [NBestEntry]
    /// v2 only: null score − best span score (`null_odds.json`).
    public var nullOdds: Float?

    public init(id: String, text: String, nBest: [NBestEntry], nullOdds: Float? = nil) {
        self.id = id
        self.text = text
        self.nBest = nBest
        self.nullOdds = nullOdds
    }
}

/// Answers for a whole dataset, in example order, with the three files HF writes.
public struct PostProcessResult: Sendable {
    public var predictions: [ExamplePrediction]

    /// `predictions.json`: id → answer text (the official scripts' input).
    public var predictionsJSON: String {
        JSONValue.object(predictions.map { (key: $0.id, value: .string($0.text)) }).pythonText(indent: 4) + "\n"
    }

    /// `nbest_predictions.json`, keys in HF's order.
    public var nBestJSON: String {
        typealias Member = (key: String, value: JSONValue)
        let members: [Member] = predictions.map { p in
            (p.id, .array(p.nBest.map { e in
                let logits: [Member] = [
                    ("start_logit", .double(Double(e.startLogit))), ("end_logit", .double(Double(e.endLogit)))]
                let text: Member = ("text", .string(e.text))
                let probability: Member = ("probability", .double(Double(e.probability)))
                return .object(e.isPlaceholder ? [text] + logits + [probability] : logits + [text, probability])
            }))
        }
        return JSONValue.object(members).pythonText(indent: 4) + "\n"
    }

    /// `null_odds.json` (v2 only; empty object otherwise).
    public var nullOddsJSON: String {
        let members = predictions.compactMap { p in p.nullOdds.map { (key: p.id, value: JSONValue.double(Double($0))) } }
        return JSONValue.object(members).pythonText(indent: 4) + "\n"
    }

    /// Writes predictions.json, nbest_predictions.json and (v2) null_odds.json into `directory`.
    public func write(to directory: URL, versionTwo: Bool) throws(SQuADError) {
        var files = [("predictions.json", predictionsJSON), ("nbest_predictions.json", nBestJSON)]
        if versionTwo { files.append(("null_odds.json", nullOddsJSON)) }
        for (name, text) in files {
            let url = directory.appendingPathComponent(name)
            do {
                try Data(text.utf8).write(to: url, options: .atomic)  // never half a file
            } catch {
                throw .unreadableFile(path: url.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
    }
}
