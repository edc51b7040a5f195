import EnvrunCore
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import EnvrunServer

/// No client-chosen string becomes a metric label: the series count stays bounded whatever is sent.
@Suite("metric label bounds")
struct MetricLabelTests {
    @Test("1,000 distinct unknown pack names count under one pack=\"unknown\" series")
    func unknownPacks() async throws {
        try await withApp { client in
            let items = (0..<1000).map { #"{"pack":"made-up-\#($0)","task_id":"1","response":"1"}"# }
            let r = try await client.send(.post, "/v1/score", json: #"{"items":[\#(items.joined(separator: ","))]}"#)
            #expect(r.status == .ok)
            _ = try await client.send(.post, "/v1/score",
                                      json: #"{"items":[{"pack":"fake-math","task_id":"3","response":"9"}]}"#)
            let text = try await client.send(.get, "/metrics").text
            let series = text.split(separator: "\n").filter { $0.hasPrefix("envrun_rewards_total{") }
            #expect(series.count == 2, "\(series.count) reward series")
            #expect(text.contains(#"envrun_rewards_total{pack="unknown",status="error",source="none"} 1000"#))
            #expect(text.contains(#"envrun_rewards_total{pack="fake-math",status="ok",source="none"} 1"#))
            #expect(!text.contains("made-up-"))
        }
    }

    @Test("made-up HTTP methods count as OTHER")
    func methods() async throws {
        try await withApp { client in
            for i in 0..<50 {
                _ = try await client.execute(uri: "/v1/score", method: HTTPRequest.Method("BREW\(i)")!)
            }
            let text = try await client.send(.get, "/metrics").text
            let series = text.split(separator: "\n").filter { $0.hasPrefix("envrun_http_requests_total{") }
            #expect(series.count <= 2, "\(series)")
            #expect(text.contains(#"envrun_http_requests_total{route="NotFound",method="OTHER",status="404"} 50"#))
            #expect(!text.contains("BREW"))
        }
    }

    @Test("verdict labels stop growing after a bound; the rest count as other")
    func verdicts() {
        let metrics = ServerMetrics()
        for v in Verdict.allCases { metrics.recordVerdict(v.rawValue) }
        for i in 0..<200 { metrics.recordVerdict("odd-\(i)") }
        let series = metrics.render().split(separator: "\n").filter { $0.hasPrefix("envrun_verdicts_total{") }
        #expect(series.count == ServerMetrics.maxVerdictLabels + 1)
        #expect(series.contains { $0.hasPrefix(#"envrun_verdicts_total{verdict="other"}"#) })
        for v in Verdict.allCases { #expect(series.contains { $0.contains(#"verdict="\#(v.rawValue)""#) }) }
    }
}
