// libFuzzer target: arbitrary bytes as the body of POST /answer (the server's request decoding
// and parameter validation). Errors (→ 400) are fine; crashes are not.
import Foundation
@testable import Server

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? AnswerRequest.parse(Data(bytes: data, count: count))
    return 0
}
