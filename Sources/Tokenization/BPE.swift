/// Byte-pair encoding (`tokenizers`' `models::bpe::BPE`) as the byte-level families use it:
/// a word starts as one symbol per character, then the pair of adjacent symbols with the
/// lowest merge rank is joined, leftmost first on ties, until no pair has a merge.
struct BPE: Sendable {
    /// Token → id.
    let vocabulary: [String: Int32]
    /// (left id, right id) → (rank, merged id).
    let merges: [MergePair: Merge]
    let unkId: Int32?

    struct MergePair: Hashable, Sendable {
        var left: Int32
        var right: Int32
    }
    struct Merge: Sendable {
        var rank: Int32
        var id: Int32
    }

    /// `merges` as the files list them, "left right", in rank order. Throws naming the first
    /// merge whose parts or result are missing from the vocabulary.
    init(vocabulary: [String: Int32], merges pairs: [(String, String)], unkToken: String?, file: String) throws {
        self.vocabulary = vocabulary
        var table: [MergePair: Merge] = [:]
        table.reserveCapacity(pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let left = vocabulary[a], let right = vocabulary[b], let merged = vocabulary[a + b] else {
                throw TokenizerError.malformedFile(path: file,
                    reason: "merge \(rank + 1) \"\(a) \(b)\" names a token missing from the vocabulary")
            }
            let key = MergePair(left: left, right: right)
            if table[key] == nil { table[key] = Merge(rank: Int32(rank), id: merged) }
        }
        merges = table
        unkId = unkToken.flatMap { vocabulary[$0] }
    }

    /// The tokens of one word given as its symbols' ids, each symbol covering `spans[k]` (an
    /// opaque range the caller maps to offsets): appended to `ids` / `pieces`.
    func merge(_ symbols: inout [Int32], _ spans: inout [Range<Int>]) {
        while symbols.count > 1 {
            var best = -1
            var bestMerge = Merge(rank: .max, id: 0)
            for k in 0..<(symbols.count - 1) {
                if let m = merges[MergePair(left: symbols[k], right: symbols[k + 1])], m.rank < bestMerge.rank {
                    best = k
                    bestMerge = m
                }
            }
            guard best >= 0 else { return }
            symbols[best] = bestMerge.id
            spans[best] = spans[best].lowerBound..<spans[best + 1].upperBound
            symbols.remove(at: best + 1)
            spans.remove(at: best + 1)
        }
    }
}
