import Foundation
import Support
import TestSupport
import XCTest

/// `GET /`: the page people ask questions on, tried in a real browser (headless Chromium through
/// chromedriver) as a person would use it: type a question, press Enter, read the highlighted
/// answer. Skips, saying so, where no browser is installed; CI installs one (Debian's
/// `chromium` and `chromium-driver`) so it runs there.
final class WebPageTests: XCTestCase {
    var server: Process!
    var base: URL!

    override func setUpWithError() throws {
        (server, base) = try ServerTests.start(model: CLITestModel.folder())
    }

    override func tearDown() {
        if let server, server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
    }

    func browser() throws -> WebDriver { try WebDriver.headless(trying: "the web page") }

    /// What POST /answer says for this question about the page's own example context.
    func answers(_ question: String, context: String, topK: Int) throws -> [JSONValue] {
        let body = JSONValue.object([("inputs", .object([("question", .string(question)), ("context", .string(context))])),
                                     ("parameters", .object([("top_k", .int(topK))]))])
        let (_, data, _) = try ServerTests.exchange(base: base, "answer", method: "POST", body: Data(body.compactText.utf8)).get()
        guard case .array(let list) = try JSONValue.parse(data) else { throw WebDriver.Failure(description: "not a list") }
        return list
    }

    func testAQuestionTypedInThePageGetsItsAnswerHighlighted() throws {
        let browser = try browser()
        try browser.open(base.appendingPathComponent("/"))
        let context = try XCTUnwrap(browser.execute("return document.getElementById('context').value").stringValue)
        XCTAssertTrue(context.contains("Albert Einstein"), context)
        let question = "Who developed the theory of relativity?"
        // From the keyboard: type, then Enter.
        try browser.type(question + "\u{E007}", into: try browser.element("#question"))
        let shown = try browser.text(try browser.element("#answer"))
        let expected = try answers(question, context: context, topK: 3)
        guard case .string(let best)? = expected.first?["answer"] else { return XCTFail("no answer from the API") }
        XCTAssertEqual(shown, best.isEmpty ? "(no answer in this context)" : best)
        // Highlighted in the context, at the code points the API gave.
        XCTAssertEqual(try browser.text(try browser.element("#highlighted mark")), best.trimmingCharacters(in: .whitespaces))
        let before = try XCTUnwrap(browser.execute(
            "const box = document.getElementById('highlighted'); return box.firstChild.textContent").stringValue)
        XCTAssertEqual(Array(before.unicodeScalars).count, expected.first?["start"].flatMap { $0.number }.map { Int($0) })
        // The score and the time it took, then the alternatives (top_k 3 → two more).
        let status = try browser.text(try browser.element("#status"))
        XCTAssertTrue(status.contains("score ") && status.hasSuffix(" ms"), status)
        let alternatives = try browser.elements("#alternatives button")
        XCTAssertEqual(alternatives.count, expected.count - 1)
        // Choosing an alternative highlights it instead.
        if let second = alternatives.first, case .string(let text)? = expected[1]["answer"] {
            try browser.click(second)
            XCTAssertEqual(try browser.text(try browser.element("#highlighted mark")), text.trimmingCharacters(in: .whitespaces))
        }
    }

