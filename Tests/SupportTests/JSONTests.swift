import Foundation
import Support
import XCTest

final class JSONTests: XCTestCase {
    func testPythonFloatRepr() {
        let cases: [(Double, String)] = [
            (100, "100.0"), (0.5, "0.5"), (46.773888363292336, "46.773888363292336"), (1e-5, "1e-05"),
            (0.0001, "0.0001"), (1.5e-7, "1.5e-07"), (1e16, "1e+16"), (1234567890123456.0, "1234567890123456.0"),
            (-2.5, "-2.5"), (0, "0.0"), (Double(Float(1.1)), "1.100000023841858"), (123.0, "123.0"),
        ]
        for (x, expected) in cases { XCTAssertEqual(JSONWriter.pythonFloat(x), expected, "\(x)") }
    }

    func testPythonTextStringsAndLayout() {
        XCTAssertEqual(JSONValue.string("a\"b\\c\n\u{7f}é😀").pythonText(), #""a\"b\\c\n\u007f\u00e9\ud83d\ude00""#)
        let value = JSONValue.object([("x", .array([.int(1), .double(2)])), ("y", .object([]))])
        XCTAssertEqual(value.pythonText(), #"{"x": [1, 2.0], "y": {}}"#)
        XCTAssertEqual(value.pythonText(indent: 2), "{\n  \"x\": [\n    1,\n    2.0\n  ],\n  \"y\": {}\n}")
    }

    func testSortKeysByCodePoint() {
        // Python sorts str keys by code point: "B" < "a" < "é".
        let value = JSONValue.object([("é", .int(3)), ("a", .int(2)), ("B", .int(1))])
        XCTAssertEqual(value.pythonText(sortKeys: true), #"{"B": 1, "a": 2, "\u00e9": 3}"#)
        XCTAssertEqual(value.compactText, #"{"é":3,"a":2,"B":1}"#)
    }

    func testCompactTextKeepsUTF8AndEscapesControls() {
        // json.dumps(s, ensure_ascii=False, separators=(",", ":")); DEL stays as it is there.
        XCTAssertEqual(JSONValue.array([.string("é😀\u{7f}\u{01}\t\u{08}\u{0C}"), .null, .bool(false), .double(0.25)]).compactText,
                       "[\"é😀\u{7f}\\u0001\\t\\b\\f\",null,false,0.25]")
        var out = ""
        JSONWriter.appendInts([101, -1, 0] as [Int32], to: &out)
        XCTAssertEqual(out, "[101,-1,0]")
    }

    func testParserKeepsOrderIntegersAndReportsPosition() throws {
        let v = try JSONValue.parse(Data(#"{"b": 1, "a": [true, null, "\u00e9\ud83d\ude00", -2.5e1, 1e2, 99999999999999999999]}"#.utf8))
        guard case .object(let members) = v else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.key), ["b", "a"])
        XCTAssertEqual(v["a"], .array([.bool(true), .null, .string("é😀"), .double(-25), .double(100), .double(1e20)]))
        XCTAssertEqual(v["b"], .int(1))
        XCTAssertThrowsError(try JSONValue.parse(Data("{\n\"a\": tru}".utf8))) { error in
            XCTAssertEqual((error as? JSONParseError)?.line, 2)
        }
        XCTAssertThrowsError(try JSONValue.parse(Data("[1] x".utf8)))
    }

    func testRoundTripThroughText() throws {
        let value = JSONValue.object([("n", .int(-7)), ("x", .double(0.1)), ("s", .string("a\u{0}b😀")),
                                      ("l", .array([.object([]), .array([])]))])
        XCTAssertEqual(try JSONValue.parse(Data(value.compactText.utf8)), value)
        XCTAssertEqual(try JSONValue.parse(Data(value.pythonText(indent: 4).utf8)), value)
    }

    struct Settings: Codable, Equatable {
        var name: String
        var size: Int
        var rate: Double
        var flag: Bool?
        var items: [Int]
        var table: [String: UInt8]
        var nested: Nested?
        struct Nested: Codable, Equatable { var depth: Int64 }
    }

    func testDecodableErrorsNameTheJSONPath() throws {
        let good = try JSONValue.parse(Data(#"{"name": "x", "size": 3.0, "rate": 2, "items": [1, 2], "table": {"a": 1}, "nested": {"depth": 9}}"#.utf8))
        let settings = try JSONValueDecoder.decode(Settings.self, from: good)
        XCTAssertEqual(settings, Settings(name: "x", size: 3, rate: 2, flag: nil, items: [1, 2], table: ["a": 1], nested: .init(depth: 9)))
        let cases: [(String, String, String)] = [
            (#"{"name": 1, "size": 1, "rate": 1, "items": [], "table": {}}"#, "$.name", "expected a string, found an integer"),
            (#"{"name": "x", "size": 1.5, "rate": 1, "items": [], "table": {}}"#, "$.size", "1.5 is not an integer"),
            (#"{"name": "x", "size": 1, "rate": 1, "items": [1, "2"], "table": {}}"#, "$.items[1]", "expected an integer, found a string"),
            (#"{"name": "x", "size": 1, "rate": 1, "items": [], "table": {"a": 300}}"#, "$.table.a", "300 is not an integer in 0...255"),
            (#"{"name": "x", "size": 1, "rate": 1, "items": [], "table": {}, "nested": {}}"#, "$.nested.depth", "missing"),
            (#"{"name": "x", "size": 1, "items": [], "table": {}}"#, "$.rate", "missing"),
            (#"[1]"#, "$", "expected an object, found an array"),
        ]
        for (text, path, reason) in cases {
            XCTAssertThrowsError(try JSONValueDecoder.decode(Settings.self, from: JSONValue.parse(Data(text.utf8))), text) { error in
                guard let error = error as? JSONDecodingError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.path, path, text)
                XCTAssertTrue(error.reason.contains(reason), "\(error.reason) should say \(reason)")
            }
        }
    }

    func testEncodableKeepsDeclarationOrderAndRoundTrips() throws {
        let settings = Settings(name: "é", size: 2, rate: 0.5, flag: true, items: [3], table: ["k": 7], nested: .init(depth: -1))
        let json = try JSONValueEncoder.encode(settings)
        guard case .object(let members) = json else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.key), ["name", "size", "rate", "flag", "items", "table", "nested"])
        XCTAssertEqual(try JSONValueDecoder.decode(Settings.self, from: json), settings)
        // Absent optionals are left out, as JSONEncoder does.
        let bare = Settings(name: "", size: 0, rate: 0, flag: nil, items: [], table: [:], nested: nil)
        XCTAssertEqual(try JSONValueEncoder.encode(bare).compactText, #"{"name":"","size":0,"rate":0.0,"items":[],"table":{}}"#)
        struct Big: Encodable { var seed: UInt64 }
        XCTAssertThrowsError(try JSONValueEncoder.encode(Big(seed: .max)))
        XCTAssertEqual(try JSONValueEncoder.encode(Big(seed: 42)).compactText, #"{"seed":42}"#)
    }

    func testFilesNameThemselvesInErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("json-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("none.json")
        XCTAssertThrowsError(try JSONValue.load(contentsOf: missing)) { XCTAssertEqual($0 as? JSONFileError, .notFound(path: missing.path)) }
        let empty = folder.appendingPathComponent("empty.json")
        try Data().write(to: empty)
        XCTAssertThrowsError(try JSONValue.load(contentsOf: empty)) {
            XCTAssertEqual($0 as? JSONFileError, .malformed(path: empty.path, reason: "the file is empty"))
        }
    }
}
