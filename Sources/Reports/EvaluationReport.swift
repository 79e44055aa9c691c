import Foundation
import SQuAD
import Support

/// `report.html` of `bertqa evaluate`: the official metrics, exact match and F1 by question
/// type (what, who, when, how many, …), and the worst misses with their context, the gold
/// answers and the prediction highlighted in it.
public struct EvaluationReport {
    public var title: String
    /// Label/value lines shown first (model, data, questions, time, CPU, version).
    public var details: [(String, String)]
    /// The official script's result (evaluate-v1.1.py's or evaluate-v2.0.py's dict).
    public var metrics: JSONValue
    public var examples: [SQuADExample]
    public var predictions: [ExamplePrediction]
    public var versionTwo: Bool
    /// How many of the worst misses to show.
    public var misses = 25

    public init(title: String, details: [(String, String)], metrics: JSONValue, examples: [SQuADExample],
                predictions: [ExamplePrediction], versionTwo: Bool) {
        self.title = title
        self.details = details
        self.metrics = metrics
        self.examples = examples
        self.predictions = predictions
        self.versionTwo = versionTwo
    }

    /// One question's score as the official scripts compute it: the best over its gold answers
    /// (v2: an unanswerable question's only gold answer is "").
    public struct Scored: Sendable {
        public var example: SQuADExample
        public var prediction: ExamplePrediction?
        public var exact: Double
        public var f1: Double
    }

    public func scored() -> [Scored] {
        let byID = Dictionary(predictions.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        return examples.map { example in
            let prediction = byID[example.id]
            let text = prediction?.text ?? ""
            var exact = 0.0, f1 = 0.0
            if versionTwo {
                let best = SQuADMetrics.bestV2(prediction: text, answers: example.answers.text)
                (exact, f1) = (Double(best.exact), best.f1.double)
            } else if prediction != nil {
                let best = SQuADMetrics.bestV1(prediction: text, groundTruths: example.answers.text)
                (exact, f1) = (best.exact ? 1 : 0, best.f1)
            }
            return Scored(example: example, prediction: prediction, exact: exact, f1: f1)
        }
    }

    /// The question's type: its first question word ("how many" and "how much" apart from
    /// other "how"s), or "other".
    public static func questionType(_ question: String) -> String {
        let words = question.lowercased().split { !$0.isLetter }.map(String.init)
        for (i, word) in words.enumerated() {
            switch word {
            case "what", "which", "who", "when", "where", "why": return word
            case "whom", "whose": return "who"
            case "how":
                if i + 1 < words.count, ["many", "much"].contains(words[i + 1]) { return "how " + words[i + 1] }
                return "how"
            default: continue
            }
        }
        return "other"
    }

    public func html() -> String {
        var body = "<h1>\(HTMLPage.escape(title))</h1>\n"
        body += HTMLPage.facts(details.map { ($0.0, HTMLPage.escape($0.1)) }, id: "details")
        return HTMLPage.document(title: title, body: body + sections())
    }

    /// The metrics, the table by question type and the worst misses (`heading`: the level of
    /// their headings, lower inside another report).
    public func sections(heading: Int = 2) -> String {
        let scores = scored()
        let (h, hEnd) = ("<h\(heading)>", "</h\(heading)>")
        var body = "\(h)Official metrics\(hEnd)\n<div class=\"cards\" id=\"overall\">\n"
        if case .object(let members) = metrics {
            for (key, value) in members {
                let shown = value.number.map { String(format: "%.2f", $0) } ?? HTMLPage.escape(value.compactText)
                body += "<div class=\"card\"><div class=\"muted\">\(HTMLPage.escape(key))</div><div class=\"big\" data-metric=\"\(HTMLPage.escape(key))\">\(shown)</div></div>\n"
            }
        }
        body += "</div>\n"

        body += "\(h)By question type\(hEnd)\n<table id=\"by-type\">\n<tr><th>type</th><th class=\"n\">questions</th><th class=\"n\">exact match</th><th class=\"n\">F1</th></tr>\n"
        var groups: [String: [Scored]] = [:]
        for s in scores { groups[Self.questionType(s.example.question), default: []].append(s) }
        for (type, members) in groups.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
            let n = Double(members.count)
            body += String(format: "<tr><td>%@</td><td class=\"n\">%d</td><td class=\"n\">%.2f</td><td class=\"n\">%.2f</td></tr>\n",
                           HTMLPage.escape(type), members.count, 100 * members.reduce(0) { $0 + $1.exact } / n,
                           100 * members.reduce(0) { $0 + $1.f1 } / n)
        }
        body += "</table>\n"

        let worst = scores.enumerated().filter { $0.element.f1 < 1 }
            .sorted { ($0.element.f1, $0.offset) < ($1.element.f1, $1.offset) }.prefix(misses).map(\.element)
        body += "\(h)Worst misses\(hEnd)\n"
        body += "<p class=\"muted key\">The \(worst.count) lowest-F1 questions, in the context: <mark class=\"gold\">gold answer</mark> <mark class=\"pred\">prediction</mark> <mark class=\"both\">both</mark></p>\n"
        body += "<table id=\"misses\">\n<tr><th>question</th><th>gold</th><th>prediction</th><th class=\"n\">F1</th><th>context</th></tr>\n"
        for s in worst {
            let predicted = s.prediction?.text ?? ""
            body += "<tr><td>\(HTMLPage.escape(s.example.question))</td>"
            // Each gold text once (annotators often agree).
            var golds: [String] = []
            for text in s.example.answers.text where !golds.contains(text) { golds.append(text) }
            body += "<td>\(golds.isEmpty ? "<span class=\"muted\">(no answer)</span>" : golds.map(HTMLPage.escape).joined(separator: "<br>"))</td>"
            body += "<td class=\"prediction\">\(predicted.isEmpty ? "<span class=\"muted\">(no answer)</span>" : HTMLPage.escape(predicted))</td>"
            body += String(format: "<td class=\"n\">%.2f</td>", 100 * s.f1)
            body += "<td class=\"context\">\(Self.highlighted(s))</td></tr>\n"
        }
        body += "</table>\n"
        return body
    }

    /// The context around the gold answers and the prediction (whole when short), each marked.
    static func highlighted(_ s: Scored) -> String {
        let context = Array(s.example.context.unicodeScalars)
        var gold = [Bool](repeating: false, count: context.count), pred = gold
        for (text, start) in zip(s.example.answers.text, s.example.answers.answerStart) {
            let length = text.unicodeScalars.count
            guard start >= 0, start + length <= context.count else { continue }
            for i in start ..< start + length { gold[i] = true }
        }
        if let prediction = s.prediction, let span = prediction.nBest.first(where: { $0.text == prediction.text && !$0.isPlaceholder })?.characters {
            for i in span where i < context.count { pred[i] = true }
        }
        let marked = context.indices.filter { gold[$0] || pred[$0] }
        let (from, to) = marked.isEmpty ? (0, min(context.count, 400))
            : (max(0, marked.first! - 200), min(context.count, marked.last! + 200))
        var out = from > 0 ? "…" : ""
        var i = from
        while i < to {
            let kind = gold[i] && pred[i] ? "both" : gold[i] ? "gold" : pred[i] ? "pred" : ""
            var j = i
            while j < to, (gold[j] && pred[j] ? "both" : gold[j] ? "gold" : pred[j] ? "pred" : "") == kind { j += 1 }
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: context[i ..< j])
            let text = HTMLPage.escape(String(piece))
            out += kind.isEmpty ? text : "<mark class=\"\(kind)\">\(text)</mark>"
            i = j
        }
        return out + (to < context.count ? "…" : "")
    }
}
