import Foundation
import Prometheus

/// What `GET /metrics` reports, kept in a swift-prometheus registry and written in Prometheus's
/// text format: responses by route and status, their latency, the windows each answer request
/// needed, the model's passes, and connections closed for slowness.
final class ServerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let errors: Counter
    private let latency: DurationHistogram
    private let requestWindows: ValueHistogram
    private let passes: Counter
    private let passWindows: Counter
    private let passRequests: Counter
    private let timedOut: Counter

    init() {
        errors = registry.makeCounter(name: "bertqa_errors_total", help: "Requests answered with a 4xx or 5xx status.")
        latency = registry.makeDurationHistogram(
            name: "bertqa_request_duration_seconds",
            buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000].map { Duration.milliseconds($0) },
            help: "Request latency.")
        requestWindows = registry.makeValueHistogram(
            name: "bertqa_request_windows", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
            help: "Windows of the model each answer request needed.")
        passes = registry.makeCounter(name: "bertqa_model_batches_total", help: "Passes (batches) run by the model.")
        passWindows = registry.makeCounter(name: "bertqa_model_batched_windows_total", help: "Windows computed in those passes.")
        passRequests = registry.makeCounter(
            name: "bertqa_model_batched_requests_total",
            help: "Requests served by those passes, counted once per pass (a long request shares several).")
        timedOut = registry.makeCounter(
            name: "bertqa_connections_timed_out_total",
            help: "Connections closed because no whole request arrived on them within --read-timeout (slow, stalled or idle clients).")
    }

    /// One response. `seconds` nil: not timed (scraping /metrics should not move the histogram).
    func record(route: String, status: Int, seconds: Double?) {
        registry.makeCounter(name: "bertqa_requests_total", labels: [("route", route), ("status", "\(status)")],
                             help: "HTTP requests by route and status.").increment()
        if status >= 400 { errors.increment() }
        if let seconds { latency.record(.nanoseconds(Int64(seconds * 1e9))) }
    }

    /// The windows one answer request needs (counted before it queues).
    func recordWindows(_ windows: Int) { requestWindows.record(Double(windows)) }

    /// One pass of the model: its windows, and how many requests they came from.
    func recordPass(windows: Int, requests: Int) {
        passes.increment()
        passWindows.increment(by: Int64(windows))
        passRequests.increment(by: Int64(requests))
    }

    /// A connection closed because no whole request arrived on it in time.
    func recordSlowClient() { timedOut.increment() }

    func render() -> String { registry.emitToString() }
}
