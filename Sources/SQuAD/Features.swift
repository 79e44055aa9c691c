import Tokenization

/// A window the model reads: `[CLS] question [SEP] context-window [SEP]`, unpadded.
/// Padding is chosen later, per batch (see `FeatureBatch`).
public protocol ModelFeature: Sendable {
    var inputIds: [Int32] { get }
    var tokenTypeIds: [Int32] { get }
    /// The example (row of the dataset) this window came from: `overflow_to_sample_mapping`.
    var exampleIndex: Int { get }
}

/// A training window with its answer labels (token indices; 0 = [CLS] = "no answer here").
public struct TrainingFeature: ModelFeature, Equatable {
    public var exampleIndex: Int
    public var inputIds: [Int32]
    public var tokenTypeIds: [Int32]
    public var startPosition: Int
    public var endPosition: Int

    public init(exampleIndex: Int, inputIds: [Int32], tokenTypeIds: [Int32], startPosition: Int, endPosition: Int) {
        self.exampleIndex = exampleIndex
        self.inputIds = inputIds
        self.tokenTypeIds = tokenTypeIds
        self.startPosition = startPosition
        self.endPosition = endPosition
    }
}

/// An evaluation window: the example id and, for context tokens only, character offsets
/// into the context (nil elsewhere, as run_qa sets them to None).
public struct EvaluationFeature: ModelFeature, Equatable {
    public var exampleIndex: Int
    public var exampleId: String
    public var inputIds: [Int32]
    public var tokenTypeIds: [Int32]
    public var offsets: [TokenOffset?]

    public init(exampleIndex: Int, exampleId: String, inputIds: [Int32], tokenTypeIds: [Int32], offsets: [TokenOffset?]) {
        self.exampleIndex = exampleIndex
        self.exampleId = exampleId
        self.inputIds = inputIds
        self.tokenTypeIds = tokenTypeIds
        self.offsets = offsets
    }
}

/// How a question is cleaned before tokenization.
public enum QuestionStripping: Sendable, Equatable {
    case none
    /// `question.lstrip()`: run_qa and the HF notebook do this (some SQuAD questions start
    /// with many spaces, which would eat the window's room in tokenizers that keep them).
    case lstrip
    /// `question.strip()`: the HF course's variant.
    case strip

    func apply(_ s: String) -> String {
        switch self {
        case .none: return s
        case .lstrip: return PythonText.lstrip(s)
        case .strip: return PythonText.strip(s)
        }
    }
}

/// Windowing settings shared by training and evaluation features.
public struct FeatureOptions: Sendable, Equatable {
    public var maxLength: Int
    public var stride: Int
    public var questionStripping: QuestionStripping

    /// The seed's and run_qa's settings: 384 tokens, 128 overlap, question left-stripped.
    public init(maxLength: Int = 384, stride: Int = 128, questionStripping: QuestionStripping = .lstrip) {
        self.maxLength = maxLength
        self.stride = stride
        self.questionStripping = questionStripping
    }
}

/// Builds model features from SQuAD examples with a BERT tokenizer.
public struct FeatureBuilder: Sendable {
    public let tokenizer: any QATokenizer
    public var options: FeatureOptions

    public init(tokenizer: any QATokenizer, options: FeatureOptions = FeatureOptions()) {
        self.tokenizer = tokenizer
        self.options = options
    }

    /// The seed notebook's `prepare_train_features` (HF run_qa training preprocessing).
    public func trainingFeatures(_ examples: [SQuADExample]) throws(SQuADError) -> [TrainingFeature] {
        let windows = try encode(examples)
        return windows.map { w in
            let (start, end) = TrainingLabels.positions(
                window: w, answers: examples[w.sampleIndex].answers, paddedLength: options.maxLength)
            return TrainingFeature(exampleIndex: w.sampleIndex, inputIds: w.inputIds,
                                   tokenTypeIds: w.tokenTypeIds, startPosition: start, endPosition: end)
        }
    }

    /// run_qa's `prepare_validation_features`.
    public func evaluationFeatures(_ examples: [SQuADExample]) throws(SQuADError) -> [EvaluationFeature] {
        let windows = try encode(examples)
        return windows.map { w in
            var offsets = [TokenOffset?](repeating: nil, count: w.count)
            for k in 0..<w.count where w.sequenceIds[k] == 1 { offsets[k] = w.offsets[k] }
            return EvaluationFeature(exampleIndex: w.sampleIndex, exampleId: examples[w.sampleIndex].id,
                                     inputIds: w.inputIds, tokenTypeIds: w.tokenTypeIds, offsets: offsets)
        }
    }

    /// Unpadded windows of every example, tokenized on all cores.
    ///
    /// SQuAD asks ~5 questions per paragraph, and the context dominates the text, so each
    /// distinct context is tokenized once (consecutive examples sharing it, as the files list
    /// them) and its tokens reused for every question.
    func encode(_ examples: [SQuADExample]) throws(SQuADError) -> [Encoding] {
        let window = WindowOptions(maxLength: options.maxLength, stride: options.stride, padding: .none)
        var contexts: [String] = []
        var contextOf: [Int] = []
        contextOf.reserveCapacity(examples.count)
        for e in examples {
            // Byte comparison: String's == would also merge canonically equivalent texts,
            // whose offsets differ.
            if let last = contexts.last, last.utf8.elementsEqual(e.context.utf8) {
                contextOf.append(contexts.count - 1)
            } else {
                contexts.append(e.context)
                contextOf.append(contexts.count - 1)
            }
        }
        let contextTokens = tokenizer.tokenizeBatch(contexts)
        let questionTokens = tokenizer.tokenizeBatch(examples.map { options.questionStripping.apply($0.question) })
        var windows: [Encoding] = []
        windows.reserveCapacity(examples.count + examples.count / 16)
        for i in examples.indices {
            do {
                windows += try tokenizer.encodePair(
                    question: questionTokens[i], context: contextTokens[contextOf[i]],
                    contextIsEmpty: examples[i].context.isEmpty, options: window, sampleIndex: i)
            } catch {
                throw .tokenization(exampleId: examples[i].id, reason: "\(error)")
            }
        }
        return windows
    }
}

/// Start/end token labels exactly as the seed's `prepare_train_features` computes them.
enum TrainingLabels {
    /// - Parameter paddedLength: the length the seed padded to (`max_length`). The start scan
    ///   walks past the context into [SEP] and padding (offsets [0,0]) when the answer starts in
    ///   the window's last token, so the padded length can leak into the label; we replay it.
    static func positions(window w: Encoding, answers: Answers, paddedLength: Int) -> (Int, Int) {
        let cls = 0
        guard let startChar = answers.answerStart.first, let text = answers.text.first else { return (cls, cls) }
        let endChar = startChar + text.unicodeScalars.count
        let length = max(w.count, paddedLength)
        func offset(_ k: Int) -> TokenOffset { k < w.count ? w.offsets[k] : .zero }

        guard var tokenStart = w.sequenceIds.firstIndex(of: 1),
              var tokenEnd = w.sequenceIds.lastIndex(of: 1) else { return (cls, cls) }
        guard Int(offset(tokenStart).start) <= startChar, Int(offset(tokenEnd).end) >= endChar else {
            return (cls, cls)
        }
        while tokenStart < length, Int(offset(tokenStart).start) <= startChar { tokenStart += 1 }
        // Python would index from the end below 0 (only for an empty answer at 0): stop at 0.
        while tokenEnd >= 0, Int(offset(tokenEnd).end) >= endChar { tokenEnd -= 1 }
        return (tokenStart - 1, tokenEnd + 1)
    }
}
