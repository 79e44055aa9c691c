/// A batch of B windows of T tokens (padded), as the model takes them; row-major (B,T).
public struct BertBatch: Sendable, Equatable {
    public let batchSize: Int
    public let sequenceLength: Int
    public var inputIDs: [Int32]
    public var tokenTypeIDs: [Int32]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int32]

    /// Checks that every array holds B·T values.
    public init(batchSize: Int, sequenceLength: Int, inputIDs: [Int32],
                tokenTypeIDs: [Int32]? = nil, attentionMask: [Int32]? = nil) throws {
        let n = batchSize * sequenceLength
        guard batchSize > 0, sequenceLength > 0 else {
            throw BertError.invalidInput("batch shape must be positive, got \(batchSize) × \(sequenceLength)")
        }
        let types = tokenTypeIDs ?? [Int32](repeating: 0, count: n)
        let mask = attentionMask ?? [Int32](repeating: 1, count: n)
        for (name, count) in [("input_ids", inputIDs.count), ("token_type_ids", types.count), ("attention_mask", mask.count)]
        where count != n {
            throw BertError.invalidInput("\(name) has \(count) values; batch \(batchSize) × \(sequenceLength) needs \(n)")
        }
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.inputIDs = inputIDs
        self.tokenTypeIDs = types
        self.attentionMask = mask
    }

    /// Convenience for Int inputs.
    public init(batchSize: Int, sequenceLength: Int, inputIDs: [Int],
                tokenTypeIDs: [Int]? = nil, attentionMask: [Int]? = nil) throws {
        try self.init(
            batchSize: batchSize, sequenceLength: sequenceLength,
            inputIDs: try Self.narrow(inputIDs, "input_ids"),
            tokenTypeIDs: try tokenTypeIDs.map { try Self.narrow($0, "token_type_ids") },
            attentionMask: try attentionMask.map { try Self.narrow($0, "attention_mask") })
    }

    private static func narrow(_ values: [Int], _ name: String) throws -> [Int32] {
        try values.map {
            guard let v = Int32(exactly: $0) else { throw BertError.invalidInput("\(name) value \($0) is out of Int32 range") }
            return v
        }
    }
}
