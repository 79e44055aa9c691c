import Dispatch

/// Wall time per kind of operation over forward/backward passes, for `bertqa bench --profile`.
/// Attach one to a workspace (`workspace.profile`); with none attached (the default) the
/// passes only pay a nil check per operation.
public final class OperationProfile: @unchecked Sendable {
    public enum Operation: String, CaseIterable, Sendable {
        case embeddings = "embeddings + LayerNorm"
        case matmul = "matmul (+bias, +GELU)"
        case attention = "attention (scores, softmax, ·v)"
        case residualLayerNorm = "residual + LayerNorm"
        case dropout = "dropout"
        case head = "QA head + loss"
        case headBackward = "backward: QA head + loss"
        case matmulBackward = "backward: matmul (+activation, dW, db)"
        case attentionBackward = "backward: attention"
        case layerNormBackward = "backward: LayerNorm (+dropout)"
        case embeddingsBackward = "backward: embeddings + LayerNorm"
    }

    public private(set) var seconds = [Double](repeating: 0, count: Operation.allCases.count)
    public private(set) var calls = [Int](repeating: 0, count: Operation.allCases.count)

    public init() {}

    public func reset() {
        for i in seconds.indices { seconds[i] = 0; calls[i] = 0 }
    }

    /// (operation, seconds, calls) in declaration order, skipping operations never timed.
    public var entries: [(operation: Operation, seconds: Double, calls: Int)] {
        Operation.allCases.enumerated().compactMap { i, op in calls[i] > 0 ? (op, seconds[i], calls[i]) : nil }
    }

    func record(_ op: Operation, since start: UInt64) {
        let i = Operation.allCases.firstIndex(of: op) ?? 0
        seconds[i] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        calls[i] += 1
    }
}

/// Runs `body`, charging its time to `op` when a profile is attached.
@inline(__always)
func timed(_ profile: OperationProfile?, _ op: OperationProfile.Operation, _ body: () -> Void) {
    guard let profile else { return body() }
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    profile.record(op, since: start)
}