    /// With API keys the page asks for one when the server says 401, and sends it (from this
    /// tab only) with the next question.
    func testThePageAsksForTheAPIKey() throws {
        let (keyed, keyedBase) = try ServerTests.start(model: CLITestModel.folder(), environment: ["BERTQA_API_KEYS": "s3cret"])
        defer { keyed.terminate(); keyed.waitUntilExit() }
        let browser = try browser()
        try browser.open(keyedBase.appendingPathComponent("/"))
        let question = try browser.element("#question")
        try browser.type("Who developed the theory of relativity?\u{E007}", into: question)
        var status = ""
        for _ in 0 ..< 300 where !status.hasPrefix("401") {
            status = try browser.text(try browser.element("#status"))
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertTrue(status.hasPrefix("401: ") && status.contains("API key"), status)
        // The key field is shown and focused: type the key, then ask again.
        XCTAssertEqual(try browser.execute("return document.activeElement.id"), .string("apikey"))
        try browser.type("s3cret", into: try browser.element("#apikey"))
        try browser.type("\u{E007}", into: question)
        XCTAssertFalse(try browser.text(try browser.element("#answer")).isEmpty)
    }

    /// On a phone's width the page fits: nothing wider than the screen, the question box usable.
    func testThePageFitsAPhone() throws {
        let phone = try WebDriver.headless(trying: "the web page", width: 360, height: 740)
        try phone.open(base.appendingPathComponent("/"))
        _ = try phone.element("#question")
        let widths = try phone.execute("return [document.documentElement.scrollWidth, window.innerWidth]")
        guard case .array(let pair) = widths, pair.count == 2, let page = pair[0].number, let screen = pair[1].number else {
            return XCTFail("\(widths)")
        }
        XCTAssertLessThanOrEqual(page, screen, "the page scrolls sideways on a 360-pixel screen")
        try phone.type("Who developed the theory of relativity?\u{E007}", into: try phone.element("#question"))
        XCTAssertFalse(try phone.text(try phone.element("#answer")).isEmpty)
    }

    /// A request the server refuses is said on the page (an empty context: 400 and its message).
    func testAnErrorIsShownNotSwallowed() throws {
        let browser = try browser()
        try browser.open(base.appendingPathComponent("/"))
        try browser.clear(try browser.element("#context"))
        try browser.type("Who?\u{E007}", into: try browser.element("#question"))
        let deadline = Date().addingTimeInterval(30)
        var status = ""
        while Date() < deadline {
            status = try browser.text(try browser.element("#status"))
            if status.hasPrefix("400") { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertTrue(status.hasPrefix("400: ") && status.contains("context"), status)
    }
}

/// report.html of `evaluate` and `train`, opened in the same browser: they render, and the
/// numbers they show are the ones the commands wrote as JSON.
final class ReportPageTests: XCTestCase {
    let devSample = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/squad/sample-dev.json").path
    let trainSample = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/squad/sample-train.json").path

    func browser() throws -> WebDriver { try WebDriver.headless(trying: "the reports") }

    func testEvaluationReportShowsTheWrittenMetrics() throws {
        let output = try TinyModel.temporaryFolder("bertqa-report-evaluate")
        let run = try CLI.run(["evaluate", "--model", CLITestModel.folder().path, "--data", devSample, "--limit", "12",
                               "--output", output.path, "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let metrics = try JSONValue.parse(try Data(contentsOf: output.appendingPathComponent("metrics.json")))
        let browser = try browser()
        try browser.open(output.appendingPathComponent("report.html"))
        for key in ["exact_match", "f1"] {
            let shown = try browser.text(try browser.element("[data-metric=\"\(key)\"]"))
            XCTAssertEqual(shown, String(format: "%.2f", try XCTUnwrap(metrics[key]?.number)), key)
        }
        // Every question is in exactly one type, and the worst misses are listed with their contexts.
        let counts = try browser.execute("return [...document.querySelectorAll('#by-type tr')].slice(1).map(r => Number(r.cells[1].textContent))")
        guard case .array(let numbers) = counts else { return XCTFail("no question types") }
        XCTAssertEqual(numbers.compactMap(\.number).reduce(0, +), 12)
        let misses = try browser.elements("#misses tr")
        XCTAssertGreaterThan(misses.count, 1, "no misses listed")
        XCTAssertFalse(try browser.elements("#misses mark.gold, #misses mark.both").isEmpty, "no gold answer highlighted")
    }

    func testTrainingReportShowsTheRun() throws {
        let output = try TinyModel.temporaryFolder("bertqa-report-train")
        let run = try CLI.run(["train", "--model", CLITestModel.folder().path, "--train-file", trainSample, "--output", output.path,
                               "--max-train-samples", "16", "--batch-size", "4", "--max-length", "128", "--stride", "32",
                               "--max-steps", "6", "--logging-steps", "1", "--quiet",
                               "--validation-file", devSample, "--max-eval-samples", "8", "--eval-metrics"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let results = try JSONValue.parse(try Data(contentsOf: output.appendingPathComponent("train_results.json")))
        let browser = try browser()
        try browser.open(output.appendingPathComponent("report.html"))
        XCTAssertEqual(try browser.text(try browser.element("[data-metric=\"steps\"]")), "6")
        XCTAssertEqual(try browser.text(try browser.element("[data-metric=\"final_train_loss\"]")),
                       String(format: "%.4f", try XCTUnwrap(results["final_train_loss"]?.number)))
        // Three charts, the loss one with a line of six points.
        XCTAssertEqual(try browser.elements("svg").count, 3)
        let points = try browser.execute("return document.querySelector('svg polyline').getAttribute('points').trim().split(' ').length")
        XCTAssertEqual(points.number, 6)
        // The last validation, scored: its EM in the summary and in its own section, as
        // train_results.json has it, and its 8 questions by type.
        let shown = try browser.execute("return [...document.querySelectorAll('[data-metric=\"exact_match\"]')].map(e => e.textContent)")
        let expected = String(format: "%.2f", try XCTUnwrap(results["exact_match"]?.number))
        XCTAssertEqual(shown, .array([.string(expected), .string(expected)]))
        let counts = try browser.execute("return [...document.querySelectorAll('#by-type tr')].slice(1).map(r => Number(r.cells[1].textContent))")
        guard case .array(let numbers) = counts else { return XCTFail("no question types") }
        XCTAssertEqual(numbers.compactMap(\.number).reduce(0, +), 8)
    }
}

extension WebDriver {
    /// A headless browser, or a visible skip where none is installed (CI installs one).
    static func headless(trying what: String, width: Int = 1000, height: Int = 900) throws -> WebDriver {
        guard let (driver, browser) = installed() else {
            throw XCTSkip("SKIPPED: no headless browser here (apt-get install chromium chromium-driver): \(what) left untried")
        }
        return try WebDriver(driver: driver, browser: browser, width: width, height: height)
    }
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
}
