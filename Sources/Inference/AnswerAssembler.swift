import Tokenization

/// Windows of one (question, context) pair → the final answers, as the pipeline's
/// `postprocess` does it: spans mapped to characters (widened to whole words when asked),
/// equal texts (case-insensitive) from different spans or windows merged by summing scores,
/// the null answer added when asked, best `topK` kept (stable for ties).
struct AnswerAssembler {
    let options: AnswerOptions
    let decoder: SpanDecoder
    let clsId: Int32

    init(options: AnswerOptions, clsId: Int32) {
        self.options = options
        self.decoder = SpanDecoder(options: options)
        self.clsId = clsId
    }

    /// `logits(w)` gives the start and end logits of window `w` (length ≥ its token count).
    func answers(context: String, windows: [Encoding],
                 logits: (Int) -> (start: [Float], end: [Float])) -> [Answer] {
        let scalars = Array(context.unicodeScalars)
        var answers: [Answer] = []
        var lowered: [[Unicode.Scalar]] = []
        var minNull: Double = 1_000_000
        for (w, window) in windows.enumerated() {
            let (start, end) = logits(w)
            let (candidates, null) = decoder.candidates(window: window, startLogits: start, endLogits: end, clsId: clsId)
            if options.handleImpossibleAnswer { minNull = min(minNull, Double(null)) }
            for c in candidates {
                let (lo, hi) = characterSpan(window, c.start, c.end)
                let text = slice(scalars, lo, hi)
                let key = Array(text.lowercased().unicodeScalars)
                if let k = lowered.firstIndex(of: key) {
                    answers[k].score += Double(c.score)
                } else {
                    answers.append(Answer(score: Double(c.score), start: lo, end: hi, answer: text))
                    lowered.append(key)
                }
            }
        }
        if options.handleImpossibleAnswer {
            answers.append(Answer(score: minNull, start: 0, end: 0, answer: ""))
        }
        // Python's sorted(reverse=True) is stable: equal scores keep their order.
        let order = answers.indices.sorted { a, b in
            answers[a].score != answers[b].score ? answers[a].score > answers[b].score : a < b
        }
        return order.prefix(options.topK).map { answers[$0] }
    }

    /// Character span of tokens s...e: token offsets, or the enclosing context words.
    private func characterSpan(_ window: Encoding, _ s: Int, _ e: Int) -> (Int, Int) {
        if options.alignToWords, window.wordIds[s] >= 0, window.wordIds[e] >= 0,
           let first = window.wordToChars(window.wordIds[s], sequence: 1),
           let last = window.wordToChars(window.wordIds[e], sequence: 1) {
            return (Int(first.start), Int(last.end))
        }
        return (Int(window.offsets[s].start), Int(window.offsets[e].end))
    }

    /// Python's `text[lo:hi]` on code points (empty when hi ≤ lo).
    private func slice(_ scalars: [Unicode.Scalar], _ lo: Int, _ hi: Int) -> String {
        let lo = max(0, min(lo, scalars.count)), hi = max(0, min(hi, scalars.count))
        guard hi > lo else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[lo..<hi])
        return String(view)
    }
}
