import Tokenization

extension TokenOffset: OffsetPair {
    var pairStart: Int { Int(start) }
    var pairEnd: Int { Int(end) }
}
