import ArgumentParser
import EnvrunRL
import Foundation

struct PlotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Render the curves of envrun train runs as an HTML page and an SVG.",
        discussion: """
            Several run directories overlay on the same charts (e.g. outcome vs process vs a control). \
            Writes plot.html (held-out exact match against wall time and step, reward, KL, clip fraction, \
            entropy, response length, gradient norm, reward by source) and plot.svg (the two exact-match \
            charts) into the first run directory, or --out. The page is self-contained: open it in a browser.

              envrun plot runs/outcome runs/process runs/control
            """)

    @Argument(help: "Run directories of envrun train.") var runs: [String]
    @Option(help: "Folder for plot.html and plot.svg (default: the first run directory).") var out: String?

    func validate() throws {
        if runs.isEmpty { throw ValidationError("name at least one run directory") }
    }

    func run() async throws {
        let loaded = try RunPlot.load(runs.map { URL(fileURLWithPath: $0) })
        let dir = URL(fileURLWithPath: out ?? runs[0])
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let html = dir.appendingPathComponent("plot.html"), svg = dir.appendingPathComponent("plot.svg")
        try Data(RunPlot.html(loaded).utf8).write(to: html, options: .atomic)
        try Data(RunPlot.headline(loaded).utf8).write(to: svg, options: .atomic)
        print("wrote \(html.path) and \(svg.path)")
    }
}
