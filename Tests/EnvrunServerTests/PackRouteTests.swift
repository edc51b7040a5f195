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

    @Test("the default page size applies when limit is absent")
    func defaultPage() async throws {
        try await withApp({ $0.defaultPageSize = 3 }) { client in
            let page = try await client.send(.get, "/v1/packs/fake-math/tasks").decoded(TasksPage.self)
            #expect(page.tasks.count == 3)
            #expect(page.limit == 3)
        }
    }
}
