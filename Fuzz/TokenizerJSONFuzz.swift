// libFuzzer target: arbitrary bytes as a model folder's tokenizer.json (any family), then, when
// it loads, texts tokenized and paired into windows. Must never crash, trap or hang: a bad file
// is a TokenizerError naming it.
import Foundation
import Tokenization

let folder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-tokenizer-json-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let file = folder.appendingPathComponent("tokenizer.json")
    guard (try? Data(bytes: data, count: count).write(to: file)) != nil else { return 0 }
    guard let tokenizer = try? Tokenizers.load(directory: folder) else { return 0 }
    for text in ["Hello, world! <s> [CLS] ▁x", "naïve café 😀 ½ ﬁ  two  spaces", "", String(decoding: UnsafeBufferPointer(start: data, count: min(count, 256)), as: UTF8.self)] {
        let tokens = tokenizer.tokenize(text)
        precondition(tokens.ids.count == tokens.offsets.count && tokens.ids.count == tokens.wordIds.count)
        let scalars = text.unicodeScalars.count
        for o in tokens.offsets { precondition(o.start >= 0 && o.start <= o.end && Int(o.end) <= scalars) }
        if let windows = try? tokenizer.encodePair(question: "Who?", context: text,
                                                   options: WindowOptions(maxLength: 16, stride: 4, padding: .maxLength)) {
            for w in windows { precondition(w.count == 16) }
        }
    }
    return 0
}
