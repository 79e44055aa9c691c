// libFuzzer target: arbitrary bytes as SentencePiece's precompiled_charsmap (the double-array
// trie and replacement blob a .model file or tokenizer.json carries), then texts normalized by
// it. Must never crash, trap, hang or read outside the data.
import Foundation
@testable import Tokenization

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: count))
    guard let rules = try? Precompiled(bytes, file: "fuzz") else { return 0 }
    for text in ["Hello ﬁ ½ ① ＡＢ", "e\u{301}\u{301} हिन्दी 😀🇫🇷", String(decoding: bytes.prefix(64), as: UTF8.self)] {
        let scalars = Array(text.unicodeScalars.map(\.value))
        scalars.withUnsafeBufferPointer { buffer in
            var s = NormalizedString(buffer, 0..<buffer.count)
            rules.normalize(&s)
            precondition(s.scalars.count == s.spans.count)
            for span in s.spans { precondition(span.start >= 0 && span.start <= span.end && Int(span.end) <= buffer.count) }
        }
    }
    return 0
}
