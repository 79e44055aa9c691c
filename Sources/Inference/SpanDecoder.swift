import Foundation
import Tokenization

/// Logits of one window → candidate answers, with the semantics of Hugging Face's
/// `QuestionAnsweringPipeline` (`select_starts_ends` + `decode_spans` + `postprocess`):
///
/// 1. Tokens that cannot be in an answer (question, [SEP], padding) get logit −10000; [CLS]
///    stays, so it takes part in both softmaxes.
/// 2. Softmax of start and of end logits over the window (Float32, as numpy does here).
/// 3. The null score start[CLS]·end[CLS] is kept (minimum over windows), then [CLS] is zeroed.
/// 4. Scores start[s]·end[e] for s ≤ e < s + max_answer_len; everything else is 0. The best
///    `k` of all T×T entries are taken, then spans touching an unwanted token are dropped.
struct SpanDecoder {
    let options: AnswerOptions

    struct Candidate {
        var start: Int
        var end: Int
        var score: Float
    }

    /// Candidates of one window and its null score (start[CLS] × end[CLS]).
    func candidates(window: Encoding, startLogits: [Float], endLogits: [Float], clsId: Int32) -> (candidates: [Candidate], null: Float) {
        let n = window.count
        // Wanted: context tokens and [CLS], inside the attention mask (HF p_mask / undesired).
        var wanted = [Bool](repeating: false, count: n)
        for t in 0..<n where window.attentionMask[t] == 1 {
            wanted[t] = window.sequenceIds[t] == 1 || window.inputIds[t] == clsId
        }
        let start = softmax(startLogits, n, wanted)
        let end = softmax(endLogits, n, wanted)
        let null = start[0] * end[0]
        var s = start, e = end
        s[0] = 0
        e[0] = 0
        // With align_to_words HF takes 2k+10 candidates, since aligned spans may merge.
        let k = options.alignToWords ? options.topK * 2 + 10 : options.topK
        let top = topSpans(s, e, n, k)
        let kept = top.filter { wanted[$0.start] && wanted[$0.end] }
        return (kept, null)
    }

    /// Masked softmax in Float32 like numpy: exp(x − max) / sum.
    private func softmax(_ logits: [Float], _ n: Int, _ wanted: [Bool]) -> [Float] {
        var x = [Float](repeating: 0, count: n)
        var maxValue = -Float.infinity
        for t in 0..<n {
            x[t] = wanted[t] ? logits[t] : -10000
            maxValue = max(maxValue, x[t])
        }
        var sum: Float = 0
        for t in 0..<n {
            x[t] = expf(x[t] - maxValue)
            sum += x[t]
        }
        for t in 0..<n { x[t] /= sum }
        return x
    }

    /// The `k` best entries of the T×T score matrix (band s ≤ e < s+L, zero elsewhere),
    /// best first; ties keep row-major order. Zero entries fill up when fewer than `k` are
    /// positive, as `argpartition` over the whole matrix does.
    private func topSpans(_ s: [Float], _ e: [Float], _ n: Int, _ k: Int) -> [Candidate] {
        let band = options.maxAnswerLength
        var positive: [Candidate] = []
        positive.reserveCapacity(n * min(band, n))
        for i in 0..<n where s[i] > 0 {
            for j in i..<min(n, i + band) {
                let score = s[i] * e[j]
                if score > 0 { positive.append(Candidate(start: i, end: j, score: score)) }
            }
        }
        // Stable order: score descending, then row-major index ascending.
        positive.sort { a, b in
            a.score != b.score ? a.score > b.score : (a.start, a.end) < (b.start, b.end)
        }
        if positive.count >= k { return Array(positive.prefix(k)) }
        var result = positive
        var i = 0
        while result.count < k && i < n * n {
            let (r, c) = (i / n, i % n)
            let inBand = c >= r && c < r + band
            if !(inBand && s[r] * e[c] > 0) {
                result.append(Candidate(start: r, end: c, score: 0))
            }
            i += 1
        }
        return result
    }
}
