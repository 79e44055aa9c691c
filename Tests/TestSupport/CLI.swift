import Foundation

/// Runs the `bertqa` executable that `swift test` built next to the test bundle.
public enum CLI {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// `.exit`, or `.uncaughtSignal` when the process trapped or was killed.
        public var reason: Process.TerminationReason

        public init(status: Int32, stdout: String, stderr: String, reason: Process.TerminationReason) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
            self.reason = reason
        }
    }

    /// The products folder (.build/<config>/), where the `bertqa` binary is.
    public static var binary: URL {
        var dir = Bundle.main.bundleURL
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            dir = bundle.bundleURL.deletingLastPathComponent()
        }
        let candidate = dir.appendingPathComponent("bertqa")
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        return Bundle.main.bundleURL.appendingPathComponent("bertqa")
    }

    /// Runs `bertqa args...` with `stdin` as standard input; waits for it to exit.
    public static func run(_ args: [String], stdin: String = "", timeout: TimeInterval = 300,
                           environment: [String: String] = [:]) throws -> Result {
        try run(args, stdinData: Data(stdin.utf8), timeout: timeout, environment: environment)
    }

    /// Runs `bertqa args...` (or another `executable`, e.g. mpirun) with raw bytes (which need
    /// not be UTF-8) as standard input. `environment` adds to (or overrides) the test process's
    /// own variables.
    public static func run(_ args: [String], stdinData: Data, timeout: TimeInterval = 300,
                           environment: [String: String] = [:], executable: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = args
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        // Read both pipes on other threads so a full pipe never blocks the child.
        nonisolated(unsafe) var out = Data(), err = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        // Write stdin on another thread too: a child that exits early must not block the test,
        // and its closed pipe must be an error here (EPIPE), not a SIGPIPE that kills the tests.
        signal(SIGPIPE, SIG_IGN)
        DispatchQueue.global().async {
            try? inPipe.fileHandleForWriting.write(contentsOf: stdinData)
            try? inPipe.fileHandleForWriting.close()
        }
        process.waitUntilExit()
        group.wait()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self), reason: process.terminationReason)
    }
}
