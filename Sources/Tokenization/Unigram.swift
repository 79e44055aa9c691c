/// SentencePiece's Unigram model (`tokenizers`' `models::unigram`): the segmentation of a
/// piece with the highest total log-probability (Viterbi), characters no vocabulary entry
/// covers becoming the unknown token (scored the lowest score − 10), consecutive unknowns fused.
struct Unigram: Sendable {
    /// The pieces as a trie over Unicode scalars (not `String`s: Swift compares strings by
    /// canonical equivalence, so "e\u{301}" would find the piece "é", which `tokenizers` never
    /// does): edge (node << 32 | scalar) → child node; node 0 is the root.
    private let edges: [UInt64: Int32]
    /// Per node: the piece ending there (id, score), id -1 for none.
    private let nodePieces: [(id: Int32, score: Double)]
    private let maxPieceLength: Int
    let unkId: Int32
    private let unkScore: Double

    init(pieces: [(String, Double)], unkId: Int32) {
        var edges: [UInt64: Int32] = [:]
        edges.reserveCapacity(pieces.count * 4)
        var nodePieces: [(id: Int32, score: Double)] = [(-1, 0)]
        var longest = 1
        for (k, (piece, score)) in pieces.enumerated() {
            var node: Int32 = 0
            var length = 0
            for scalar in piece.unicodeScalars {
                let key = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(scalar.value)
                if let child = edges[key] {
                    node = child
                } else {
                    let child = Int32(nodePieces.count)
                    nodePieces.append((-1, 0))
                    edges[key] = child
                    node = child
                }
                length += 1
            }
            // The first of repeated pieces keeps its id, as a vocabulary lookup would.
            if length > 0, nodePieces[Int(node)].id < 0 { nodePieces[Int(node)] = (Int32(k), score) }
            longest = max(longest, length)
        }
        self.edges = edges
        self.nodePieces = nodePieces
        maxPieceLength = longest
        self.unkId = unkId
        unkScore = (pieces.map(\.1).min() ?? 0) - 10
    }

    /// The best segmentation of `scalars[range]`: token ids and each token's character range.
    func segment(_ scalars: [UInt32], _ range: Range<Int>, ids out: inout [Int32], ranges: inout [Range<Int>]) {
        let n = range.count
        guard n > 0 else { return }
        // best[i]: the best score of scalars[range.lowerBound ..< range.lowerBound + i].
        var best = [Double](repeating: -.infinity, count: n + 1)
        var from = [Int](repeating: -1, count: n + 1)
        var via = [Int32](repeating: -1, count: n + 1)
        best[0] = 0
        // Reachability, not the score: a model whose scores are -inf or sum past the float range
        // must still give a path (never an id of -1).
        for start in 0..<n where start == 0 || from[start] >= 0 {
            var coveredSingle = false
            var node: Int32 = 0
            for length in 1...min(maxPieceLength, n - start) {
                let key = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(scalars[range.lowerBound + start + length - 1])
                guard let child = edges[key] else { break }
                node = child
                let entry = nodePieces[Int(node)]
                guard entry.id >= 0 else { continue }
                if length == 1 { coveredSingle = true }
                let score = best[start] + entry.score
                // Strictly better only: the first (shorter) of equal paths stays, as in tokenizers.
                if score > best[start + length] || from[start + length] < 0 {
                    best[start + length] = score
                    from[start + length] = start
                    via[start + length] = entry.id
                }
            }
            if !coveredSingle {
                let score = best[start] + unkScore
                if score > best[start + 1] || from[start + 1] < 0 {
                    best[start + 1] = score
                    from[start + 1] = start
                    via[start + 1] = unkId
                }
            }
        }
        var pieces: [(Int32, Range<Int>)] = []
        var end = n
        while end > 0 {
            let start = from[end]
            pieces.append((via[end], (range.lowerBound + start)..<(range.lowerBound + end)))
            end = start
        }
        for (id, r) in pieces.reversed() {
            // Consecutive unknowns become one.
            if id == unkId, let last = out.last, last == unkId, let lastRange = ranges.last, lastRange.upperBound == r.lowerBound,
               ranges.count > 0 {
                ranges[ranges.count - 1] = lastRange.lowerBound..<r.upperBound
                continue
            }
            out.append(id)
            ranges.append(r)
        }
    }
}
