import BERT
import Foundation
import XCTest

/// The safetensors reader's validation (every corruption gives a typed error naming the
/// tensor or byte range), dtype conversion, and the writer.
final class SafetensorsTests: XCTestCase {
    /// A file from a header JSON text and a data section.
    private func file(header: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) -> Data {
        let json = Array(header.utf8)
        var out = Data()
        var n = (lengthOverride ?? UInt64(json.count)).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        out.append(contentsOf: data)
        return out
    }

    private func expectError(_ data: Data, _ check: (SafetensorsError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(data: data, path: "test.safetensors"), file: file, line: line) { error in
            guard let e = error as? SafetensorsError else {
                return XCTFail("expected a SafetensorsError, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains("test.safetensors"), file: file, line: line)
        }
    }

    func testTooShortFile() {
        expectError(Data([1, 2, 3])) { if case .fileTooShort(_, 3) = $0 { return true } else { return false } }
    }

    func testHeaderLengthBeyondFile() {
        expectError(file(header: "{}", lengthOverride: 1_000)) {
            if case .headerLengthOutOfRange(_, 1_000, 10) = $0 { return true } else { return false }
        }
    }

    func testNonJSONHeader() {
        expectError(file(header: "{not json")) { if case .invalidHeader = $0 { return true } else { return false } }
        expectError(file(header: "[1, 2]")) { if case .invalidHeader = $0 { return true } else { return false } }
    }

    func testUnknownDType() {
        let h = #"{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#
        expectError(file(header: h, data: Array(repeating: 0, count: 16))) {
            if case .unknownDType(_, "w", "F128") = $0 { return true } else { return false }
        }
    }

    func testOffsetsOutOfRange() {
        let h = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        expectError(file(header: h, data: Array(repeating: 0, count: 8))) {
            if case .offsetsOutOfRange(_, "w", 0, 16, 8) = $0 { return true } else { return false }
        }
        let reversed = #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#
        expectError(file(header: reversed, data: Array(repeating: 0, count: 8))) {
            if case .offsetsOutOfRange(_, "w", 8, 4, 8) = $0 { return true } else { return false }
        }
    }

    func testOverlappingTensors() {
        let h = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        expectError(file(header: h, data: Array(repeating: 0, count: 12))) {
            if case .overlappingTensors(_, "a", "b", 0..<8, 4..<12) = $0 { return true } else { return false }
        }
    }

    func testByteCountDisagreesWithShape() {
        let h = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        expectError(file(header: h, data: Array(repeating: 0, count: 8))) {
            if case .byteCountMismatch(_, "w", [3], "F32", 12, 8) = $0 { return true } else { return false }
        }
    }

    func testMalformedEntry() {
        let h = #"{"w":{"dtype":"F32","shape":"3","data_offsets":[0,12]}}"#
        expectError(file(header: h, data: Array(repeating: 0, count: 12))) {
            if case .invalidTensorEntry(_, "w", _) = $0 { return true } else { return false }
        }
    }

    func testF16AndBF16ConvertToFloat32() throws {
        // F16: 1, -2.5, 65504 (max), 2^-24 (smallest subnormal), +inf, 0.33325195
        let f16: [UInt16] = [0x3C00, 0xC100, 0x7BFF, 0x0001, 0x7C00, 0x3555]
        // BF16: 1, -2.5, 3.140625
        let bf16: [UInt16] = [0x3F80, 0xC020, 0x4049]
        var bytes: [UInt8] = []
        for h in f16 + bf16 { bytes += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let h = #"{"a":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]}}"#
        let st = try SafetensorsFile(data: file(header: h, data: bytes), path: "half.safetensors")
        XCTAssertEqual(try st.floats("a"), [1, -2.5, 65504, 5.960_464_5e-8, .infinity, 0.333_251_95])
        XCTAssertEqual(try st.floats("b"), [1, -2.5, 3.140_625])
    }

    func testIntegerTensorsAreNotWeights() throws {
        let h = #"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[0] = 7
        bytes[8] = 9
        let st = try SafetensorsFile(data: file(header: h, data: bytes), path: "ints.safetensors")
        XCTAssertEqual(try st.integers("ids"), [7, 9])
        XCTAssertThrowsError(try st.floats("ids")) { error in
            XCTAssertEqual(error as? BertError, .notFloatTensor(tensor: "ids", dtype: "I64", file: "ints.safetensors"))
        }
    }

    func testWriterRoundTripAndAlignment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.safetensors")
        let a: [Float] = [1, -0.0, .pi, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, .nan]
        let b: [Float] = [42]
        try a.withUnsafeBufferPointer { pa in
            try b.withUnsafeBufferPointer { pb in
                try SafetensorsWriter.write([.init(name: "z.b", shape: [1], floats: pb), .init(name: "a", shape: [2, 3], floats: pa)], to: url)
            }
        }
        let st = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(st.names, ["a", "z.b"])
        XCTAssertEqual(try st.entry("a").shape, [2, 3])
        XCTAssertEqual(try st.floats("a").map(\.bitPattern), a.map(\.bitPattern))
        XCTAssertEqual(try st.floats("z.b"), b)
        XCTAssertEqual(st.metadata, ["format": "pt"])
        let raw = try Data(contentsOf: url)
        let headerLength = raw.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual((8 + headerLength) % 8, 0, "data section must start 8-byte aligned")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(leftovers, ["t.safetensors"], "no temporary file may remain")
    }
}
