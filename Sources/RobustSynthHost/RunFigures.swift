import Foundation
import ImageIO
import RobustSynthCore

/// The figures of a run besides the grid (ImageGrid): the loss of every sample at every step as CSV, and one SVG plot
/// of loss against step per group (the paper's convergence figure).
enum RunFigures {
    static func lossCSV(_ records: [SampleRecord]) -> String {
        var out = "sample,target,step,loss\n"
        for r in records {
            for (step, loss) in r.losses.enumerated() { out += "\(r.index),\(r.target),\(step),\(loss)\n" }
        }
        return out
    }

    /// Loss against step for the samples of one group: a thin line each, the mean in bold.
    static func lossPlotSVG(title: String, _ records: [SampleRecord]) -> String {
        let w = 640.0, h = 400.0, left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let steps = records.map(\.losses.count).max() ?? 1
        let all = records.flatMap(\.losses).filter(\.isFinite)
        let hi = Double(all.max() ?? 1), lo = min(0, Double(all.min() ?? 0))
        let span = max(hi - lo, 1e-6)
        func px(_ step: Int) -> Double { left + (w - left - right) * Double(step) / Double(max(steps - 1, 1)) }
        func py(_ v: Float) -> Double { top + (h - top - bottom) * (1 - (Double(v) - lo) / span) }
        func path(_ values: [Float]) -> String {
            values.enumerated().map { (i, v) in String(format: "%@%.1f,%.1f", i == 0 ? "M" : "L", px(i), py(v)) }.joined(separator: " ")
        }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(w / 2)" y="22" text-anchor="middle" font-size="15">\(xmlEscaped(title))</text>
        <line x1="\(left)" y1="\(h - bottom)" x2="\(w - right)" y2="\(h - bottom)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(h - bottom)" stroke="black"/>
        <text x="\((left + w - right) / 2)" y="\(h - 12)" text-anchor="middle">step</text>
        <text x="16" y="\((top + h - bottom) / 2)" text-anchor="middle" transform="rotate(-90 16 \((top + h - bottom) / 2))">loss</text>

        """
        for k in 0...4 {
            let v = lo + span * Double(k) / 4
            let y = py(Float(v))
            svg += String(format: "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", left - 6, y + 4, v)
            svg += String(format: "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y, w - right, y)
        }
        for k in 0...4 {
            let s = (steps - 1) * k / 4
            svg += String(format: "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n", px(s), h - bottom + 16, s)
        }
        for r in records {
            svg += "<path d=\"\(path(r.losses))\" fill=\"none\" stroke=\"#7aa6d6\" stroke-width=\"1\" opacity=\"0.7\"/>\n"
        }
        if !records.isEmpty {
            let mean = (0..<steps).map { s -> Float in
                let vs = records.compactMap { s < $0.losses.count ? $0.losses[s] : nil }
                return vs.reduce(0, +) / Float(max(vs.count, 1))
            }
            svg += "<path d=\"\(path(mean))\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2.5\"/>\n"
            svg += "<text x=\"\(w - right - 4)\" y=\"\(top + 14)\" text-anchor=\"end\" fill=\"#c0392b\">mean of \(records.count)</text>\n"
        }
        // Early stopping: a dot where each stopped sample's line ends (its loss history stops there).
        let stopped = records.filter { $0.stopped_at != nil && !$0.losses.isEmpty }
        if !stopped.isEmpty {
            for r in stopped {
                let s = r.losses.count - 1
                svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#2c7a3f\"/>\n", px(s), py(r.losses[s]))
            }
            svg += "<text x=\"\(w - right - 4)\" y=\"\(top + 30)\" text-anchor=\"end\" fill=\"#2c7a3f\">\u{25CF} stopped early: \(stopped.count) of \(records.count)</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func xmlEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A sample's caption in the rows figure: its number and its target class, or, where it has
    /// none (an inversion), the class of its source image.
    static func caption(_ r: SampleRecord) -> String {
        if r.target >= 0 { return "\(r.index): \(r.target_name)" }
        if let source = r.source_label { return "\(r.index): from \(source)" }
        return "\(r.index)"
    }

    /// A file name part made of the name's letters and digits.
    static func slug(_ s: String) -> String {
        let kept = s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(kept).split(separator: "-").joined(separator: "-")
    }
}
