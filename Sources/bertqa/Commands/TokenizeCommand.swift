import ArgumentParser
import Foundation
import Support
import Tokenization

/// `bertqa tokenize --model DIR`: JSON lines in, JSON lines out.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize JSON lines from stdin: {\"text\"} or {\"question\", \"context\", \"max_length\", \"stride\"}.",
        usage: "bertqa tokenize --model <folder-or-hub-id> [<options>] < lines.jsonl",
        discussion: """
        Each input line gives one output line:
          {"text": T}
              -> {"input_ids": [...], "offsets": [[s,e], ...]}
          {"question": Q, "context": C, "max_length": N, "stride": S}
              -> {"windows": [{"input_ids", "token_type_ids"*, "offsets"}, ...]}
        * token_type_ids only where the tokenizer's class returns them (not RoBERTa, XLM-R, \
        DistilBERT).

        A line that cannot be tokenized gives {"error": "..."} and the run goes on; it then exits \
        with status 1 and a summary on stderr. Offsets are character offsets (Unicode scalars, as \
        Python counts them).
        """
    )

    @OptionGroup var modelOption: ModelOption

    @Option(name: OptionNames.maxSeqLen, parsing: .unconditional, help: "Tokens per window, for pairs that give no \"max_length\".")
    var maxLength: Int = 384

    @Option(name: OptionNames.docStride, parsing: .unconditional, help: "Overlap between windows, for pairs that give no \"stride\".")
    var stride: Int = 128

    func validate() throws {
        if maxLength < 4 { throw ValidationError("--max-seq-len must be at least 4") }
        if stride < 0 { throw ValidationError("--doc-stride must not be negative") }
    }

    func run() throws {
        let tokenizer = try CLIError.wrap { try Tokenizers.load(directory: modelOption.folder()) }
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
                output.write(errorJSON(error.description))
                failures.record(line: number, error: error.description)
            }
            output.write("\n")
        }
        output.flush()
        try failures.check()
    }

    private func tokenizeLine(_ line: String, _ tokenizer: any QATokenizer) -> Result<String, CLIError> {
        guard let object = try? JSONValue.parse(Data(line.utf8)) else {
            return errorLine("not JSON: expected {\"text\": T} or {\"question\": Q, \"context\": C}")
        }
        guard case .object = object else {
            return errorLine("expected a JSON object, {\"text\": T} or {\"question\": Q, \"context\": C}; got \(object.kindDescription)")
        }
        if let text = object["text"] {
            guard case .string(let text) = text else { return errorLine("\"text\" must be a string") }
            let tokens = tokenizer.encode(text)
            var out = "{\"input_ids\":"
            JSONWriter.appendInts(tokens.inputIds, to: &out)
            out += ",\"offsets\":"
            Self.appendOffsets(tokens.offsets, to: &out)
            return .success(out + "}")
        }
        guard case .string(let question)? = object["question"], case .string(let context)? = object["context"] else {
            return errorLine("expected {\"text\"} or {\"question\", \"context\"} with string values")
        }
        var lengths = ["max_length": maxLength, "stride": stride]
        for key in ["max_length", "stride"] {
            guard let value = object[key] else { continue }
            guard case .int(let n) = value else { return errorLine("\"\(key)\" must be an integer") }
            lengths[key] = n
        }
        do {
            let windows = try tokenizer.encodePair(
                question: question, context: context,
                options: WindowOptions(maxLength: lengths["max_length", default: maxLength], stride: lengths["stride", default: stride]))
            var out = "{\"windows\":["
            for (k, w) in windows.enumerated() {
                out += k == 0 ? "{\"input_ids\":" : ",{\"input_ids\":"
                JSONWriter.appendInts(w.inputIds, to: &out)
                if tokenizer.returnsTokenTypeIds {  // as HF returns them: not for RoBERTa, XLM-R, DistilBERT
                    out += ",\"token_type_ids\":"
                    JSONWriter.appendInts(w.tokenTypeIds, to: &out)
                }
                out += ",\"offsets\":"
                Self.appendOffsets(w.offsets, to: &out)
                out += "}"
            }
            return .success(out + "]}")
        } catch {
            return errorLine("\(error)")
        }
    }

    /// `[[start,end],...]`, written directly: offsets are written by the million.
    static func appendOffsets(_ offsets: [TokenOffset], to out: inout String) {
        out += "["
        for (k, o) in offsets.enumerated() {
            out += k == 0 ? "[" : ",["
            out += String(o.start) + "," + String(o.end) + "]"
        }
        out += "]"
    }

    private func errorLine(_ message: String) -> Result<String, CLIError> {
        .failure(CLIError(description: message))
    }
}
