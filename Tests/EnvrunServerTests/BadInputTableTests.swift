import EnvrunServer
import HTTPTypes
import HummingbirdTesting
import Testing

/// The README's bad-input table, row by row: each malformed request and the status, error code and field
/// it must get. Keep the two in step.
struct BadInput: Sendable, CustomTestStringConvertible {
    let name: String
    let method: HTTPRequest.Method
    let path: String
    let body: String?
    let status: Int
    let code: String
    let field: String?
    var testDescription: String { name }

    static let rows: [BadInput] = [
        .init(name: "malformed JSON", method: .post, path: "/v1/score", body: #"{"items": [ "#,
              status: 400, code: "invalid_json", field: "body"),
        .init(name: "empty body", method: .post, path: "/v1/score", body: nil,
              status: 400, code: "invalid_json", field: "body"),
        .init(name: "body is an array, not an object", method: .post, path: "/v1/score", body: "[]",
              status: 400, code: "invalid_input", field: "body"),
        .init(name: "missing field", method: .post, path: "/v1/score",
              body: #"{"items":[{"pack":"fake-math","task_id":"1","response":"1"},{"pack":"fake-math","task_id":"1"}]}"#,
              status: 400, code: "invalid_input", field: "items[1].response"),
        .init(name: "wrong type", method: .post, path: "/v1/score",
              body: #"{"items":[{"pack":"fake-math","task_id":7,"response":"1"}]}"#,
              status: 400, code: "invalid_input", field: "items[0].task_id"),
        .init(name: "null where a string is required", method: .post, path: "/v1/score",
              body: #"{"items":[{"pack":null,"task_id":"1","response":"1"}]}"#,
              status: 400, code: "invalid_input", field: "items[0].pack"),
        .init(name: "neither task_id nor task", method: .post, path: "/v1/score",
              body: #"{"items":[{"pack":"fake-math","response":"1"}]}"#,
              status: 400, code: "invalid_input", field: "items[0].task_id"),
        .init(name: "empty batch", method: .post, path: "/v1/score", body: #"{"items":[]}"#,
              status: 400, code: "invalid_input", field: "items"),
        .init(name: "unknown pack (episodes)", method: .post, path: "/v1/episodes",
              body: #"{"pack":"nope","task_id":"1"}"#, status: 404, code: "not_found", field: "pack"),
        .init(name: "unknown task (episodes)", method: .post, path: "/v1/episodes",
              body: #"{"pack":"fake-math","task_id":"99"}"#, status: 404, code: "not_found", field: "task_id"),
        .init(name: "unknown episode", method: .post, path: "/v1/episodes/ep-999/step",
              body: #"{"action":"1"}"#, status: 404, code: "not_found", field: "episode_id"),
        .init(name: "step without action", method: .post, path: "/v1/episodes/ep-1/step", body: "{}",
              status: 400, code: "invalid_input", field: "action"),
        .init(name: "unknown pack (tasks)", method: .get, path: "/v1/packs/nope/tasks", body: nil,
              status: 404, code: "not_found", field: "pack"),
        .init(name: "limit above the maximum", method: .get, path: "/v1/packs/fake-math/tasks?limit=100000",
              body: nil, status: 400, code: "invalid_input", field: "limit"),
        .init(name: "offset not an integer", method: .get, path: "/v1/packs/fake-math/tasks?offset=abc",
              body: nil, status: 400, code: "invalid_input", field: "offset"),
        .init(name: "negative offset", method: .get, path: "/v1/packs/fake-math/tasks?offset=-1",
              body: nil, status: 400, code: "invalid_input", field: "offset"),
        .init(name: "unknown route", method: .get, path: "/v2/nothing", body: nil,
              status: 404, code: "not_found", field: "path"),
        .init(name: "run_code without code", method: .post, path: "/run_code", body: #"{"language":"python"}"#,
              status: 400, code: "invalid_input", field: "code"),
        .init(name: "run_code with a negative run_timeout", method: .post, path: "/run_code",
              body: #"{"code":"print(1)","language":"python","run_timeout":-1}"#,
              status: 400, code: "invalid_input", field: "run_timeout"),
        .init(name: "run_code with a file that is not base64", method: .post, path: "/run_code",
              body: #"{"code":"print(1)","language":"python","files":{"a.txt":"%%%"}}"#,
              status: 400, code: "invalid_input", field: "files.a.txt"),
        .init(name: "run_code writing outside the work dir", method: .post, path: "/run_code",
              body: #"{"code":"print(1)","language":"python","files":{"../x":"eA=="}}"#,
              status: 400, code: "invalid_input", field: "files.../x"),
        .init(name: "get_reward with labels of another length", method: .post, path: "/get_reward",
              body: #"{"query":["a","b"],"labels":["1"]}"#,
              status: 400, code: "invalid_input", field: "labels"),
        .init(name: "get_reward without query", method: .post, path: "/get_reward", body: #"{"labels":["1"]}"#,
              status: 400, code: "invalid_input", field: "query"),
        .init(name: "get_reward with a label object lacking task_id and answer", method: .post,
              path: "/get_reward", body: #"{"query":["a"],"labels":[{"pack":"fake-math"}]}"#,
              status: 400, code: "invalid_input", field: "labels[0].task_id"),
    ]
}

@Suite("bad input: every malformed request gets a 4xx JSON error naming the field")
struct BadInputTableTests {
    @Test(arguments: BadInput.rows)
    func row(_ row: BadInput) async throws {
        try await withApp { client in
            let response = try await client.send(row.method, row.path, json: row.body)
            #expect(response.status.code == row.status, "\(response.text)")
            let detail = try #require(response.errorDetail, "not a JSON error body: \(response.text)")
            #expect(detail.code == row.code)
            #expect(detail.field == row.field)
            #expect(!detail.message.isEmpty)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }
}
