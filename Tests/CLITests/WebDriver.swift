import AsyncHTTPClient
import Foundation
import Support

/// A headless Chromium driven through chromedriver's W3C WebDriver protocol (JSON over HTTP):
/// enough to load a page, type, click and read what it shows, as a person would.
final class WebDriver {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let driver: Process
    private let base: URL
    private let session: String

    /// chromedriver and the browser it drives, where Debian's `chromium` and `chromium-driver`
    /// put them (or BERTQA_CHROMEDRIVER / BERTQA_CHROMIUM); nil when either is missing.
    static func installed() -> (driver: String, browser: String)? {
        let environment = ProcessInfo.processInfo.environment
        let drivers = [environment["BERTQA_CHROMEDRIVER"], "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        let browsers = [environment["BERTQA_CHROMIUM"], "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/google-chrome"]
        guard let driver = drivers.compactMap({ $0 }).first(where: FileManager.default.isExecutableFile),
              let browser = browsers.compactMap({ $0 }).first(where: FileManager.default.isExecutableFile) else { return nil }
        return (driver, browser)
    }

    init(driver path: String, browser: String, width: Int = 1000, height: Int = 900) throws {
        let port = try Self.freePort()
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: path)
        driver.arguments = ["--port=\(port)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        base = URL(string: "http://127.0.0.1:\(port)")!
        // Ready when /status says so.
        let deadline = Date().addingTimeInterval(30)
        while true {
            if let status = try? Self.call(base, "GET", "status"), status["value"]?["ready"] == .bool(true) { break }
            if Date() > deadline || !driver.isRunning {
                driver.terminate()
                throw Failure(description: "chromedriver did not start on port \(port)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let arguments: [JSONValue] = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                      "--window-size=\(width),\(height)"].map(JSONValue.string)
        let capabilities = JSONValue.object([("capabilities", .object([("alwaysMatch", .object([
            ("browserName", .string("chrome")),
            ("goog:chromeOptions", .object([("binary", .string(browser)), ("args", .array(arguments))])),
        ]))]))])
        do {
            let created = try Self.call(base, "POST", "session", capabilities)
            guard case .string(let id)? = created["value"]?["sessionId"] else {
                throw Failure(description: "chromedriver made no session: \(created.compactText)")
            }
            session = id
        } catch {
            driver.terminate()
            throw error
        }
    }

    deinit {
        _ = try? Self.call(base, "DELETE", "session/\(session)")
        driver.terminate()
        driver.waitUntilExit()
    }

    func open(_ url: URL) throws {
        _ = try command("POST", "url", .object([("url", .string(url.absoluteString))]))
    }

    /// The elements matching a CSS selector now (none: empty).
    func elements(_ selector: String) throws -> [String] {
        let found = try command("POST", "elements", .object([("using", .string("css selector")), ("value", .string(selector))]))
        guard case .array(let list)? = found["value"] else { return [] }
        return list.compactMap { element in
            if case .object(let members) = element, case .string(let id)? = members.first?.value { return id }
            return nil
        }
    }

    /// The first element matching `selector`, waiting for it to appear.
    func element(_ selector: String, within seconds: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let first = try elements(selector).first { return first }
            if Date() > deadline { throw Failure(description: "no element \(selector) within \(seconds) s") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Types into an element as keys (`\u{E007}` is Enter).
    func type(_ text: String, into element: String) throws {
        _ = try command("POST", "element/\(element)/value", .object([("text", .string(text))]))
    }

    func clear(_ element: String) throws { _ = try command("POST", "element/\(element)/clear", .object([])) }

    func click(_ element: String) throws { _ = try command("POST", "element/\(element)/click", .object([])) }

    /// The element's rendered text.
    func text(_ element: String) throws -> String {
        guard case .string(let text)? = try command("GET", "element/\(element)/text")["value"] else { return "" }
        return text
    }

    /// Runs a script in the page and returns its result.
    func execute(_ script: String) throws -> JSONValue {
        try command("POST", "execute/sync", .object([("script", .string(script)), ("args", .array([]))]))["value"] ?? .null
    }

    private func command(_ method: String, _ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
        try Self.call(base, method, "session/\(session)/\(path)", body)
    }

    private static func call(_ base: URL, _ method: String, _ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
        // chromedriver writes headers with no space after the colon, which URLSession on
        // Linux refuses ("Failed writing header"); AsyncHTTPClient reads them.
        let request = try HTTPClient.Request(url: base.appendingPathComponent(path).absoluteString, method: .init(rawValue: method),
                                             headers: body == nil ? [:] : ["Content-Type": "application/json"],
                                             body: body.map { .string($0.compactText) })
        let response = try HTTPClient.shared.execute(request: request).wait()
        let status = Int(response.status.code)
        let data = response.body.map { Data($0.readableBytesView) } ?? Data()
        let value = try JSONValue.parse(data)
        if status != 200 { throw Failure(description: "WebDriver \(method) /\(path): \(status) \(value.compactText)") }
        return value
    }

    /// A port nothing listens on now (bound to 0, read back, released).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "no socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
