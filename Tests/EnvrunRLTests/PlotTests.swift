import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRL

/// `envrun plot`'s page, rendered by a real headless browser (Debian's chromium-headless-shell, installed
/// by scripts/setup.sh): every curve must be laid out with a non-zero extent.
@Suite("Run plots render in a headless browser")
struct PlotTests {
    static let browser = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static func render(_ html: String) throws -> [[String: Any]] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("plot.html")
        try Data(html.utf8).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser!)
        // --no-sandbox: the tests run as root, where Chromium refuses its own sandbox.
        p.arguments = ["--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir.path)/profile", "--dump-dom", file.absoluteString]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let dom = String(decoding: data, as: UTF8.self)
        guard let start = dom.range(of: "<pre id=\"render-check\""), let open = dom[start.upperBound...].range(of: ">"),
            let close = dom[open.upperBound...].range(of: "</pre>")
        else { return [] }
        let json = String(dom[open.upperBound..<close.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
        guard !json.isEmpty else { return [] }
        return (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]) ?? []
    }

    @Test(.timeLimit(.minutes(2)))
    func pageOfTwoRealRunsDrawsEveryCurve() async throws {
        guard Self.browser != nil else {
            print("skipped: no chromium-headless-shell (scripts/setup.sh installs it)")
            return
        }
        let env = try DriverTests.environment()
        var dirs: [URL] = []
        for s in [Supervision.outcome, .process] {
            var c = DriverTests.config()
            c.supervision = s
            let run = DriverTests.tmp("plot-\(s.rawValue)")
            _ = try await GRPODriver(config: c, environment: env, run: run).run(resume: false)
            dirs.append(run.url)
        }
        let runs = try RunPlot.load(dirs)
        let curves = try Self.render(RunPlot.html(runs))
        // 2 exact-match charts + 6 step charts + 1 reward-by-source chart, one curve per run each.
        #expect(curves.count == 9 * 2, "\(curves.count) curves drawn")
        for c in curves {
            let length = c["length"] as? Double ?? 0, w = c["width"] as? Double ?? 0
            #expect(length > 0 && w > 0, "\(c)")
        }
        #expect(Set(curves.compactMap { $0["series"] as? String }) == Set(dirs.map(\.lastPathComponent)))
    }

    @Test func aBrokenPageIsCaught() throws {
        guard Self.browser != nil else {
            print("skipped: no chromium-headless-shell (scripts/setup.sh installs it)")
            return
        }
        // Without the page's script nothing is reported: the check above cannot pass on an empty page.
        #expect(try Self.render("<html><body><pre id=\"render-check\"></pre></body></html>").isEmpty)
    }

    @Test func missingRunDirectoryIsAClearError() {
        #expect(throws: EnvrunError.self) { try RunPlot.load([URL(fileURLWithPath: "/nonexistent/run")]) }
    }
}
