import Foundation

/// A line chart as standalone SVG: one or more series against a shared x axis (lines, or dots
/// for sparse series such as a validation loss once per epoch). No dependencies; it scales to
/// its container (viewBox) and reads in light and dark pages (white ground of its own).
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        public var dots: Bool

        public init(name: String, points: [(x: Double, y: Double)], color: String, dots: Bool = false) {
            self.name = name
            self.points = points
            self.color = color
            self.dots = dots
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Whether the y axis starts at 0 (losses, rates) or at the data's minimum.
    public var fromZero = true

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    public func svg(width: Double = 720, height: Double = 400) -> String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let ys = finite.map(\.y), xs = finite.map(\.x)
        var (lo, hi) = (fromZero ? min(0, ys.min() ?? 0) : (ys.min() ?? 0), ys.max() ?? 1)
        if hi <= lo { hi = lo + (lo == 0 ? 1 : abs(lo) * 0.1) }
        let (xlo, xhi) = (min(0, xs.min() ?? 0), max(xs.max() ?? 1, (xs.min() ?? 0) + 1e-9))
        func x(_ v: Double) -> Double { left + (v - xlo) / (xhi - xlo) * (width - left - right) }
        func y(_ v: Double) -> Double { top + (1 - (v - lo) / (hi - lo)) * (height - top - bottom) }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12" role="img" aria-label="\(HTMLPage.escape(title))">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="24" text-anchor="middle" font-size="15">\(HTMLPage.escape(title))</text>
        <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="black"/>
        <text x="\(width / 2)" y="\(height - 12)" text-anchor="middle">\(HTMLPage.escape(xLabel))</text>
        <text x="16" y="\(height / 2)" text-anchor="middle" transform="rotate(-90 16 \(height / 2))">\(HTMLPage.escape(yLabel))</text>

        """
        for k in 0...4 {
            let value = lo + (hi - lo) * Double(k) / 4
            out += "<text x=\"\(left - 6)\" y=\"\(y(value) + 4)\" text-anchor=\"end\">\(Self.label(value, span: hi - lo))</text>\n"
            out += "<line x1=\"\(left)\" y1=\"\(y(value))\" x2=\"\(width - right)\" y2=\"\(y(value))\" stroke=\"#ddd\"/>\n"
            let step = xlo + (xhi - xlo) * Double(k) / 4
            out += "<text x=\"\(x(step))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(Self.label(step, span: xhi - xlo))</text>\n"
        }
        for (k, s) in series.enumerated() {
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            if s.dots {
                for p in points { out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\"/>\n", x(p.x), y(p.y), s.color) }
            } else if !points.isEmpty {
                let list = points.map { String(format: "%.1f,%.1f", x($0.x), y($0.y)) }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.5\" points=\"\(list)\"/>\n"
            }
            out += "<text x=\"\(width - right - 170)\" y=\"\(top + 4 + 16 * Double(k))\" fill=\"\(s.color)\">\(s.dots ? "●" : "—") \(HTMLPage.escape(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// An axis label with the digits the axis's span needs (1.5e-05 for learning rates).
    static func label(_ value: Double, span: Double) -> String {
        if value == 0 { return "0" }
        if span < 0.01 || abs(value) >= 1e6 { return String(format: "%.2g", value) }
        if span < 10 { return String(format: "%.2f", value) }
        return String(format: "%.0f", value)
    }
}
