import Foundation

/// Why a model could not be had from the Hub or its cache: one line each, saying what to do.
public enum HubError: Error, CustomStringConvertible, Equatable {
    /// The Hub answered 404 (`X-Error-Code: RepoNotFound`), or 401 without a token: a private
    /// repository looks the same as a missing one until the user authenticates.
    case repositoryNotFound(repo: String, endpoint: String, tokenSent: Bool)
    case revisionNotFound(repo: String, revision: String)
    case fileNotFound(repo: String, file: String, revision: String)
    /// 401/403 with `X-Error-Code: GatedRepo`: the model's conditions must be accepted first.
    case gated(repo: String, endpoint: String, tokenSent: Bool)
    /// 401/403 otherwise: the token was refused.
    case unauthorized(repo: String, tokenSent: Bool)
    case offlineNotCached(repo: String, revision: String, cache: String)
    case network(endpoint: String, reason: String)
    case timeout(url: String)
    case diskFull(path: String)
    case cannotWrite(path: String, reason: String)
    case checksumMismatch(file: String, expected: String, actual: String)
    case sizeMismatch(file: String, expected: Int, actual: Int)
    case noWeights(repo: String, revision: String)
    case badResponse(url: String, reason: String)
    case invalidRepoID(String)

    public var description: String {
        switch self {
        case let .repositoryNotFound(repo, endpoint, tokenSent):
            return "model '\(repo)' not found on \(endpoint): check the id"
                + (tokenSent ? " (the token sent has no access to it if it is private)"
                             : ", or set HF_TOKEN (or run `huggingface-cli login`) if it is private")
        case let .revisionNotFound(repo, revision):
            return "model '\(repo)' has no revision '\(revision)': name a branch, tag or commit it has (--revision)"
        case let .fileNotFound(repo, file, revision):
            return "model '\(repo)' has no file '\(file)' at revision '\(revision)'"
        case let .gated(repo, endpoint, tokenSent):
            return "model '\(repo)' is gated: accept its conditions at \(endpoint)/\(repo), then "
                + (tokenSent ? "retry with a token of that account" : "set HF_TOKEN (or run `huggingface-cli login`)")
        case let .unauthorized(repo, tokenSent):
            return "the Hub refused access to '\(repo)': "
                + (tokenSent ? "the token (HF_TOKEN or the saved token file) is invalid or lacks read access"
                             : "set HF_TOKEN to a token with read access")
        case let .offlineNotCached(repo, revision, cache):
            return "'\(repo)' (revision \(revision)) is not in the Hugging Face cache \(cache) and the Hub is not to be "
                + "asked (HF_HUB_OFFLINE=1): run `bertqa download \(repo)` with network, or pass a model folder"
        case let .network(endpoint, reason):
            return "cannot reach the Hub at \(endpoint) (\(reason)) and the model is not cached: check the network "
                + "or HF_ENDPOINT, or pass a model folder"
        case let .timeout(url):
            return "the Hub did not answer in time (\(url)): retry; an interrupted download resumes where it stopped"
        case let .diskFull(path):
            return "no space left on the device writing \(path): free some space or set HF_HUB_CACHE to another disk"
        case let .cannotWrite(path, reason):
            return "cannot write \(path) (\(reason)): set HF_HUB_CACHE to a writable folder"
        case let .checksumMismatch(file, expected, actual):
            return "\(file) arrived corrupted (sha \(actual), the Hub says \(expected)); it was not kept: retry"
        case let .sizeMismatch(file, expected, actual):
            return "\(file) arrived with \(actual) bytes, the Hub says \(expected); it was not kept: retry"
        case let .noWeights(repo, revision):
            return "model '\(repo)' (revision \(revision)) has no model.safetensors or pytorch_model.bin"
        case let .badResponse(url, reason):
            return "unexpected answer from \(url): \(reason)"
        case let .invalidRepoID(id):
            return "'\(id)' is neither a model folder nor a Hub id (org/name)"
        }
    }
}
