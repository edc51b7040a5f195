import EnvrunCore
import Foundation

/// `envrun plot`: the curves of one or more runs as a self-contained HTML page (inline SVG, no network)
/// and a standalone SVG of the headline chart for READMEs.
public enum RunPlot {
    public struct Series: Sendable {
        public var name: String
        public var points: [(Double, Double)]
        public init(name: String, points: [(Double, Double)]) {
            self.name = name
            self.points = points
        }
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]

    /// One line chart. `guides` draws dashed reference lines (x = value or y = value).
    public static func chart(
        title: String, xLabel: String, yLabel: String, series: [Series], yRange: ClosedRange<Double>? = nil,
        xGuide: Double? = nil, yGuide: Double? = nil, width: Int = 460, height: Int = 300
    ) -> String {
        let left = 56.0, right = 12.0, top = 30.0, bottom = 44.0
        let w = Double(width) - left - right, h = Double(height) - top - bottom
        let xs = series.flatMap { $0.points.map(\.0) } + (xGuide.map { [$0] } ?? [])
        let ys = series.flatMap { $0.points.map(\.1) }
        let x0 = min(0, xs.min() ?? 0), x1 = max(x0 + 1e-9, xs.max() ?? 1)
        var y0 = yRange?.lowerBound ?? (ys.min() ?? 0), y1 = yRange?.upperBound ?? (ys.max() ?? 1)
        if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * w }
        func py(_ y: Double) -> Double { top + h - (y - y0) / (y1 - y0) * h }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func tick(_ v: Double) -> String {
            abs(v) >= 100 || v == v.rounded() ? String(format: "%.0f", v) : (abs(v) >= 1 ? String(format: "%.1f", v) : String(format: "%.3g", v))
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(left))\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
        for i in 0...4 {
            let yv = y0 + (y1 - y0) * Double(i) / 4, xv = x0 + (x1 - x0) * Double(i) / 4
            s += "<line x1=\"\(f(left))\" x2=\"\(f(left + w))\" y1=\"\(f(py(yv)))\" y2=\"\(f(py(yv)))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(left - 4))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(tick(yv))</text>\n"
            s += "<text x=\"\(f(px(xv)))\" y=\"\(f(top + h + 14))\" text-anchor=\"middle\">\(tick(xv))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#888\"/>\n"
        s += "<text x=\"\(f(left + w / 2))\" y=\"\(f(top + h + 32))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(14 \(f(top + h / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        if let g = xGuide, g >= x0, g <= x1 {
            s += "<line x1=\"\(f(px(g)))\" x2=\"\(f(px(g)))\" y1=\"\(f(top))\" y2=\"\(f(top + h))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
        }
        if let g = yGuide, g >= y0, g <= y1 {
            s += "<line x1=\"\(f(left))\" x2=\"\(f(left + w))\" y1=\"\(f(py(g)))\" y2=\"\(f(py(g)))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
        }
        for (i, se) in series.enumerated() where !se.points.isEmpty {
            let color = colors[i % colors.count]
            let d = se.points.enumerated().map { j, p in (j == 0 ? "M" : "L") + f(px(p.0)) + " " + f(py(min(max(p.1, y0), y1))) }.joined(separator: " ")
            s += "<path class=\"curve\" data-series=\"\(escape(se.name))\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"/>\n"
            // Bottom right: the curves here rise, so the corner under them stays free.
            let ly = top + h - 8 - Double(series.count - 1 - i) * 14
            s += "<line x1=\"\(f(left + w - 110))\" x2=\"\(f(left + w - 94))\" y1=\"\(f(ly - 4))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(left + w - 90))\" y=\"\(f(ly))\">\(escape(se.name))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    static func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A run's metrics as (name, lines).
    public struct Run: Sendable {
        public var name: String
        public var metrics: [[String: Double]]
        public init(name: String, metrics: [[String: Double]]) {
            self.name = name
            self.metrics = metrics
        }

        func series(_ key: String, phase: Double = 1) -> Series {
            Series(name: name, points: metrics.filter { $0["train/phase"] == phase }.compactMap { m in
                guard let v = m[key], let s = m["train/step"] else { return nil }
                return (s, v)
            })
        }

        /// Held-out exact match against wall minutes, warm-up evaluations included.
        var accuracyByTime: Series {
            Series(name: name, points: metrics.compactMap { m in
                guard let v = m["eval/exact_match"], let t = m["train/wall_s"] else { return nil }
                return (t / 60, v)
            })
        }
    }

    public static func load(_ dirs: [URL]) throws -> [Run] {
        try dirs.map { url in
            let run = RunDirectory(url)
            guard FileManager.default.fileExists(atPath: run.metricsURL.path) else {
                throw EnvrunError(.notFound, "\(url.path) has no metrics.jsonl (is it a run directory of envrun train?)", field: "run")
            }
            return Run(name: url.lastPathComponent, metrics: try run.readMetrics())
        }
    }

    /// The headline: held-out exact match against wall time and against GRPO step.
    public static func headline(_ runs: [Run]) -> String {
        let a = chart(
            title: "Held-out exact match vs wall time", xLabel: "minutes (warm-up included)", yLabel: "exact match",
            series: runs.map(\.accuracyByTime), yRange: 0...1, xGuide: 15, yGuide: 0.9)
        let b = chart(
            title: "Held-out exact match vs GRPO step", xLabel: "GRPO step", yLabel: "exact match",
            series: runs.map { $0.series("eval/exact_match") }, yRange: 0...1, yGuide: 0.9)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"920\" height=\"300\" viewBox=\"0 0 920 300\">\n"
            + "<g>\(a)</g><g transform=\"translate(460 0)\">\(b)</g></svg>\n"
    }

    public static func html(_ runs: [Run]) -> String {
        let charts: [(String, String, String)] = [
            ("critic/score/mean", "Sampled reward (mean)", "reward"),
            ("actor/ppo_kl", "actor/ppo_kl", "KL(old ‖ new)"),
            ("actor/pg_clipfrac", "actor/pg_clipfrac", "clipped share"),
            ("actor/entropy", "actor/entropy", "nats"),
            ("response_length/mean", "response_length/mean", "tokens"),
            ("actor/grad_norm", "actor/grad_norm", "L2 norm"),
        ]
        var body = "<h1>envrun runs: \(escape(runs.map(\.name).joined(separator: ", ")))</h1>\n"
        body += "<div class=\"row\">" + chart(
            title: "Held-out exact match vs wall time", xLabel: "minutes (warm-up included)", yLabel: "exact match",
            series: runs.map(\.accuracyByTime), yRange: 0...1, xGuide: 15, yGuide: 0.9)
        body += chart(
            title: "Held-out exact match vs GRPO step", xLabel: "GRPO step", yLabel: "exact match",
            series: runs.map { $0.series("eval/exact_match") }, yRange: 0...1, yGuide: 0.9) + "</div>\n"
        body += "<div class=\"row\">"
        for (key, title, unit) in charts {
            body += chart(title: title, xLabel: "GRPO step", yLabel: unit, series: runs.map { $0.series(key) })
        }
        body += "</div>\n"
        let sources = Set(runs.flatMap { $0.metrics.flatMap(\.keys) }).filter { $0.hasPrefix("critic/score/") && $0 != "critic/score/mean" }.sorted()
        if !sources.isEmpty {
            body += "<div class=\"row\">"
            for key in sources { body += chart(title: key, xLabel: "GRPO step", yLabel: "reward", series: runs.map { $0.series(key) }) }
            body += "</div>\n"
        }
        // Written by the browser once the page is laid out: how many curves drew and with what extent.
        // `envrun`'s test reads it back through a headless browser; a person can ignore it.
        let check = """
            <pre id="render-check" style="color:#aaa;font-size:10px"></pre>
            <script>
            window.addEventListener('load', function () {
              var out = [];
              document.querySelectorAll('path.curve').forEach(function (p) {
                var b = p.getBBox();
                out.push({series: p.dataset.series, width: b.width, height: b.height, length: p.getTotalLength()});
              });
              document.getElementById('render-check').textContent = JSON.stringify(out);
            });
            </script>
            """
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>envrun runs</title>
            <style>body{font-family:sans-serif;margin:16px} .row{display:flex;flex-wrap:wrap;gap:8px} svg.chart{border:1px solid #ddd}</style>
            </head><body>
            \(body)\(check)
            </body></html>

            """
    }
}
