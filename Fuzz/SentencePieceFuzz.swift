// libFuzzer target: arbitrary bytes as a SentencePiece model file, read as each family's
// converter reads it (spm.model: DeBERTa-v2/v3, spiece.model: ALBERT, sentencepiece.bpe.model:
// XLM-R), then, when it loads, texts tokenized and paired into windows. Must never crash, trap
// or hang: a bad file is a TokenizerError naming it.
import Foundation
import Tokenization

let folders: [(URL, String)] = ["spm.model", "spiece.model", "sentencepiece.bpe.model"].map { name in
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-sentencepiece-\(getpid())-\(name)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return (url, name)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Data(bytes: data, count: count)
    for (folder, name) in folders {
        guard (try? bytes.write(to: folder.appendingPathComponent(name))) != nil else { continue }
        for general in [false, true] {
            guard let tokenizer = try? Tokenizers.load(directory: folder, general: general) else { continue }
            for text in ["Hello, world! [CLS] <s> ▁x", "naïve café 😀 ½ ﬁ  two  spaces ``q''", ""] {
                let tokens = tokenizer.tokenize(text)
                precondition(tokens.ids.count == tokens.offsets.count && tokens.ids.count == tokens.wordIds.count)
                let scalars = text.unicodeScalars.count
                for o in tokens.offsets { precondition(o.start >= 0 && o.start <= o.end && Int(o.end) <= scalars) }
                for id in tokens.ids { precondition(id >= 0 && Int(id) < max(tokenizer.vocabularySize, 1)) }
                if let windows = try? tokenizer.encodePair(question: "Who?", context: text,
                                                           options: WindowOptions(maxLength: 16, stride: 4, padding: .maxLength)) {
                    for w in windows { precondition(w.count == 16) }
                }
            }
        }
    }
    return 0
}
