import Foundation

/// Counters and a latency histogram, rendered in Prometheus text format for `GET /metrics`.
final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: Int] = [:]       // "route|status" → count
    private var errors = 0
    private var batches = 0
    private var slowClients = 0
    private var batchedWindows = 0
    private var batchedRequests = 0
    private var latencyCount = 0
    private var latencySum = 0.0
    private var buckets = [Int](repeating: 0, count: ServerMetrics.bounds.count)
    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private var requestWindows = 0
    private var windowRequests = 0
    private var windowBuckets = [Int](repeating: 0, count: ServerMetrics.windowBounds.count)
    static let windowBounds: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]

    func record(route: String, status: Int, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        requests["\(route)|\(status)", default: 0] += 1
        if status >= 400 { errors += 1 }
        latencyCount += 1
        latencySum += seconds
        for (i, bound) in Self.bounds.enumerated() where seconds <= bound { buckets[i] += 1 }
    }

    /// The windows one answer request needs (counted before it queues).
    func recordWindows(_ windows: Int) {
        lock.lock()
        requestWindows += windows
        for (i, bound) in Self.windowBounds.enumerated() where Double(windows) <= bound { windowBuckets[i] += 1 }
        windowRequests += 1
        lock.unlock()
    }

    /// A connection closed because no whole request arrived on it in time.
    func recordSlowClient() {
        lock.withLock { slowClients += 1 }
    }

    /// One pass of the model: its windows, and how many requests they came from.
    func recordPass(windows: Int, requests: Int) {
        lock.lock()
        batches += 1
        batchedWindows += windows
        batchedRequests += requests
        lock.unlock()
    }

    func render() -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = "# HELP bertqa_requests_total HTTP requests by route and status.\n# TYPE bertqa_requests_total counter\n"
        for key in requests.keys.sorted() {
            let parts = key.split(separator: "|", maxSplits: 1)
            out += "bertqa_requests_total{route=\"\(parts[0])\",status=\"\(parts[1])\"} \(requests[key]!)\n"
        }
        out += "# HELP bertqa_errors_total Requests answered with a 4xx or 5xx status.\n# TYPE bertqa_errors_total counter\n"
        out += "bertqa_errors_total \(errors)\n"
        out += Self.histogram("bertqa_request_duration_seconds", help: "Request latency.",
                              bounds: Self.bounds.map { "\($0)" }, buckets: buckets, count: latencyCount, sum: "\(latencySum)")
        out += "# HELP bertqa_connections_timed_out_total Connections closed because no whole request arrived on them within --read-timeout (slow, stalled or idle clients).\n# TYPE bertqa_connections_timed_out_total counter\n"
        out += "bertqa_connections_timed_out_total \(slowClients)\n"
        out += "# HELP bertqa_model_batches_total Passes (batches) run by the model.\n# TYPE bertqa_model_batches_total counter\n"
        out += "bertqa_model_batches_total \(batches)\n"
        out += "# HELP bertqa_model_batched_windows_total Windows computed in those passes.\n# TYPE bertqa_model_batched_windows_total counter\n"
        out += "bertqa_model_batched_windows_total \(batchedWindows)\n"
        out += "# HELP bertqa_model_batched_requests_total Requests served by those passes, counted once per pass (a long request shares several).\n# TYPE bertqa_model_batched_requests_total counter\n"
        out += "bertqa_model_batched_requests_total \(batchedRequests)\n"
        out += Self.histogram("bertqa_request_windows", help: "Windows of the model each answer request needed.",
                              bounds: Self.windowBounds.map { "\(Int($0))" }, buckets: windowBuckets, count: windowRequests,
                              sum: "\(requestWindows)")
        return out
    }

    /// One histogram in Prometheus text: cumulative buckets by upper bound, then +Inf, sum, count.
    private static func histogram(_ name: String, help: String, bounds: [String], buckets: [Int], count: Int, sum: String) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (bound, n) in zip(bounds, buckets) { out += "\(name)_bucket{le=\"\(bound)\"} \(n)\n" }
        return out + "\(name)_bucket{le=\"+Inf\"} \(count)\n\(name)_sum \(sum)\n\(name)_count \(count)\n"
    }
}
