import Dispatch

/// Wall time per kind of operation over forward/backward passes, for `bertqa bench --profile`.
/// Attach one to a workspace (`workspace.profile`); with none attached (the default) the
/// passes only pay a nil check per operation.
public final class OperationProfile: @unchecked Sendable {
    public enum Operation: String, CaseIterable, Sendable {
        case embeddings = "embeddings + LayerNorm"
        case qkvDense = "matmul: q|k|v projection (+bias)"
        case attention = "attention (scores, softmax, ·v)"
        case attentionOutputDense = "matmul: attention output dense (+bias)"
        case intermediateDense = "matmul: intermediate dense (+bias, act.)"
        case outputDense = "matmul: output dense (+bias)"
        case residualLayerNorm = "residual + LayerNorm"
        case dropout = "dropout"
        case head = "QA head + loss"
        case headBackward = "backward: QA head + loss"
        case outputDenseBackward = "backward: output dense (+act., dW, db)"
        case intermediateDenseBackward = "backward: intermediate dense (dW, db)"
        case attentionOutputDenseBackward = "backward: attention output dense"
        case attentionBackward = "backward: attention"
        case qkvDenseBackward = "backward: q|k|v projection (dW, db)"
        case layerNormBackward = "backward: LayerNorm (+dropout)"
        case embeddingsBackward = "backward: embeddings + LayerNorm"
    }

    public private(set) var seconds = [Double](repeating: 0, count: Operation.allCases.count)
    public private(set) var calls = [Int](repeating: 0, count: Operation.allCases.count)
    /// Floating-point operations counted for the matrix products and attention (0 elsewhere).
    public private(set) var flops = [Double](repeating: 0, count: Operation.allCases.count)

    public init() {}

    public func reset() {
        for i in seconds.indices { seconds[i] = 0; calls[i] = 0; flops[i] = 0 }
    }

    /// (operation, seconds, calls, flops) in declaration order, skipping operations never timed.
    public var entries: [(operation: Operation, seconds: Double, calls: Int, flops: Double)] {
        Operation.allCases.enumerated().compactMap { i, op in calls[i] > 0 ? (op, seconds[i], calls[i], flops[i]) : nil }
    }

    func record(_ op: Operation, since start: UInt64, flops: Double) {
        let i = Operation.allCases.firstIndex(of: op) ?? 0
        seconds[i] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        calls[i] += 1
        self.flops[i] += flops
    }
}

/// Runs `body`, charging its time (and `flops`, for a GFLOP/s figure) to `op` when a profile
/// is attached.
@inline(__always)
func timed<T>(_ profile: OperationProfile?, _ op: OperationProfile.Operation, flops: @autoclosure () -> Double = 0,
              _ body: () throws -> T) rethrows -> T {
    guard let profile else { return try body() }
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    profile.record(op, since: start, flops: flops())
    return result
}

/// 2·m·n·k: the floating-point operations of an (m,k)·(k,n) product.
@inline(__always)
func productFlops(_ m: Int, _ n: Int, _ k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }
