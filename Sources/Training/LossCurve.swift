import Foundation

/// A training-loss plot as a standalone SVG (no dependencies): the logged training losses as
/// a line, validation losses as dots, steps on x, loss on y.
public struct LossCurve: Sendable {
    public var training: [(step: Int, loss: Double)] = []
    public var validation: [(step: Int, loss: Double)] = []
    public var title = "bertqa training loss"

    public init() {}

    public func svg(width: Double = 720, height: Double = 420) -> String {
        let left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let all = training.map(\.loss) + validation.map(\.loss)
        let steps = training.map(\.step) + validation.map(\.step)
        let finite = all.filter(\.isFinite)
        let (lo, hi) = (min(0, finite.min() ?? 0), max(finite.max() ?? 1, 1e-9))
        let maxStep = Double(max(steps.max() ?? 1, 1))
        func x(_ s: Int) -> Double { left + Double(s) / maxStep * (width - left - right) }
        func y(_ l: Double) -> Double { top + (1 - (l - lo) / (hi - lo)) * (height - top - bottom) }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="24" text-anchor="middle" font-size="15">\(escape(title))</text>
        <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="black"/>
        <text x="\(width / 2)" y="\(height - 12)" text-anchor="middle">optimizer step</text>
        <text x="16" y="\(height / 2)" text-anchor="middle" transform="rotate(-90 16 \(height / 2))">loss</text>

        """
        for k in 0...4 {
            let value = lo + (hi - lo) * Double(k) / 4
            out += "<text x=\"\(left - 6)\" y=\"\(y(value) + 4)\" text-anchor=\"end\">\(String(format: "%.2f", value))</text>\n"
            out += "<line x1=\"\(left)\" y1=\"\(y(value))\" x2=\"\(width - right)\" y2=\"\(y(value))\" stroke=\"#ddd\"/>\n"
            let step = Int(maxStep * Double(k) / 4)
            out += "<text x=\"\(x(step))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(step)</text>\n"
        }
        let points = training.filter { $0.loss.isFinite }.map { String(format: "%.1f,%.1f", x($0.step), y($0.loss)) }
        if !points.isEmpty {
            out += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
        }
        for v in validation where v.loss.isFinite {
            out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"/>\n", x(v.step), y(v.loss))
        }
        out += "<text x=\"\(width - right - 150)\" y=\"\(top + 4)\" fill=\"#1f77b4\">— training loss</text>\n"
        out += "<text x=\"\(width - right - 150)\" y=\"\(top + 20)\" fill=\"#d62728\">● validation loss</text>\n"
        return out + "</svg>\n"
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
