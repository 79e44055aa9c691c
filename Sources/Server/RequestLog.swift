import Foundation
import Logging
import Support

/// How `bertqa serve` writes its logs on stderr: one line per event, text for people or JSON
/// for log collectors.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// What a request did on its way through the server, gathered for its log line: set by the
/// route that answers it and by the batcher, read by the middleware once the response is made.
/// Found through a task-local value, so the handlers below need no extra parameter.
final class RequestNotes: @unchecked Sendable {
    @TaskLocal static var current: RequestNotes?

    private let lock = NSLock()
    private var _questions = 0
    private var _windows = 0
    private var _passes = 0
    private var _passWindows = 0
    private var _bodies: [(question: String, context: String)] = []

    func request(questions: Int, windows: Int, bodies: [(question: String, context: String)]) {
        lock.withLock { (_questions, _windows, _bodies) = (questions, windows, bodies) }
    }

    /// The request had windows in a pass of `windows` windows (its own and others').
    func pass(windows: Int) {
        lock.withLock { _passes += 1; _passWindows += windows }
    }

    /// The log line's fields about the model's work (none for requests that did not ask it).
    func metadata(withBodies: Bool) -> Logger.Metadata {
        lock.withLock {
            var metadata: Logger.Metadata = [:]
            guard _questions > 0 else { return metadata }
            metadata["questions"] = .stringConvertible(_questions)
            metadata["windows"] = .stringConvertible(_windows)
            metadata["passes"] = .stringConvertible(_passes)
            if _passes > 0 {
                // The batch size the request saw: windows per pass it was in, on average.
                metadata["batch_windows"] = .stringConvertible(Int((Double(_passWindows) / Double(_passes)).rounded()))
            }
            if withBodies {
                metadata["question"] = .array(_bodies.map { .string($0.question) })
                metadata["context"] = .array(_bodies.map { .string($0.context) })
            }
            return metadata
        }
    }
}

/// A swift-log handler writing one line per event on stderr, as text or JSON.
/// Fields come in a fixed order (the request's identity, then what it cost), so lines diff and
/// grep well. swift-log ships a text handler only; this one writes both formats the same way.
struct LineLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .info
    let label: String
    let format: LogFormat

    static let leading = ["request_id", "method", "route", "status", "latency_ms", "questions", "windows", "passes", "batch_windows"]

    init(label: String, format: LogFormat) {
        self.label = label
        self.format = format
    }

    private func write(_ line: String) {
        FileHandle.standardError.write(Data(line.utf8))
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let given = event.metadata { fields.merge(given) { $1 } }
        let keys = Self.leading.filter { fields[$0] != nil } + fields.keys.filter { !Self.leading.contains($0) }.sorted()
        let time = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date())
        switch format {
        case .text:
            var line = "\(time) \(event.level) \(event.message)"
            for key in keys { line += " \(key)=\(Self.text(fields[key]!))" }
            write(line + "\n")
        case .json:
            var members: [(key: String, value: JSONValue)] = [("time", .string(time)), ("level", .string("\(event.level)")),
                                                              ("logger", .string(label)), ("message", .string("\(event.message)"))]
            for key in keys { members.append((key, Self.json(fields[key]!))) }
            write(JSONValue.object(members).compactText + "\n")
        }
    }

    /// Text: numbers bare, strings quoted when they hold spaces, quotes or line breaks.
    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s):
            return s.isEmpty || s.contains(where: { $0 == " " || $0 == "\"" || $0.isNewline }) ? JSONValue.string(s).compactText : s
        case .stringConvertible(let v): return v.description
        case .array(let list): return "[" + list.map(text).joined(separator: ",") + "]"
        case .dictionary(let map): return "{" + map.keys.sorted().map { "\($0)=\(text(map[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// JSON: integers, fractions and booleans as JSON numbers and booleans, the rest as strings.
    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let v):
            if let n = v as? Int { return .int(n) }
            if let x = v as? Double { return x.isFinite ? .double(x) : .string("\(x)") }
            if let b = v as? Bool { return .bool(b) }
            return .string(v.description)
        case .array(let list): return .array(list.map(json))
        case .dictionary(let map): return .object(map.keys.sorted().map { ($0, json(map[$0]!)) })
        }
    }
}
