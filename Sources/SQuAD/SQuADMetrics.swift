import Support

/// The official SQuAD scores (`evaluate-v1.1.py`, `evaluate-v2.0.py`), reproduced exactly:
/// same normalization, same token multiset F1, same summation order.
public enum SQuADMetrics {
    // MARK: - v1.1

    /// v1.1 `exact_match_score`.
    public static func exactMatchV1(prediction: String, groundTruth: String) -> Bool {
        AnswerNormalization.normalize(prediction) == AnswerNormalization.normalize(groundTruth)
    }

    /// v1.1 `f1_score`: 0 when no token is shared (so an empty prediction scores 0).
    public static func f1V1(prediction: String, groundTruth: String) -> Double {
        tokenF1(AnswerNormalization.tokens(prediction), AnswerNormalization.tokens(groundTruth))
    }

    /// One question's v1.1 score: `metric_max_over_ground_truths` of both metrics.
    public static func bestV1(prediction: String, groundTruths: [String]) -> (exact: Bool, f1: Double) {
        (groundTruths.contains { exactMatchV1(prediction: prediction, groundTruth: $0) },
         groundTruths.map { f1V1(prediction: prediction, groundTruth: $0) }.max() ?? 0)
    }

    // MARK: - v2.0

    /// One question's v2.0 scores (`get_raw_scores`): the best over its gold answers that
    /// normalize to something, or over [""] for an unanswerable question. max() keeps the first
    /// of equal values, so an int 1 beats a later float 1.0.
    public static func bestV2(prediction: String, answers: [String]) -> (exact: Int, f1: PyNumber) {
        var gold = answers.filter { !AnswerNormalization.normalize($0).isEmpty }
        if gold.isEmpty { gold = [""] }
        let exact = gold.map { exactV2(gold: $0, prediction: prediction) }.max() ?? 0
        var f1 = f1V2(gold: gold[0], prediction: prediction)
        for g in gold.dropFirst() {
            let x = f1V2(gold: g, prediction: prediction)
            if x.double > f1.double { f1 = x }
        }
        return (exact, f1)
    }

    /// v2.0 `compute_exact` (1 or 0).
    public static func exactV2(gold: String, prediction: String) -> Int {
        AnswerNormalization.normalize(gold) == AnswerNormalization.normalize(prediction) ? 1 : 0
    }

    /// v2.0 `compute_f1`: when either side has no tokens, 1 if both have none, else 0.
    /// Returns Python's int-or-float, since Python 3.12's `sum` treats the two differently.
    public static func f1V2(gold: String, prediction: String) -> PyNumber {
        let goldTokens = gold.isEmpty ? [] : AnswerNormalization.tokens(gold)
        let predTokens = prediction.isEmpty ? [] : AnswerNormalization.tokens(prediction)
        if goldTokens.isEmpty || predTokens.isEmpty { return .int(goldTokens == predTokens ? 1 : 0) }
        let f1 = tokenF1(predTokens, goldTokens)
        return f1 == 0 ? .int(0) : .float(f1)
    }

    /// `Counter(pred) & Counter(gold)` overlap → harmonic mean of precision and recall,
    /// in the scripts' operation order.
    static func tokenF1(_ prediction: [String], _ gold: [String]) -> Double {
        var counts: [String: Int] = [:]
        for t in gold { counts[t, default: 0] += 1 }
        var same = 0
        for t in prediction {
            if let n = counts[t], n > 0 { counts[t] = n - 1; same += 1 }
        }
        if same == 0 { return 0 }
        let precision = 1.0 * Double(same) / Double(prediction.count)
        let recall = 1.0 * Double(same) / Double(gold.count)
        return (2 * precision * recall) / (precision + recall)
    }
}

/// A Python number that may be an `int` or a `float`: the scripts mix both, and the JSON they
/// print (and Python 3.12's float `sum`) depends on which.
public enum PyNumber: Sendable, Equatable {
    case int(Int)
    case float(Double)

    public var double: Double {
        switch self {
        case .int(let n): return Double(n)
        case .float(let x): return x
        }
    }

    var json: JSONValue {
        switch self {
        case .int(let n): return .int(n)
        case .float(let x): return .double(x)
        }
    }

    /// Built-in `sum(values)` as CPython ≥ 3.12 computes it: ints add exactly until the first
    /// float, then floats use Neumaier compensated summation (ints join uncompensated).
    public static func pythonSum(_ values: [PyNumber]) -> PyNumber {
        var intSum = 0
        var k = 0
        while k < values.count, case .int(let n) = values[k] { intSum += n; k += 1 }
        guard k < values.count else { return .int(intSum) }
        var f = Double(intSum) + values[k].double
        var c = 0.0
        k += 1
        while k < values.count {
            switch values[k] {
            case .int(let n):
                f += Double(n)
            case .float(let x):
                let t = f + x
                c += abs(f) >= abs(x) ? (f - t) + x : (x - t) + f
                f = t
            }
            k += 1
        }
        if c != 0, c.isFinite { f += c }
        return .float(f)
    }
}
