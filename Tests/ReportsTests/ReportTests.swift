import Foundation
import Reports
import SQuAD
import Support
import XCTest

/// report.html's numbers and marks: per-question scores that average to the official metric,
/// question types, highlights at the right characters, and text that cannot break the page.
final class ReportTests: XCTestCase {
    static func example(_ id: String, _ question: String, _ context: String, _ answer: String) -> SQuADExample {
        let start = context.range(of: answer).map { context.unicodeScalars.distance(from: context.unicodeScalars.startIndex, to: $0.lowerBound) } ?? -1
        return SQuADExample(id: id, title: "t", context: context, question: question,
                            answers: Answers(text: answer.isEmpty ? [] : [answer], answerStart: answer.isEmpty ? [] : [start]))
    }

    static func prediction(_ id: String, _ text: String, at characters: Range<Int>?) -> ExamplePrediction {
        ExamplePrediction(id: id, text: text, nBest: [NBestEntry(text: text, startLogit: 1, endLogit: 1, probability: 1, characters: characters)])
    }

    func testQuestionTypes() {
        let cases = ["What is it?": "what", "In which year did it end?": "which", "Whose idea was it?": "who",
                     "How many people came?": "how many", "How much did it cost?": "how much", "How did it end?": "how",
                     "When?": "when", "The name of the river?": "other", "By whom was it built?": "who"]
        for (question, type) in cases { XCTAssertEqual(EvaluationReport.questionType(question), type, question) }
    }

    func testScoresAverageToTheOfficialMetricAndMarksAreWhereTheSpansAre() throws {
        let context = "Albert Einstein developed relativity in 1905 <b>in Bern</b>."
        let examples = [Self.example("a", "Who developed relativity?", context, "Albert Einstein"),
                        Self.example("b", "When was it developed?", context, "1905"),
                        Self.example("c", "Where <script>?", context, "Bern")]
        // a: right; b: wrong ("relativity"); c: partly ("in Bern").
        let predictions = [Self.prediction("a", "Albert Einstein", at: 0 ..< 15), Self.prediction("b", "relativity", at: 26 ..< 36),
                           Self.prediction("c", "in Bern", at: 48 ..< 55)]
        let dataset = SQuADDataset(path: "x", version: "1.1", examples: examples)
        let official = try SQuADMetrics.evaluateV1(dataset: dataset, predictions: Dictionary(uniqueKeysWithValues: predictions.map { ($0.id, $0.text) }))
        let report = EvaluationReport(title: "t", details: [], metrics: try JSONValue.parse(Data(official.json.utf8)),
                                      examples: examples, predictions: predictions, versionTwo: false)
        let scores = report.scored()
        XCTAssertEqual(100 * scores.map(\.exact).reduce(0, +) / 3, official.exactMatch, accuracy: 1e-9)
        XCTAssertEqual(100 * scores.map(\.f1).reduce(0, +) / 3, official.f1, accuracy: 1e-9)
        let html = report.html()
        // The worst miss first: b (F1 0), with the gold and the prediction marked apart.
        let misses = try XCTUnwrap(html.range(of: "<table id=\"misses\">")).upperBound
        let rows = html[misses...]
        XCTAssertTrue(rows.contains("<mark class=\"pred\">relativity</mark>"))
        XCTAssertTrue(rows.contains("<mark class=\"gold\">1905</mark>"))
        // c: the prediction covers the gold answer: "in " predicted only, "Bern" both.
        XCTAssertTrue(rows.contains("<mark class=\"pred\">in </mark><mark class=\"both\">Bern</mark>"), String(rows))
        XCTAssertLessThan(try XCTUnwrap(rows.range(of: "When was it")).lowerBound, try XCTUnwrap(rows.range(of: "Where &lt;script&gt;?")).lowerBound)
        // No text from the data reaches the page unescaped.
        XCTAssertFalse(html.contains("<script>") || html.contains("<b>in"), "unescaped text")
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the page refers elsewhere")
    }

    func testVersionTwoScoresUnanswerableQuestions() throws {
        let context = "The Eiffel Tower is in Paris."
        let examples = [Self.example("a", "Where is the tower?", context, "Paris"), Self.example("b", "Who built the moon?", context, "")]
        let report = EvaluationReport(title: "t", details: [], metrics: .object([]), examples: examples,
                                      predictions: [Self.prediction("a", "Paris", at: 23 ..< 28), Self.prediction("b", "", at: nil)],
                                      versionTwo: true)
        XCTAssertEqual(report.scored().map(\.exact), [1, 1])
        let wrong = EvaluationReport(title: "t", details: [], metrics: .object([]), examples: examples,
                                     predictions: [Self.prediction("a", "", at: nil), Self.prediction("b", "Paris", at: 23 ..< 28)],
                                     versionTwo: true)
        XCTAssertEqual(wrong.scored().map(\.exact), [0, 0])
    }

    func testTrainingReportReadsTheLog() throws {
        let log = [#"{"step":1,"epoch":0.5,"loss":5.0,"learning_rate":2e-05,"sequences_per_second":3.0,"elapsed_seconds":1}"#,
                   #"{"step":2,"epoch":1.0,"loss":4.0,"learning_rate":1e-05,"sequences_per_second":3.5,"elapsed_seconds":2}"#,
                   #"{"step":2,"epoch":1.0,"eval_loss":4.5,"elapsed_seconds":2.5}"#].map { try! JSONValue.parse(Data($0.utf8)) }
        let report = TrainingReport(title: "run <1>", details: [], log: log,
                                    results: .object([("train_seconds", .double(2.5)), ("peak_rss_megabytes", .double(300))]))
        let html = report.html()
        XCTAssertTrue(html.contains("<title>run &lt;1&gt;</title>"))
        XCTAssertTrue(html.contains("data-metric=\"steps\">2<"))
        XCTAssertTrue(html.contains("data-metric=\"final_train_loss\">4.0000<"))
        XCTAssertTrue(html.contains("data-metric=\"final_eval_loss\">4.5000<"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3)
        XCTAssertEqual(html.components(separatedBy: "<circle").count - 1, 1, "one validation point")
    }
}
