// libFuzzer target: arbitrary bytes as the pickle (data.pkl) of a pytorch_model.bin, read by the
// restricted unpickler. Must never crash, trap or hang, and never run anything: a bad or hostile
// pickle is a BertError naming it.
@testable import BERT

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var unpickler = RestrictedUnpickler(bytes: Array(UnsafeBufferPointer(start: data, count: count)), path: "data.pkl")
    _ = try? unpickler.load()
    return 0
}
