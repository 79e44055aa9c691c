/// How a batch's windows are padded. Padding tokens are masked out, so both choices give the
/// same logits on real tokens; `.longest` skips the compute on padding.
public enum BatchPadding: Sendable, Equatable {
    /// Every row padded to this many tokens (the seed: 384).
    case maxLength(Int)
    /// Rows padded to the longest window of the batch.
    case longest
}

/// A padded batch, row-major `[batchSize, sequenceLength]` Int32 arrays ready for the model.
public struct FeatureBatch: Sendable, Equatable {
    public var batchSize: Int
    public var sequenceLength: Int
    public var inputIds: [Int32]
    public var tokenTypeIds: [Int32]
    public var attentionMask: [Int32]
    /// Which feature each row holds (indices into the feature list given to `make`).
    public var featureIndices: [Int]

    /// Pads the features at `indices` into one batch. `padId` is the tokenizer's [PAD] id;
    /// padding has token type 0 and attention mask 0, as HF pads on the right.
    public static func make<F: ModelFeature>(_ features: [F], indices: [Int], padding: BatchPadding,
                                             padId: Int32) throws(SQuADError) -> FeatureBatch {
        for i in indices where i < 0 || i >= features.count {
            throw .invalidOption("batch index \(i) is outside the \(features.count) features")
        }
        let longest = indices.map { features[$0].inputIds.count }.max() ?? 0
        let length: Int
        switch padding {
        case .longest:
            length = longest
        case .maxLength(let n):
            if longest > n { throw .invalidOption("a window of \(longest) tokens does not fit max_length \(n)") }
            length = n
        }
        let count = indices.count * length
        var ids = [Int32](repeating: padId, count: count)
        var types = [Int32](repeating: 0, count: count)
        var mask = [Int32](repeating: 0, count: count)
        for (row, i) in indices.enumerated() {
            let f = features[i]
            let base = row * length
            for k in 0..<f.inputIds.count {
                ids[base + k] = f.inputIds[k]
                types[base + k] = f.tokenTypeIds[k]
                mask[base + k] = 1
            }
        }
        return FeatureBatch(batchSize: indices.count, sequenceLength: length, inputIds: ids,
                            tokenTypeIds: types, attentionMask: mask, featureIndices: indices)
    }
}

/// Splits feature indices into batches.
public enum Batching {
    /// Consecutive batches of `batchSize` in the given order (the last one may be short).
    public static func sequential(count: Int, batchSize: Int) -> [[Int]] {
        chunk(Array(0..<count), batchSize)
    }

    /// Length-grouped batches, in the spirit of HF's `LengthGroupedSampler`: indices (shuffled
    /// when `seed` is given) are cut into mega-batches of `batchSize × megaBatchFactor`, each
    /// sorted by length, longest first, then cut into batches. Windows of one batch have
    /// similar lengths, so `.longest` padding wastes little.
    public static func lengthGrouped(lengths: [Int], batchSize: Int, megaBatchFactor: Int = 50,
                                     seed: UInt64? = nil) -> [[Int]] {
        var order = Array(lengths.indices)
        if let seed {
            var rng = SplitMix64(seed: seed)
            order.shuffle(using: &rng)
        }
        let mega = max(1, batchSize) * max(1, megaBatchFactor)
        var batches: [[Int]] = []
        for group in chunk(order, mega) {
            // Stable: equal lengths keep their (possibly shuffled) order.
            let sorted = group.enumerated().sorted { a, b in
                lengths[a.element] != lengths[b.element] ? lengths[a.element] > lengths[b.element] : a.offset < b.offset
            }.map(\.element)
            batches.append(contentsOf: chunk(sorted, batchSize))
        }
        return batches
    }

    /// All items sorted longest first (stable), then cut into batches: the least padding, for
    /// passes whose results do not depend on the order (evaluation, validation loss).
    public static func byLength(lengths: [Int], batchSize: Int) -> [[Int]] {
        let size = max(1, batchSize)
        // One group holding every item (count / size would leave the last count % size items
        // in a group of their own).
        return lengthGrouped(lengths: lengths, batchSize: size, megaBatchFactor: max(1, (lengths.count + size - 1) / size))
    }

    static func chunk(_ items: [Int], _ size: Int) -> [[Int]] {
        let size = max(1, size)
        return stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }
}

/// Gathers a model's per-row start/end logits from batches back into per-feature rows, in
/// feature order, for `PostProcess.run`. Rows keep the batch's padded length, as HF keeps
/// the padded logits: with `.maxLength` padding the padding positions compete for the top
/// n-best indices exactly as in HF; with `.longest` they are partly absent.
public struct LogitCollector: Sendable {
    public private(set) var start: [[Float]?]
    public private(set) var end: [[Float]?]

    public init(featureCount: Int) {
        start = Array(repeating: nil, count: featureCount)
        end = Array(repeating: nil, count: featureCount)
    }

    /// `startLogits` / `endLogits`: row-major `[batch.batchSize, batch.sequenceLength]`.
    public mutating func add(_ batch: FeatureBatch, startLogits: [Float], endLogits: [Float]) throws(SQuADError) {
        let t = batch.sequenceLength
        guard startLogits.count == batch.batchSize * t, endLogits.count == batch.batchSize * t else {
            throw .mismatch("a batch of \(batch.batchSize)×\(t) got \(startLogits.count) start and \(endLogits.count) end logits")
        }
        for (row, f) in batch.featureIndices.enumerated() {
            guard f >= 0, f < start.count else { throw .mismatch("feature index \(f) is outside the \(start.count) features") }
            start[f] = Array(startLogits[row * t..<(row + 1) * t])
            end[f] = Array(endLogits[row * t..<(row + 1) * t])
        }
    }

    /// All rows; throws when a feature never got logits.
    public func rows() throws(SQuADError) -> (start: [[Float]], end: [[Float]]) {
        var s: [[Float]] = [], e: [[Float]] = []
        s.reserveCapacity(start.count)
        e.reserveCapacity(end.count)
        for f in start.indices {
            guard let a = start[f], let b = end[f] else { throw .mismatch("feature \(f) has no logits") }
            s.append(a)
            e.append(b)
        }
        return (s, e)
    }
}
