/// Byte-pair encoding's merges (`tokenizers`' `models::bpe::BPE`): a word starts as one symbol
/// per character, then the pair of adjacent symbols with the lowest merge rank is joined,
/// leftmost first on ties, until no pair has a merge.
struct BPE: Sendable {
    /// (left id, right id) → (rank, merged id).
    let merges: [MergePair: Merge]

    struct MergePair: Hashable, Sendable {
        var left: Int32
        var right: Int32
    }
    struct Merge: Sendable {
        var rank: Int32
        var id: Int32
    }

    /// `merges` as the files list them, "left right", in rank order; the merged token is left +
    /// right without its first `prefixLength` characters (the `continuing_subword_prefix` it
    /// carries). Throws naming the first merge whose parts or result are missing from the
    /// vocabulary.
    init(merges pairs: [(String, String)], vocabulary: ScalarVocabulary, prefixLength: Int = 0, file: String) throws {
        var table: [MergePair: Merge] = [:]
        table.reserveCapacity(pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            let merged = a.unicodeScalars.map(\.value) + b.unicodeScalars.map(\.value).dropFirst(prefixLength)
            guard let left = vocabulary[a], let right = vocabulary[b], let id = vocabulary.id(merged) else {
                throw TokenizerError.malformedFile(path: file,
                    reason: "merge \(rank + 1) \"\(a) \(b)\" names a token missing from the vocabulary")
            }
            let key = MergePair(left: left, right: right)
            if table[key] == nil { table[key] = Merge(rank: Int32(rank), id: id) }
        }
        merges = table
    }

    /// Merges the symbols of one word in place, each symbol covering `spans[k]` (an opaque
    /// range the caller maps to offsets; merged symbols cover the union). Short words scan for
    /// the best pair; long ones (a whole text when nothing pre-tokenizes it) use a queue.
    func merge(_ symbols: inout [Int32], _ spans: inout [Range<Int>]) {
        if symbols.count > 48 { return mergeLong(&symbols, &spans) }
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

    /// The same merges as `tokenizers` does them: candidate pairs in a queue by (rank, position),
    /// symbols in a linked list, stale candidates skipped.
    private func mergeLong(_ symbols: inout [Int32], _ spans: inout [Range<Int>]) {
        let n = symbols.count
        var next = Array(1...n)          // n = none
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var queue = MinHeap()
        for k in 0..<(n - 1) {
            if let m = merges[MergePair(left: symbols[k], right: symbols[k + 1])] { queue.push(m.rank, k, m.id, symbols[k + 1]) }
        }
        while let (rank, k, id, right) = queue.pop() {
            let j = next[k]
            // Stale: the left symbol is gone or changed, or its right neighbour is not the pair's.
            guard alive[k], j < n, symbols[j] == right,
                  let m = merges[MergePair(left: symbols[k], right: right)], m.rank == rank, m.id == id else { continue }
            symbols[k] = id
            spans[k] = spans[k].lowerBound..<spans[j].upperBound
            alive[j] = false
            next[k] = next[j]
            if next[j] < n { previous[next[j]] = k }
            if previous[k] >= 0, let m = merges[MergePair(left: symbols[previous[k]], right: id)] {
                queue.push(m.rank, previous[k], m.id, id)
            }
            if next[k] < n, let m = merges[MergePair(left: id, right: symbols[next[k]])] {
                queue.push(m.rank, k, m.id, symbols[next[k]])
            }
        }
        var s: [Int32] = [], r: [Range<Int>] = []
        for k in 0..<n where alive[k] { s.append(symbols[k]); r.append(spans[k]) }
        symbols = s
        spans = r
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
private struct MinHeap {
    private var items: [(rank: Int32, position: Int, id: Int32, right: Int32)] = []

    mutating func push(_ rank: Int32, _ position: Int, _ id: Int32, _ right: Int32) {
        items.append((rank, position, id, right))
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard less(c, p) else { break }
            items.swapAt(c, p)
            c = p
        }
    }

    mutating func pop() -> (Int32, Int, Int32, Int32)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count, less(l, m) { m = l }
                if r < items.count, less(r, m) { m = r }
                guard m != p else { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return (top.rank, top.position, top.id, top.right)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        items[a].rank != items[b].rank ? items[a].rank < items[b].rank : items[a].position < items[b].position
    }
}
