import Foundation
import Tokenization

/// Logits → answer texts, as HF `utils_qa.postprocess_qa_predictions`.
public enum PostProcess {
    /// - Parameters:
    ///   - examples: the dataset rows, in order.
    ///   - features: their evaluation windows (any order; matched to examples by id, as HF does).
    ///   - startLogits, endLogits: one array per feature; may be longer than the window
    ///     (padding) — positions past the window are never part of an answer.
    public static func run(examples: [SQuADExample], features: [EvaluationFeature],
                           startLogits: [[Float]], endLogits: [[Float]],
                           options: PostProcessOptions = PostProcessOptions()) throws(SQuADError) -> PostProcessResult {
        guard startLogits.count == features.count, endLogits.count == features.count else {
            throw .mismatch("\(features.count) features but \(startLogits.count) start and \(endLogits.count) end logit rows")
        }
        if options.nBestSize < 1 { throw .invalidOption("n_best_size must be at least 1") }
        // HF: {id: index} keeps the last row of a repeated id.
        var indexOfId: [String: Int] = [:]
        for (i, e) in examples.enumerated() { indexOfId[e.id] = i }
        var featuresOf = [[Int]](repeating: [], count: examples.count)
        for (f, feature) in features.enumerated() {
            guard let i = indexOfId[feature.exampleId] else {
                throw .mismatch("feature \(f) has example id \(feature.exampleId), which is not in the examples")
            }
            featuresOf[i].append(f)
        }
        var predictions: [ExamplePrediction] = []
        predictions.reserveCapacity(examples.count)
        for (i, example) in examples.enumerated() {
            let windows = featuresOf[i].map { f in
                Window(offsets: features[f].offsets, start: startLogits[f], end: endLogits[f])
            }
            predictions.append(decode(example: example, windows: windows, options: options))
        }
        return PostProcessResult(predictions: predictions)
    }

    struct Window {
        var offsets: [TokenOffset?]
        var start: [Float]
        var end: [Float]
        init(offsets: [TokenOffset?], start: [Float], end: [Float]) {
            self.offsets = offsets
            self.start = start
            self.end = end
        }
    }

    struct Candidate {
        var startChar: Int
        var endChar: Int
        var score: Float
        var startLogit: Float
        var endLogit: Float
    }

    static func decode(example: SQuADExample, windows: [Window], options: PostProcessOptions) -> ExamplePrediction {
        var minNull: Candidate? = nil
        var prelim: [Candidate] = []
        for w in windows {
            guard !w.start.isEmpty, !w.end.isEmpty else { continue }
            let nullScore = w.start[0] + w.end[0]
            // Strictly greater: the first window with the lowest null score wins.
            if minNull.map({ $0.score > nullScore }) ?? true {
                minNull = Candidate(startChar: 0, endChar: 0, score: nullScore, startLogit: w.start[0], endLogit: w.end[0])
            }
            for s in topIndices(w.start, options.nBestSize) {
                for e in topIndices(w.end, options.nBestSize) {
                    guard s < w.offsets.count, e < w.offsets.count,
                          let so = w.offsets[s], let eo = w.offsets[e] else { continue }
                    if e < s || e - s + 1 > options.maxAnswerLength { continue }
                    prelim.append(Candidate(startChar: Int(so.start), endChar: Int(eo.end),
                                            score: w.start[s] + w.end[e], startLogit: w.start[s], endLogit: w.end[e]))
                }
            }
        }
        if options.versionTwo, let minNull { prelim.append(minNull) }
        // Python's sorted(reverse=True) is stable: equal scores keep their insertion order.
        var best = prelim.enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }.prefix(options.nBestSize).map(\.element)
        if options.versionTwo, let minNull, !best.contains(where: { $0.startChar == 0 && $0.endChar == 0 }) {
            best.append(minNull)
        }
        let context = Array(example.context.unicodeScalars)
        var entries = best.map { c in
            NBestEntry(text: PythonText.slice(context, c.startChar, c.endChar),
                       startLogit: c.startLogit, endLogit: c.endLogit, probability: c.score,
                       characters: c.startChar ..< max(c.startChar, c.endChar))
        }
        if entries.isEmpty || (entries.count == 1 && entries[0].text.isEmpty) {
            entries.insert(NBestEntry(text: "empty", startLogit: 0, endLogit: 0, probability: 0, isPlaceholder: true), at: 0)
        }
        let probabilities = softmax(entries.map(\.probability))
        for k in entries.indices { entries[k].probability = probabilities[k] }

        guard options.versionTwo, let minNull else {
            return ExamplePrediction(id: example.id, text: entries[0].text, nBest: entries, nullOdds: nil)
        }
        // HF loops to the first non-empty text (and would crash if there were none: then we
        // answer "" with the null score as the odds, as if the best span scored 0).
        let bestSpan = entries.first { !$0.text.isEmpty }
        let diff = minNull.score - (bestSpan?.startLogit ?? 0) - (bestSpan?.endLogit ?? 0)
        var text = ""
        if let bestSpan, !(Double(diff) > options.nullScoreDiffThreshold) { text = bestSpan.text }
        return ExamplePrediction(id: example.id, text: text, nBest: entries, nullOdds: diff)
    }

    /// `np.argsort(x)[-1:-n-1:-1]`: the `n` largest, largest first. Ties take the higher index
    /// first (what a stable ascending argsort, reversed, gives); NaN counts as largest, as numpy sorts it last.
    static func topIndices(_ x: [Float], _ n: Int) -> [Int] {
        func greater(_ a: Int, _ b: Int) -> Bool {
            let u = x[a], v = x[b]
            if u.isNaN || v.isNaN { return u.isNaN && (!v.isNaN || a > b) }
            return u != v ? u > v : a > b
        }
        var top: [Int] = []
        top.reserveCapacity(n + 1)
        // Insertion into a short sorted list: O(length × n), no full sort of the window.
        for i in x.indices {
            if top.count == n, !greater(i, top[n - 1]) { continue }
            var k = top.count
            while k > 0, greater(i, top[k - 1]) { k -= 1 }
            top.insert(i, at: k)
            if top.count > n { top.removeLast() }
        }
        return top
    }

    /// numpy's float32 softmax: `exp(s - max(s)) / sum(...)`, with numpy's pairwise sum order.
    static func softmax(_ scores: [Float]) -> [Float] {
        guard let m = scores.max() else { return [] }
        let e = scores.map { Foundation.exp($0 - m) }
        let total = pairwiseSum(e)
        return e.map { $0 / total }
    }

    /// numpy's `pairwise_sum` for float32 (blocks under 128 elements): 8 partial sums, combined
    /// as a tree, then the tail added in order. Below 8 elements: a plain loop.
    static func pairwiseSum(_ a: [Float]) -> Float {
        if a.count < 8 {
            var s: Float = 0
            for v in a { s += v }
            return s
        }
        if a.count > 128 {
            // numpy splits larger blocks in halves (multiples of 8); never reached with n-best lists.
            let half = (a.count / 2) - (a.count / 2) % 8
            return pairwiseSum(Array(a[..<half])) + pairwiseSum(Array(a[half...]))
        }
        var r = Array(a[0..<8])
        var i = 8
        while i < a.count - a.count % 8 {
            for j in 0..<8 { r[j] += a[i + j] }
            i += 8
        }
        var s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < a.count { s += a[i]; i += 1 }
        return s
    }
}
