// libFuzzer target: arbitrary bytes loaded as a SQuAD JSON file (our JSON parser and the
// schema checks), then the official metrics on what loaded. Errors are fine; crashes are not.
import Foundation
import SQuAD

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("bertqa-fuzz-\(getpid()).json")
    do { try Data(bytes: data, count: count).write(to: url) } catch { return 0 }
    defer { try? FileManager.default.removeItem(at: url) }
    guard let dataset = try? SQuADDataset.load(url) else { return 0 }
    let predictions = Dictionary(dataset.examples.map { ($0.id, $0.answers.text.first ?? "") }, uniquingKeysWith: { a, _ in a })
    _ = try? SQuADMetrics.evaluateV1(dataset: dataset, predictions: predictions)
    _ = try? SQuADMetrics.evaluateV2(dataset: dataset, predictions: predictions)
    return 0
}
