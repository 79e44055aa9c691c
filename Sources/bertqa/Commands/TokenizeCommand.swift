import ArgumentParser
import Foundation
import Tokenization

/// `bertqa tokenize --model DIR`: JSON lines in, JSON lines out.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize JSON lines from stdin: {\"text\"} or {\"question\", \"context\", \"max_length\", \"stride\"}.",
        discussion: """
        Each input line gives one output line:
          {"text": T}                                   -> {"input_ids": [...], "offsets": [[s,e], ...]}
          {"question": Q, "context": C, "max_length": N, "stride": S}
                                                        -> {"windows": [{"input_ids", "token_type_ids", "offsets"}, ...]}
        A line that cannot be tokenized gives {"error": "..."} and the run goes on; it then exits with
        status 1 and a summary on stderr.
        Offsets are character offsets (Unicode scalars, as Python counts them).
        """
    )

    @Option(name: .long, help: "Model folder with vocab.txt (and tokenizer.json / tokenizer_config.json).")
    var model: String

    @Option(name: .long, parsing: .unconditional, help: "Default max_length for pairs that do not give one.")
    var maxLength: Int = 384

    @Option(name: .long, parsing: .unconditional, help: "Default stride for pairs that do not give one.")
    var stride: Int = 128

    func validate() throws {
        if maxLength < 4 { throw ValidationError("--max-length must be at least 4") }
        if stride < 0 { throw ValidationError("--stride must not be negative") }
    }

    func run() throws {
        let tokenizer = try CLIError.wrap { try BertTokenizer(directory: URL(fileURLWithPath: model)) }
        var output = BufferedOutput()
        var failures = LineFailures()
        for (number, text) in InputLines() {
            let result: Result<String, CLIError>
            switch text {
            case .success(let line):
                if line.allSatisfy(\.isWhitespace) { continue }
                result = tokenizeLine(line, tokenizer)
            case .failure(let error): result = .failure(error)
            }
            switch result {
            case .success(let json):
                output.write(json)
                failures.record(line: number, error: nil)
            case .failure(let error):
                output.write("{\"error\":\(JSONText.string(error.description))}")
                failures.record(line: number, error: error.description)
            }
            output.write("\n")
        }
        output.flush()
        try failures.check()
    }

    private func tokenizeLine(_ line: String, _ tokenizer: BertTokenizer) -> Result<String, CLIError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            return errorLine("not a JSON object")
        }
        if let text = object["text"] {
            guard let text = text as? String else { return errorLine("\"text\" must be a string") }
            let tokens = tokenizer.encode(text)
            return .success("{\"input_ids\":\(JSONText.ints(tokens.inputIds)),\"offsets\":\(JSONText.offsets(tokens.offsets))}")
        }
        guard let question = object["question"] as? String, let context = object["context"] as? String else {
            return errorLine("expected {\"text\"} or {\"question\", \"context\"} with string values")
        }
        for key in ["max_length", "stride"] where object[key] != nil {
            // JSONSerialization gives NSNumber for booleans too (objCType "c"); reject those and fractions.
            guard let number = object[key] as? NSNumber, String(cString: number.objCType) != "c",
                  Int(exactly: number.doubleValue) != nil else {
                return errorLine("\"\(key)\" must be an integer")
            }
        }
        let maxLength = (object["max_length"] as? Int) ?? self.maxLength
        let stride = (object["stride"] as? Int) ?? self.stride
        do {
            let windows = try tokenizer.encodePair(
                question: question, context: context,
                options: WindowOptions(maxLength: maxLength, stride: stride))
            let parts = windows.map { w in
                "{\"input_ids\":\(JSONText.ints(w.inputIds)),\"token_type_ids\":\(JSONText.ints(w.tokenTypeIds)),\"offsets\":\(JSONText.offsets(w.offsets))}"
            }
            return .success("{\"windows\":[\(parts.joined(separator: ","))]}")
        } catch {
            return errorLine("\(error)")
        }
    }

    private func errorLine(_ message: String) -> Result<String, CLIError> {
        .failure(CLIError(description: message))
    }
}
