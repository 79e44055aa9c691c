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

    static func chunk(_ items: [Int], _ size: Int) -> [[Int]] {
        let size = max(1, size)
        return stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }
}
