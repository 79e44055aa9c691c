import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The Hugging Face cache as `huggingface_hub` lays it out (`file_download.py`), so that one
/// cache serves Python tools and bertqa alike:
///
///     <root>/models--org--name/
///         blobs/<etag>                      the files' bytes, named by the Hub's ETag
///         blobs/<etag>.incomplete           a transfer in progress (resumed with Range)
///         refs/<revision>                   the commit a branch or tag pointed to when last asked
///         snapshots/<commit>/<file>         symlink → ../../blobs/<etag>
///     <root>/.locks/models--org--name/<etag>.lock   flock'd while a blob is written
public struct HubCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// `HF_HUB_CACHE`, else `HF_HOME/hub`, else `XDG_CACHE_HOME/huggingface/hub`, else
    /// `~/.cache/huggingface/hub`: huggingface_hub's order.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> HubCache {
        if let hub = environment["HF_HUB_CACHE"] ?? environment["HUGGINGFACE_HUB_CACHE"], !hub.isEmpty {
            return HubCache(root: URL(fileURLWithPath: expandTilde(hub)))
        }
        return HubCache(root: hfHome(environment).appendingPathComponent("hub"))
    }

    /// `HF_HOME`, else `XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    static func hfHome(_ environment: [String: String]) -> URL {
        if let home = environment["HF_HOME"], !home.isEmpty { return URL(fileURLWithPath: expandTilde(home)) }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: expandTilde($0)) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cache.appendingPathComponent("huggingface")
    }

    private static func expandTilde(_ path: String) -> String { (path as NSString).expandingTildeInPath }

    public func repoFolder(_ repo: String) -> URL {
        root.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
    }

    func blob(_ repo: String, etag: String) -> URL { repoFolder(repo).appendingPathComponent("blobs").appendingPathComponent(etag) }

    func lockFile(_ repo: String, etag: String) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(repoFolder(repo).lastPathComponent)
            .appendingPathComponent(etag + ".lock")
    }

    public func snapshot(_ repo: String, commit: String) -> URL {
        repoFolder(repo).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }

    func ref(_ repo: String, revision: String) -> URL {
        repoFolder(repo).appendingPathComponent("refs").appendingPathComponent(revision)
    }

    /// The commit `revision` names in the cache: the ref's content, or the revision itself when it
    /// is a full commit hash; nil when neither is known here.
    public func commit(_ repo: String, revision: String) -> String? {
        if let text = try? String(contentsOf: ref(repo, revision: revision), encoding: .utf8) {
            let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !commit.isEmpty { return commit }
        }
        return Self.isCommitHash(revision) ? revision : nil
    }

    /// The cached snapshot of `revision` when it holds a config.json (the one file every model has).
    public func cachedSnapshot(_ repo: String, revision: String) -> URL? {
        guard let commit = commit(repo, revision: revision) else { return nil }
        let folder = snapshot(repo, commit: commit)
        return FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) ? folder : nil
    }

    static func isCommitHash(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Points `snapshots/<commit>/<file>` at the blob, as a relative symlink (what
    /// huggingface_hub makes), replacing whatever link was there in one rename.
    func link(_ repo: String, commit: String, file: String, etag: String) throws(HubError) {
        let pointer = snapshot(repo, commit: commit).appendingPathComponent(file)
        let folder = pointer.deletingLastPathComponent()
        let depth = file.split(separator: "/").count + 1  // up from <file>'s folder to the repo folder
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        let temp = folder.appendingPathComponent(".\(pointer.lastPathComponent).link-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: temp)
            try FileManager.default.createSymbolicLink(atPath: temp.path, withDestinationPath: target)
        } catch {
            throw .cannotWrite(path: pointer.path, reason: "\(error)")
        }
        guard rename(temp.path, pointer.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw .cannotWrite(path: pointer.path, reason: reason)
        }
    }

    /// Records the commit a branch or tag resolved to, so that an offline run finds it.
    func writeRef(_ repo: String, revision: String, commit: String) throws(HubError) {
        guard revision != commit else { return }
        let url = ref(repo, revision: revision)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(commit.utf8).write(to: url, options: .atomic)
        } catch {
            throw .cannotWrite(path: url.path, reason: "\(error)")
        }
    }
}

/// An exclusive `flock` on huggingface_hub's lock file for a blob (its `filelock` takes the same
/// kind of lock), so that two processes never write one blob at once.
struct BlobLock {
    private let descriptor: Int32

    init(_ url: URL) throws(HubError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path: url.deletingLastPathComponent().path, reason: "\(error)")
        }
        let fd = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: url.path, reason: String(cString: strerror(errno))) }
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        descriptor = fd
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
