import Foundation

/// Peak resident set size of this process (VmHWM), in MB; 0 where /proc is absent.
public func peakRSSMegabytes() -> Double { statusMegabytes("VmHWM:") }

/// Resident set size of this process now (VmRSS), in MB; 0 where /proc is absent.
public func residentMegabytes() -> Double { statusMegabytes("VmRSS:") }

private func statusMegabytes(_ field: String) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(field) {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
