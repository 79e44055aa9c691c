import Foundation
import Support
#if canImport(Glibc)
import Glibc
#endif

/// Training output for people and programs: a readable line per log step (stderr), the same
/// as JSON lines in `<output>/training_log.jsonl`, a progress bar with ETA when stderr is a
/// terminal, and `<output>/loss_curve.svg` redrawn at every logged point.
final class TrainingLog {
    private(set) var history: [LogEntry] = []
    private let jsonl: URL
    private let curve: URL
    private let terminal = isatty(2) == 1
    private var progressShown = false
    /// Step lines and the progress bar on stderr; off, only the files are written.
    var echo = true
    /// Whether training_log.jsonl and loss_curve.svg are written (rank 0 only).
    var writesFiles = true

    init(output: URL) throws {
        jsonl = output.appendingPathComponent("training_log.jsonl")
        curve = output.appendingPathComponent("loss_curve.svg")
    }

    func restore(_ entries: [LogEntry]) {
        history = entries
        // Rewrite the JSON lines so they match the resumed history exactly.
        let lines = entries.map { Self.json($0) }.joined()
        if writesFiles { try? Data(lines.utf8).write(to: jsonl) }
    }

    func record(_ entry: LogEntry, totalSteps: Int, eta: Double?) {
        // A fresh run's first line starts the file anew: an earlier run's lines (an output folder
        // trained into again with --overwrite-output-dir) must not stay above it. A resumed run's
        // history was restored first, so it is not empty here.
        if history.isEmpty && writesFiles {
            _ = FileManager.default.createFile(atPath: jsonl.path, contents: nil)
        }
        history.append(entry)
        clearProgress()
        var text = String(format: "step %d/%d  epoch %.2f", entry.step, totalSteps, entry.epoch)
        if let loss = entry.loss { text += String(format: "  loss %.4f", loss) }
        if let lr = entry.learningRate { text += String(format: "  lr %.3e", lr) }
        if let g = entry.gradNorm { text += String(format: "  grad-norm %.3f", g) }
        if let s = entry.sequencesPerSecond { text += String(format: "  %.2f seq/s", s) }
        if let e = entry.evalLoss { text += String(format: "  validation loss %.4f", e) }
        if let eta { text += "  ETA " + Self.clock(eta) }
        line(text)
        guard writesFiles else { return }
        if let handle = try? FileHandle(forWritingTo: jsonl) {
            handle.seekToEndOfFile()
            handle.write(Data(Self.json(entry).utf8))
            try? handle.close()
        }
        var plot = LossCurve()
        plot.training = history.compactMap { e in e.loss.map { (e.step, $0) } }
        plot.validation = history.compactMap { e in e.evalLoss.map { (e.step, $0) } }
        try? Data(plot.svg().utf8).write(to: curve, options: .atomic)
    }

    func progress(step: Int, totalSteps: Int, eta: Double) {
        guard terminal, echo else { return }
        let width = 30
        let done = totalSteps > 0 ? width * step / totalSteps : 0
        let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
        FileHandle.standardError.write(Data("\r[\(bar)] \(step)/\(totalSteps)  ETA \(Self.clock(eta))   ".utf8))
        progressShown = true
    }

    func line(_ text: String) {
        clearProgress()
        guard echo else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func finish() { clearProgress() }

    private func clearProgress() {
        if progressShown {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            progressShown = false
        }
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    static func json(_ entry: LogEntry) -> String {
        // A LogEntry has nothing without a JSON form, so encoding cannot fail.
        ((try? JSONValueEncoder.encode(entry)) ?? .object([])).compactText + "\n"
    }
}
