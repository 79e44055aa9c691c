import BERT
import SQuAD

extension BertBatch {
    /// The model's input for a padded batch of SQuAD windows: the one place where the text
    /// side's `FeatureBatch` becomes the model's `BertBatch` (answering, evaluation, training).
    public init(_ batch: FeatureBatch) throws {
        try self.init(batchSize: batch.batchSize, sequenceLength: batch.sequenceLength, inputIDs: batch.inputIds,
                      tokenTypeIDs: batch.tokenTypeIds, attentionMask: batch.attentionMask)
    }
}
