import Foundation

/// The gold answers of one question, as HF `datasets` stores them (parallel lists).
/// Empty for SQuAD v2 questions without an answer.
public struct Answers: Sendable, Equatable {
    public var text: [String]
    /// Character offsets into the context, in Unicode scalars (Python `str` indices).
    public var answerStart: [Int]

    public init(text: [String] = [], answerStart: [Int] = []) {
        self.text = text
        self.answerStart = answerStart
    }
}

/// One question: the row HF `load_dataset("squad")` yields.
public struct SQuADExample: Sendable, Equatable {
    public var id: String
    public var title: String
    public var context: String
    public var question: String
    public var answers: Answers

    public init(id: String, title: String, context: String, question: String, answers: Answers) {
        self.id = id
        self.title = title
        self.context = context
        self.question = question
        self.answers = answers
    }
}

/// A gold answer whose `answer_start` does not point at its text. HF trains on such examples
/// with wrong labels and says nothing; we keep them but count and name them.
public struct AnswerIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// `answer_start` (or start + length) falls outside the context.
        case outsideContext = "outside the context"
        /// The context at `answer_start` is not the answer text.
        case textMismatch = "does not match the answer text"
    }
    public var exampleId: String
    public var answerIndex: Int
    public var kind: Kind
    public var description: String { "\(exampleId) answer \(answerIndex): answer_start \(kind.rawValue)" }
}

/// A SQuAD file loaded into examples, in file order.
public struct SQuADDataset: Sendable {
    /// The file it came from (for messages).
    public var path: String
    /// The file's `version` field ("1.1", "v2.0", ...) or nil when absent.
    public var version: String?
    public var examples: [SQuADExample]
    /// Gold answers whose offsets are wrong; the examples are kept.
    public var answerIssues: [AnswerIssue]
    /// Ids that occur more than once (later rows win in id → example maps, as in HF).
    public var duplicateIds: [String]

    public init(path: String, version: String?, examples: [SQuADExample],
                answerIssues: [AnswerIssue] = [], duplicateIds: [String] = []) {
        self.path = path
        self.version = version
        self.examples = examples
        self.answerIssues = answerIssues
        self.duplicateIds = duplicateIds
    }

    /// True when the file says v2 or any question has no answer.
    public var isVersion2: Bool {
        if let version, version.contains("2.") { return true }
        return examples.contains { $0.answers.text.isEmpty }
    }

    /// The first `n` examples: `dataset.select(range(n))` (all of them when `n` is larger).
    public func prefix(_ n: Int) -> SQuADDataset {
        var copy = self
        copy.examples = Array(examples.prefix(max(0, n)))
        let kept = Set(copy.examples.map(\.id))
        copy.answerIssues = answerIssues.filter { kept.contains($0.exampleId) }
        copy.duplicateIds = duplicateIds.filter { kept.contains($0) }
        return copy
    }

    /// The examples whose id is in `ids`, in the file's order (to score predictions made for a
    /// part of the file).
    public func only(ids: Set<String>) -> SQuADDataset {
        var copy = self
        copy.examples = examples.filter { ids.contains($0.id) }
        copy.answerIssues = answerIssues.filter { ids.contains($0.exampleId) }
        copy.duplicateIds = duplicateIds.filter { ids.contains($0) }
        return copy
    }

    /// The examples in a seeded random order (Fisher–Yates driven by SplitMix64).
    /// Deterministic for a seed on every platform; it is not numpy's permutation, so the
    /// order differs from HF `Dataset.shuffle(seed:)`.
    public func shuffled(seed: UInt64) -> SQuADDataset {
        var copy = self
        var rng = SplitMix64(seed: seed)
        copy.examples.shuffle(using: &rng)
        return copy
    }

    /// Loads a SQuAD v1.1 or v2.0 JSON file.
    public static func load(_ url: URL) throws(SQuADError) -> SQuADDataset {
        try SQuADLoader.decode(JSONFields.load(url), file: url.path)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to shuffle data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
