// libFuzzer target: arbitrary bytes parsed as a safetensors file; every tensor that parses is
// read as floats. Errors are fine; crashes, traps and hangs are not.
import BERT
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Data(bytes: data, count: count)
    guard let file = try? SafetensorsFile(data: bytes, path: "fuzz.safetensors") else { return 0 }
    for name in file.names {
        _ = try? file.floats(name)
        _ = try? file.integers(name)
    }
    return 0
}
