import EnvrunCore
import EnvrunServer
import HummingbirdTesting
import Testing

@Suite("packs")
struct PackRouteTests {
    @Test("GET /v1/packs lists every pack with its task count")
    func list() async throws {
        try await withApp { client in
            let packs = try await client.send(.get, "/v1/packs").decoded(PacksResponse.self).packs
            #expect(packs.map(\.name) == ["fake-math", "fake-code"])
            #expect(packs.map(\.taskCount) == [10, 3])
        }
    }

    @Test("tasks are paged by offset and limit, with next_offset until the last page")
    func paging() async throws {
        try await withApp { client in
            let first = try await client.send(.get, "/v1/packs/fake-math/tasks?limit=4").decoded(TasksPage.self)
            #expect(first.tasks.map(\.id) == ["0", "1", "2", "3"])
            #expect(first.total == 10)
            #expect(first.nextOffset == 4)
            let last = try await client.send(.get, "/v1/packs/fake-math/tasks?offset=8&limit=4").decoded(TasksPage.self)
            #expect(last.tasks.map(\.id) == ["8", "9"])
            #expect(last.nextOffset == nil)
            let beyond = try await client.send(.get, "/v1/packs/fake-math/tasks?offset=50").decoded(TasksPage.self)
            #expect(beyond.tasks.isEmpty)
        }
    }

    @Test("the listing hides what grades a task unless expose_task_secrets is set")
    func secretsHiddenByDefault() async throws {
        try await withApp { client in
            let page = try await client.send(.get, "/v1/packs/fake-math/tasks?limit=3").decoded(TasksPage.self)
            #expect(page.tasks.count == 3 && page.tasks.allSatisfy { !$0.prompt.isEmpty })
            #expect(page.tasks.allSatisfy {
                $0.answer == nil && $0.tests == nil && $0.reference == nil && $0.ioCases == nil && $0.metadata == nil
            })
        }
        try await withApp({ $0.exposeTaskSecrets = true }) { client in
            let page = try await client.send(.get, "/v1/packs/fake-math/tasks?limit=3").decoded(TasksPage.self)
            #expect(page.tasks.allSatisfy { $0.answer != nil })
        }
    }

    @Test("a non-loopback bind without a token is refused unless the risk is named; an empty token is an error")
    func exposure() throws {
        var c = ServerConfiguration()
        c.host = "0.0.0.0"
        #expect(throws: ConfigurationError.self) { try c.validated() }
        c.allowUnauthenticatedRemote = true
        #expect(throws: Never.self) { try c.validated() }
        c.allowUnauthenticatedRemote = false
        c.token = "s3cret"
        #expect(throws: Never.self) { try c.validated() }
        c.token = ""
        #expect(throws: ConfigurationError.self) { try c.validated() }
        for loopback in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
            var l = ServerConfiguration()
            l.host = loopback
            #expect(throws: Never.self) { try l.validated() }
        }
    }

    @Test("the default page size applies when limit is absent")
    func defaultPage() async throws {
        try await withApp({ $0.defaultPageSize = 3 }) { client in
            let page = try await client.send(.get, "/v1/packs/fake-math/tasks").decoded(TasksPage.self)
            #expect(page.tasks.count == 3)
            #expect(page.limit == 3)
        }
    }
}
