import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A progress bar per file on stderr, redrawn at most ten times a second; nil off a terminal
/// (logs and pipes stay quiet).
public final class TerminalProgress: DownloadProgress {
    private struct State { var file = ""; var lastDraw: UInt64 = 0; var started: UInt64 = 0; var firstByte: Int64 = 0 }
    private let state = Mutex(State())

    public static func onTerminal() -> TerminalProgress? { isatty(2) != 0 ? TerminalProgress() : nil }

    public func update(file: String, received: Int64, total: Int64?) {
        let now = DispatchTime.now().uptimeNanoseconds
        let line: String? = state.withLock { state in
            if state.file != file { state = State(file: file, lastDraw: 0, started: now, firstByte: received) }
            guard now - state.lastDraw > 100_000_000 else { return nil }
            state.lastDraw = now
            let seconds = Double(now - state.started) / 1e9
            let rate = seconds > 0 ? Double(received - state.firstByte) / seconds : 0
            return Self.render(file: file, received: received, total: total, rate: rate)
        }
        if let line { FileHandle.standardError.write(Data(("\r" + line).utf8)) }
    }

    public func finish(file: String) {
        FileHandle.standardError.write(Data("\r\u{1B}[K\(file): done\n".utf8))
    }

    static func render(file: String, received: Int64, total: Int64?, rate: Double) -> String {
        let mb = { (bytes: Int64) in String(format: "%.1f", Double(bytes) / 1e6) }
        let speed = String(format: "%.1f MB/s", rate / 1e6)
        guard let total, total > 0 else { return "\(file): \(mb(received)) MB  \(speed)\u{1B}[K" }
        let fraction = min(1, Double(received) / Double(total))
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        return "\(file) \(bar) \(Int(fraction * 100))% \(mb(received))/\(mb(total)) MB  \(speed)\u{1B}[K"
    }
}
