import Foundation

/// A run folder's `index.html`: the run on one page without a server (what ran, with which
/// plugins and settings, the judge's verdict, the grid and loss plots, and per sample its images,
/// numbers and loss curve), linking only to files inside the folder by relative paths, so the
/// folder can be zipped and sent. Rebuilt with the manifest whenever the folder is finalised.
public enum RunReport {
    static func html(_ m: RunManifest, records: [SampleRecord]) -> String {
        let plan = m.plan
        let task = plan.plugins.first { $0.section == "task" }?.name ?? "run"
        let classifier = plan.plugins.first { $0.section == "classifier" }?.name ?? m.classifier
        var names = [Int: String]()
        for r in records where r.target >= 0 { names[r.target] = r.target_name }
        func className(_ c: Int?) -> String { c.map { names[$0] ?? "\($0)" } ?? "" }

        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>\(esc(task)) with \(esc(classifier)): rsynth run</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
            table { border-collapse: collapse; } td, th { padding: 2px 8px; text-align: left; vertical-align: middle; }
            tr:nth-child(even) { background: #f4f4f4; } th { border-bottom: 1px solid #999; }
            img.px { image-rendering: pixelated; width: 72px; height: 72px; } img.grid { image-rendering: pixelated; max-width: 100%; }
            pre { background: #f4f4f4; padding: 8px; overflow-x: auto; } .num { text-align: right; font-variant-numeric: tabular-nums; }
            </style></head><body>
            <h1>\(esc(task)) with \(esc(classifier))</h1>

            """
        let o = plan.optimizer
        var facts: [(String, String)] = [
            ("samples", "\(records.count) of \(plan.total_samples)" + (m.complete ? "" : " (incomplete: run the spec into this folder again to finish it)")),
            ("optimizer", "\(o.steps) steps of \(fmt(o.step_size)), \(o.step_geometry ?? "l2") step, batch \(o.batch_size), seed \(o.seed)"
                + (o.use_best ? ", best iterate kept" : "") + (o.random_start == true ? ", random start" : "")),
            ("time", "\(fmt(m.timings.total_seconds)) s, \(fmt(m.timings.mean_seconds_per_sample)) s per sample"),
            ("rsynth", m.rsynth_version),
        ]
        if let j = m.judge {
            facts.insert(("judge", "\(j.recognised) of \(j.judged) recognised as their target (\(fmt(100 * j.agreement))%) by \(j.k)-NN on \(j.dataset)"), at: 1)
        }
        if let env = plan.engine_environment, !env.isEmpty {
            facts.append(("environment", env.keys.sorted().map { "\($0)=\(env[$0]!)" }.joined(separator: " ")))
        }
        h += "<table>\n" + facts.map { "<tr><th>\(esc($0.0))</th><td>\(esc($0.1))</td></tr>\n" }.joined() + "</table>\n"

        h += "<h2>Plugins</h2>\n<table><tr><th>section</th><th>plugin</th><th>version</th><th>parameters</th></tr>\n"
        for p in plan.plugins {
            let params = p.parameters.keys.sorted().map { "\($0): \(p.parameters[$0]!)" }.joined(separator: ", ")
            h += "<tr><td>\(esc(p.section))</td><td>\(esc(p.name))</td><td>\(esc(p.version))</td><td>\(esc(params))</td></tr>\n"
        }
        h += "</table>\n"

        if let grid = m.grid {
            let pages = m.grid_pages ?? [grid]
            h += "<h2>Results</h2>\n"
            for (k, page) in pages.enumerated() {
                let alt = pages.count > 1 ? "results, page \(k + 1) of \(pages.count)" : "grid of results"
                h += "<p><img class=\"grid\" src=\"\(esc(page))\" alt=\"\(alt)\"></p>\n"
            }
        }
        if !m.loss_plots.isEmpty {
            h += "<h2>Loss per step</h2>\n<p>" + m.loss_plots.map { "<img src=\"\(esc($0))\" alt=\"loss plot\">" }.joined(separator: " ")
                + "</p>\n<p><a href=\"\(esc(m.loss_csv))\">every sample's loss at every step (CSV)</a></p>\n"
        }

        let rows = plan.layout == "rows"
        h += "<h2>Samples</h2>\n<table><tr><th>#</th><th>target</th>" + (rows ? "<th>source class</th>" : "")
            + "<th>seed</th>" + (rows ? "<th>start</th>" : "") + "<th>result</th><th>target probability</th>"
            + "<th>loss: first, last</th><th>loss curve</th>" + (m.judge != nil ? "<th>judge says</th>" : "") + "</tr>\n"
        for r in records {
            func img(_ rel: String?) -> String {
                rel.map { "<td><img class=\"px\" loading=\"lazy\" src=\"\(esc($0))\" alt=\"\"></td>" } ?? "<td></td>"
            }
            h += "<tr><td class=\"num\">\(r.index)</td><td>\(esc(r.target >= 0 ? r.target_name : r.group_name))</td>"
            if rows { h += "<td>\(esc(className(r.source_label)))</td>" }
            h += img(r.seed_image)
            if rows { h += img(r.start_image) }
            h += img(r.image)
            h += "<td class=\"num\">\(fmt(Double(r.target_probability)))</td>"
            h += "<td class=\"num\">\(fmt(Double(r.initial_loss))), \(fmt(Double(r.final_loss)))"
                + (r.stopped_at.map { " (stopped at step \($0))" } ?? "") + "</td>"
            h += "<td>\(sparkline(r.losses))</td>"
            if m.judge != nil { h += "<td>\(esc(className(r.judged_class)))</td>" }
            h += "</tr>\n"
        }
        h += "</table>\n"
        h += "<h2>Spec</h2>\n<p>From \(esc(m.spec_path)) (a copy is <a href=\"spec.yaml\">spec.yaml</a>; the manifest is <a href=\"manifest.json\">manifest.json</a>).</p>\n<pre>\(esc(m.spec))</pre>\n"
        return h + "</body></html>\n"
    }

    /// The loss history as a small inline SVG polyline (step to the right, loss up), or nothing.
    static func sparkline(_ losses: [Float], width: Double = 120, height: Double = 28) -> String {
        let finite = losses.filter(\.isFinite)
        guard losses.count > 1, finite.count == losses.count, let lo = finite.min(), let hi = finite.max() else { return "" }
        let span = hi > lo ? Double(hi - lo) : 1
        let points = losses.enumerated().map { i, l in
            let x = width * Double(i) / Double(losses.count - 1), y = height - 2 - (height - 4) * Double(l - lo) / span
            return String(format: "%.1f,%.1f", x, y)
        }.joined(separator: " ")
        return "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
            + "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points)\"/></svg>"
    }

    /// Text for HTML: & < > " and ' escaped (the studio's page uses it too).
    public static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func fmt(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        if v != 0 && abs(v) < 0.001 { return String(format: "%.2e", v) }
        return String(format: "%.4g", v)
    }
}
