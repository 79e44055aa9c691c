import Foundation
import Support

/// `report.html` of `bertqa train`: the training and validation loss, the learning rate and
/// the throughput over the run, and the run's results (train_results.json), from the run's
/// log history (a resumed run's includes the steps before it resumed).
public struct TrainingReport {
    public var title: String
    public var details: [(String, String)]
    /// The run's log entries, in order, as training_log.jsonl has them.
    public var log: [JSONValue]
    /// train_results.json.
    public var results: JSONValue?
    /// The validation set scored after the last epoch (`--eval-metrics`), shown by question type
    /// and with its worst misses.
    public var evaluation: EvaluationReport?

    public init(title: String, details: [(String, String)], log: [JSONValue], results: JSONValue?) {
        self.title = title
        self.details = details
        self.log = log
        self.results = results
    }

    /// (step, value) of every log line that has `key`.
    func points(_ key: String) -> [(x: Double, y: Double)] {
        log.compactMap { line in
            guard let step = line["step"]?.number, let value = line[key]?.number else { return nil }
            return (step, value)
        }
    }

    public func html() -> String {
        var body = "<h1>\(HTMLPage.escape(title))</h1>\n"
        body += HTMLPage.facts(details.map { ($0.0, HTMLPage.escape($0.1)) }, id: "details")
        let losses = points("loss"), validation = points("eval_loss")
        body += "<h2>Summary</h2>\n<div class=\"cards\" id=\"summary\">\n"
        var cards: [(String, String, String)] = []
        if let last = log.last(where: { $0["step"] != nil }), let step = last["step"]?.number {
            cards.append(("steps", "steps", String(Int(step))))
        }
        if let loss = losses.last?.y { cards.append(("final training loss", "final_train_loss", String(format: "%.4f", loss))) }
        if let loss = validation.last?.y { cards.append(("final validation loss", "final_eval_loss", String(format: "%.4f", loss))) }
        for key in ["exact_match", "f1"] {
            if let value = results?[key]?.number { cards.append((key == "f1" ? "F1" : "exact match", key, String(format: "%.2f", value))) }
        }
        if let rate = results?["train_sequences_per_second"]?.number {
            cards.append(("windows per second", "train_sequences_per_second", String(format: "%.2f", rate)))
        }
        if let seconds = results?["train_seconds"]?.number { cards.append(("training time", "train_seconds", Self.clock(seconds))) }
        if let rss = results?["peak_rss_megabytes"]?.number { cards.append(("peak memory", "peak_rss_megabytes", String(format: "%.0f MB", rss))) }
        for (label, key, value) in cards {
            body += "<div class=\"card\"><div class=\"muted\">\(HTMLPage.escape(label))</div><div class=\"big\" data-metric=\"\(key)\">\(HTMLPage.escape(value))</div></div>\n"
        }
        body += "</div>\n"
        body += "<h2>Loss</h2>\n" + LineChart(title: "Loss", xLabel: "optimizer step", yLabel: "loss", series: [
            .init(name: "training loss", points: losses, color: "#1f77b4"),
            .init(name: "validation loss", points: validation, color: "#d62728", dots: true),
        ]).svg()
        body += "<h2>Learning rate</h2>\n" + LineChart(title: "Learning rate", xLabel: "optimizer step", yLabel: "learning rate",
                                                       series: [.init(name: "learning rate", points: points("learning_rate"), color: "#2ca02c")]).svg()
        body += "<h2>Throughput</h2>\n" + LineChart(title: "Throughput", xLabel: "optimizer step", yLabel: "windows per second",
                                                    series: [.init(name: "windows per second", points: points("sequences_per_second"), color: "#9467bd")]).svg()
        if case .object(let members)? = results {
            body += "<h2>Results (train_results.json)</h2>\n"
            body += HTMLPage.facts(members.map { member in
                let value: String
                switch member.value {
                case .string(let text): value = text
                case let other: value = other.number.map { String(format: "%g", $0) } ?? other.compactText
                }
                return (member.key, HTMLPage.escape(value))
            },
                                   id: "results")
        }
        if let evaluation {
            body += "<h2>Validation after the last epoch</h2>\n" + evaluation.sections(heading: 3)
        }
        return HTMLPage.document(title: title, body: body)
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d h %02d min", s / 3600, s % 3600 / 60)
            : s >= 60 ? String(format: "%d min %02d s", s / 60, s % 60) : String(format: "%.1f s", seconds)
    }
}
