import EnvrunCore
import EnvrunServer
import EnvrunTesting
import Logging
import Testing

@Suite("bench serve machinery")
struct BenchSmokeTests {
    @Test("the bench scores the same batches in-process and over loopback HTTP and they agree")
    func smoke() async throws {
        let environment = FakeEnvironment()
        let items = (0..<10).map { ScoreItem(pack: "fake-math", taskID: "\($0)", response: "\($0 % 2 == 0 ? $0 * $0 : 7)") }
        var options = ServeBench.Options()
        options.seconds = 0.2
        options.rounds = 1
        options.clients = 2
        let rows = try await ServeBench.run(
            environment: environment, executor: FakeExecutor(),
            workloads: [.init(name: "math", batches: [Array(items[0..<5]), Array(items[5..<10])])],
            options: options, logger: Logger(label: "bench.test"), progress: { _ in })
        let row = try #require(rows.first)
        #expect(row.agree)
        #expect(row.batchSize == 5)
        #expect(row.inProcess.requests > 0)
        #expect(row.http.requests > 0)
        #expect(row.http.p99Ms >= row.http.p50Ms)
        #expect(row.meanReward == 0.6)  // items 0, 2, 4 right in the first batch; 1 and 3 wrong
        #expect(ServeBench.render(rows, options: options).contains("math"))
    }
}
