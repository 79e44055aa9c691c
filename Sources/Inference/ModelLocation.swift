import BERT
import Foundation
import Hub
import Kernels

/// What `--model` names, resolved to a folder: a folder as it is, or a Hub id (`org/name`, at a
/// branch, tag or commit) through the Hugging Face cache that Python tools share — downloading
/// the files a model needs (config, tokenizer files, one set of weights) when they are not there.
public enum ModelLocation {
    /// The folder `model` names. A path that exists is used as it is; a path-like name that does
    /// not (absolute, `./`, `~`, more than one `/`) is returned for the loaders to report; anything
    /// else is a Hub id. `hub` defaults to the environment's settings with a progress bar on a
    /// terminal.
    public static func folder(for model: String, revision: String? = nil, hub: HubClient? = nil) throws -> URL {
        if let folder = try local(model, revision: revision) { return folder }
        return try (hub ?? defaultClient).snapshotWaiting(repo: model, revision: revision, files: modelFiles)
    }

    /// `folder(for:)` for async callers (the server): never blocks a thread of the pool.
    public static func folder(for model: String, revision: String? = nil, hub: HubClient? = nil) async throws -> URL {
        if let folder = try local(model, revision: revision) { return folder }
        return try await (hub ?? defaultClient).snapshot(repo: model, revision: revision, files: modelFiles)
    }

    /// The path itself when `model` is not a Hub id to fetch.
    private static func local(_ model: String, revision: String?) throws -> URL? {
        guard FileManager.default.fileExists(atPath: model) || !HubClient.isRepoID(model) else { return nil }
        if revision != nil {
            throw InferenceError.invalidOption("--revision names a Hub revision, and '\(model)' is a local path")
        }
        // Said in the user's terms before any loader names a file inside it.
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isFolder) else {
            throw InferenceError.model("model folder \(model) does not exist: give a model folder (config.json, weights, tokenizer files) or a Hub id such as deepset/roberta-base-squad2")
        }
        guard isFolder.boolValue else {
            throw InferenceError.model("\(model) is a file: give the model's folder (config.json, weights, tokenizer files) or a Hub id")
        }
        return URL(fileURLWithPath: model)
    }

    private static var defaultClient: HubClient { HubClient(settings: .fromEnvironment(progress: TerminalProgress.onTerminal())) }

    /// The files a model folder needs (what the checkpoint and tokenizer loaders read).
    public static let modelFiles = FileSelection.transformersModel(tokenizerFiles: BertForQuestionAnswering.tokenizerFileNames)
}

extension QuestionAnswerer {
    /// `pipeline("question-answering", model=…)`: a folder or a Hub id (see `ModelLocation`).
    public convenience init(model: String, revision: String? = nil, precision: InferencePrecision = .fp32) throws {
        try self.init(directory: ModelLocation.folder(for: model, revision: revision), precision: precision)
    }
}
