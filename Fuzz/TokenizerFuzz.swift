// libFuzzer target: arbitrary bytes → UTF-8 text (lossy) → single and pair encodings with
// max_length/stride taken from the first bytes. Must never crash, trap or hang.
import Foundation
import Tokenization

let tokenizer: BertTokenizer = {
    let dir = ProcessInfo.processInfo.environment["BERTQA_FUZZ_MODEL"] ?? "Tests/Fixtures/minilm-tokenizer"
    do { return try BertTokenizer(directory: URL(fileURLWithPath: dir)) } catch {
        print("cannot load the tokenizer from \(dir): \(error)")
        exit(2)
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: count)
    guard count >= 2 else { return 0 }
    let maxLength = Int(bytes[0]) + 1          // 1...256, including invalid values < 4
    let stride = Int(bytes[1]) % 300            // may exceed what the window allows
    let text = String(decoding: bytes[2...], as: UTF8.self)
    // Split the text into question / context at the first newline, if any.
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let question = String(parts[0]), context = parts.count > 1 ? String(parts[1]) : ""
    let single = tokenizer.encode(text)
    precondition(single.inputIds.count == single.offsets.count)
    let scalars = text.unicodeScalars.count
    for o in single.offsets { precondition(o.start >= 0 && o.end <= scalars && o.start <= o.end) }
    if let windows = try? tokenizer.encodePair(question: question, context: context,
                                               options: WindowOptions(maxLength: maxLength, stride: stride, padding: .maxLength)) {
        for w in windows { precondition(w.count == maxLength) }
    }
    return 0
}
