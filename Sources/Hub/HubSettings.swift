import Foundation

/// Where the Hub is and how to talk to it, read from the variables huggingface_hub reads.
public struct HubSettings: Sendable {
    /// `HF_ENDPOINT`, default the public Hub; no trailing slash.
    public var endpoint: String
    /// `HF_TOKEN`, else the file huggingface_hub's login writes (`HF_TOKEN_PATH`, else `HF_HOME/token`).
    public var token: String?
    /// `HF_HUB_OFFLINE=1`: the cache only, never the network.
    public var offline: Bool
    public var cache: HubCache
    /// Called as a file arrives; nil for quiet.
    public var progress: (any DownloadProgress)?
    /// Connect and read (between two packets) timeouts.
    public var connectTimeout: Duration = .seconds(10)
    public var readTimeout: Duration = .seconds(60)

    public init(endpoint: String = "https://huggingface.co", token: String? = nil, offline: Bool = false,
                cache: HubCache, progress: (any DownloadProgress)? = nil) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.token = token
        self.offline = offline
        self.cache = cache
        self.progress = progress
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       progress: (any DownloadProgress)? = nil) -> HubSettings {
        let truthy: Set<String> = ["1", "ON", "YES", "TRUE"]
        return HubSettings(
            endpoint: environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co",
            token: token(environment),
            offline: truthy.contains(environment["HF_HUB_OFFLINE"]?.uppercased() ?? ""),
            cache: .fromEnvironment(environment),
            progress: progress)
    }

    static func token(_ environment: [String: String]) -> String? {
        for name in ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"] {
            if let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty { return value }
        }
        let file = environment["HF_TOKEN_PATH"].map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
            ?? HubCache.hfHome(environment).appendingPathComponent("token")
        let text = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Told how far a download has got.
public protocol DownloadProgress: Sendable {
    func update(file: String, received: Int64, total: Int64?)
    func finish(file: String)
}
