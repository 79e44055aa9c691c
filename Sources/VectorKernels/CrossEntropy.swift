import Foundation
import KernelCore

// Cross-entropy over positions, as torch.nn.CrossEntropyLoss(ignore_index:) computes it per
// row; BertForQuestionAnswering averages the start and end losses of these.

extension SIMDKernels {
    /// probs and logits are (B,T); targets are (B) in 0...T, where T is the ignore index.
    /// Writes softmax(logits) into probs (the backward's input) and returns the summed loss over
    /// rows whose target is not ignored, with the count of those rows.
    public static func crossEntropyForward(
        probs: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        batch: Int, classes: Int, ignoreIndex: Int
    ) -> (sum: Double, count: Int) {
        var total = 0.0
        var count = 0
        for b in 0..<batch {
            let row = logits + b * classes, p = probs + b * classes
            var mx = -Float.infinity
            for j in 0..<classes { mx = max(mx, row[j]) }
            var sum: Float = 0
            for j in 0..<classes {
                let e = VectorMath.exp(Vec16(repeating: row[j] - mx))[0]
                p[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0..<classes { p[j] *= inv }
            let target = Int(targets[b])
            guard target != ignoreIndex, target >= 0, target < classes else { continue }
            // -log softmax = logsumexp - x = (max + log sum) - x
            total += Double(mx) + log(Double(sum)) - Double(row[target])
            count += 1
        }
        return (total, count)
    }

    /// Backward of `crossEntropyForward` for a loss `weight · (Σ row losses) / count`:
    /// dlogits (B,classes) (written, with row stride `stride` so start and end can go straight
    /// into the interleaved (B·T,2) layout of the QA head) = weight/count · (probs − onehot(target)),
    /// 0 on ignored rows. With count 0 (every row ignored; the loss is NaN) the gradient is 0.
    public static func crossEntropyBackward(
        dlogits: UnsafeMutablePointer<Float>, stride: Int, probs: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        batch: Int, classes: Int, ignoreIndex: Int, count: Int, weight: Float
    ) {
        let scale = count > 0 ? weight / Float(count) : 0
        for b in 0..<batch {
            let target = Int(targets[b])
            let ignored = target == ignoreIndex || target < 0 || target >= classes
            for j in 0..<classes {
                let index = (b * classes + j) * stride
                if ignored {
                    dlogits[index] = 0
                } else {
                    dlogits[index] = (probs[b * classes + j] - (j == target ? 1 : 0)) * scale
                }
            }
        }
    }
}
