import Foundation

/// Finds `../shared` (the read-only reference data beside the repository) for parity tests.
/// Tests that need it skip with a visible message when it is absent.
public enum Golden {
    /// The repository root, found from this file's path.
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }()

    /// `../shared`, or `$BERTQA_SHARED` when set; nil when absent.
    public static let shared: URL? = {
        if let env = ProcessInfo.processInfo.environment["BERTQA_SHARED"] {
            return URL(fileURLWithPath: env)
        }
        let url = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    /// A file under `../shared`, or nil (with a message for the skip) when absent.
    public static func file(_ relative: String) -> URL? {
        guard let shared else { return nil }
        let url = shared.appendingPathComponent(relative)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    public static func skipMessage(_ relative: String) -> String {
        "SKIPPED: ../shared/\(relative) is absent; this parity test needs the reference data"
    }

    /// The MiniLM model folder.
    public static var miniLM: URL? { file("models/all-MiniLM-L6-v2") }

    /// Parses a JSON-lines file into objects.
    public static func jsonLines(_ url: URL) throws -> [[String: Any]] {
        let data = try Data(contentsOf: url)
        var result: [[String: Any]] = []
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            if end > start {
                let object = try JSONSerialization.jsonObject(with: data[start..<end])
                guard let dict = object as? [String: Any] else {
                    throw NSError(domain: "Golden", code: 1, userInfo: [NSLocalizedDescriptionKey: "line is not an object in \(url.path)"])
                }
                result.append(dict)
            }
            start = end + 1
        }
        return result
    }

    public static func json(_ url: URL) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }

    /// JSON numbers as Ints.
    public static func ints(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        out.reserveCapacity(array.count)
        for v in array {
            guard let n = v as? Int else { return nil }
            out.append(n)
        }
        return out
    }

    /// `[[s, e], ...]` offsets; a JSON null becomes nil.
    public static func offsets(_ value: Any?) -> [[Int]?]? {
        guard let array = value as? [Any] else { return nil }
        return array.map { item in
            if item is NSNull { return nil }
            return ints(item)
        }
    }
}
