import Foundation
import Reports

/// The training-loss plot written beside a run (`loss_curve.svg`): the logged training losses
/// as a line, validation losses as dots, steps on x, loss on y.
public struct LossCurve: Sendable {
    public var training: [(step: Int, loss: Double)] = []
    public var validation: [(step: Int, loss: Double)] = []
    public var title = "bertqa training loss"

    public init() {}

    public func svg(width: Double = 720, height: Double = 420) -> String {
        LineChart(title: title, xLabel: "optimizer step", yLabel: "loss", series: [
            .init(name: "training loss", points: training.map { (Double($0.step), $0.loss) }, color: "#1f77b4"),
            .init(name: "validation loss", points: validation.map { (Double($0.step), $0.loss) }, color: "#d62728", dots: true),
        ]).svg(width: width, height: height)
    }
}
