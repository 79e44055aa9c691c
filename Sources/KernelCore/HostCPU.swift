import Foundation

/// The CPU this process runs on, as benchmark reports and `bertqa --version` name it: the model
/// name, family and model numbers, and the vector flags that choose code paths (from
/// /proc/cpuinfo on Linux; "unknown" fields elsewhere).
public struct HostCPU: Sendable, Equatable {
    public var modelName = "unknown CPU"
    public var family: Int?
    public var model: Int?
    /// The flags among `HostCPU.pathFlags` that the CPU lists, in that order.
    public var flags: [String] = []
    /// Every flag the CPU lists (nil when there was no cpuinfo to read).
    public var allFlags: Set<String>?
    public var cores = ProcessInfo.processInfo.activeProcessorCount

    /// The flags that decide which kernels run (ours and oneDNN's).
    public static let pathFlags = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                                   "amx_tile", "amx_bf16", "amx_int8", "avx_vnni", "asimd", "sve"]

    public static let current: HostCPU = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return HostCPU() }
        return HostCPU(cpuinfo: text)
    }()

    public init() {}

    /// Reads the first processor's entry of a /proc/cpuinfo text (x86 and aarch64 spellings).
    public init(cpuinfo: String) {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty, !fields.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        modelName = fields["model name"] ?? fields["CPU part"].map { "CPU part \($0)" } ?? modelName
        family = fields["cpu family"].flatMap { Int($0) }
        model = fields["model"].flatMap { Int($0) }
        let listed = Set((fields["flags"] ?? fields["Features"] ?? "").split(separator: " ").map(String.init))
        flags = Self.pathFlags.filter(listed.contains)
        allFlags = listed.isEmpty ? nil : listed
    }

    /// Whether the CPU lists every one of `flags`; nil when it is not known (no cpuinfo).
    public func has(_ flags: [String]) -> Bool? {
        allFlags.map { listed in flags.allSatisfy(listed.contains) }
    }

    /// "AMD EPYC 7B13 (family 25, model 1; avx2 fma), 2 cores".
    public var description: String {
        let numbers = [family.map { "family \($0)" }, model.map { "model \($0)" }].compactMap { $0 }.joined(separator: ", ")
        let inner = [numbers, flags.isEmpty ? "" : flags.joined(separator: " ")].filter { !$0.isEmpty }.joined(separator: "; ")
        return "\(modelName)\(inner.isEmpty ? "" : " (\(inner))"), \(cores) core\(cores == 1 ? "" : "s")"
    }
}
