import Dispatch

/// Sums a flat gradient buffer over the ranks in buckets, each started as soon as the backward
/// pass has finished every gradient in it, so that the sums travel while earlier layers are
/// still being differentiated (as PyTorch's DistributedDataParallel buckets its gradients).
///
/// The buckets are fixed from the start, cut at the model's layer boundaries, and started in
/// one fixed order (highest offsets first: the head and the last layers, whose gradients come
/// first), so every rank issues the same collectives in the same order whatever its timing.
public final class GradientReduction {
    public let communicator: Communicator
    public let buckets: [Range<Int>]
    /// Start each bucket as soon as it is ready (true) or all of them after the backward pass.
    public var overlap = true
    /// Seconds spent waiting for sums at the end of steps (the communication not hidden).
    public private(set) var waitSeconds = 0.0
    private let buffer: UnsafeMutablePointer<Float>
    private var readyCount: [Int]
    private var next = 0
    private var requests: [Communicator.Request] = []

    /// `boundaries`: offsets where the backward pass completes a group of gradients (layer
    /// edges); buckets hold about `bucketFloats` floats, cut only at these boundaries.
    public init(communicator: Communicator, buffer: UnsafeMutablePointer<Float>, count: Int,
                boundaries: [Int], bucketFloats: Int = 1 << 21) {
        self.communicator = communicator
        self.buffer = buffer
        let cuts = Set(boundaries.filter { $0 > 0 && $0 < count } + [0, count]).sorted(by: >)
        var plan: [Range<Int>] = []
        var end = count
        for (i, cut) in cuts.enumerated() where i > 0 {
            if end - cut >= bucketFloats || cut == 0 {
                plan.append(cut ..< end)
                end = cut
            }
        }
        buckets = plan
        readyCount = Array(repeating: 0, count: plan.count)
    }

    /// Before a step's last backward pass.
    public func begin() {
        for i in readyCount.indices { readyCount[i] = 0 }
        next = 0
        requests.removeAll(keepingCapacity: true)
    }

    /// The backward pass has finished the gradients in `range` (each float reported once).
    public func ready(_ range: Range<Int>) throws {
        for (i, b) in buckets.enumerated() where b.overlaps(range) {
            readyCount[i] += b.clamped(to: range).count
        }
        guard overlap else { return }
        try startReadyBuckets()
        try communicator.progress(requests)
    }

    /// After the backward pass: starts what is left and waits for every sum.
    public func finish() throws {
        for i in readyCount.indices { readyCount[i] = buckets[i].count }
        try startReadyBuckets()
        let start = DispatchTime.now().uptimeNanoseconds
        try communicator.wait(requests)
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func startReadyBuckets() throws {
        while next < buckets.count && readyCount[next] == buckets[next].count {
            let b = buckets[next]
            requests.append(try communicator.startSum(buffer + b.lowerBound, count: b.count,
                                                      what: "the gradients' sum, bucket \(next + 1) of \(buckets.count)"))
            next += 1
        }
    }
}
