import EnvrunServer
import Testing

@Suite("configuration file")
struct ConfigurationTests {
    @Test("YAML and JSON both apply over the defaults")
    func formats() throws {
        let yaml = try ServerConfigFile.parse("port: 9000\nmax_concurrency: 3\ntoken: abc\npacks: /srv/p\n")
        let json = try ServerConfigFile.parse(#"{"port": 9000, "max_concurrency": 3, "token": "abc", "packs": "/srv/p"}"#)
        #expect(yaml == json)
        let config = yaml.apply(to: ServerConfiguration())
        #expect(config.port == 9000)
        #expect(config.maxConcurrency == 3)
        #expect(config.token == "abc")
        #expect(config.host == "127.0.0.1")
        #expect(yaml.packs == "/srv/p")
    }

    @Test("an unknown key or a wrong type is an error naming the setting")
    func errors() throws {
        #expect(throws: ConfigurationError("config: unknown setting 'max_concurency'", field: "max_concurency")) {
            try ServerConfigFile.parse("max_concurency: 3")
        }
        let error = try #require(throws: ConfigurationError.self) { try ServerConfigFile.parse("port: eighty") }
        #expect(error.field == "port")
        #expect(throws: ConfigurationError.self) { try ServerConfigFile.parse("- a\n- b") }
    }

    @Test("judges: parsed and checked; a key is named by its variable, never put in the URL")
    func judges() throws {
        let file = try ServerConfigFile.parse("""
            judges:
              - {name: big, url: "http://127.0.0.1:8000/v1", model: qwen, api_key_env: JUDGE_KEY, honours_n: true,
                 constraint_field: structured_outputs, max_concurrency: 2, timeout_seconds: 5}
            """)
        let e = try #require(file.judges?.first).endpoint()
        #expect(e.name == "big" && e.model == "qwen" && e.apiKeyEnv == "JUDGE_KEY" && e.honoursN)
        #expect(e.constraintField == .structuredOutputs && e.maxConcurrency == 2 && e.timeoutSeconds == 5)
        #expect(throws: ConfigurationError.self) { try ServerConfigFile.parse("judges:\n  - {url: x, model: m, colour: red}") }
        for (url, apiKeyEnv, constraint) in [
            ("ftp://127.0.0.1/v1", nil, nil), ("http://user:s3cret@127.0.0.1/v1", nil, nil),
            ("http://127.0.0.1/v1?key=s3cret", nil, nil), ("http://127.0.0.1/v1", "sk-live-abc123!", nil),
            ("http://127.0.0.1/v1", nil, "grammer"),
        ] as [(String, String?, String?)] {
            var c = JudgeConfig(url: url, model: "m", apiKeyEnv: apiKeyEnv)
            c.constraintField = constraint
            let error = try #require(throws: ConfigurationError.self, "\(url)") { try c.endpoint() }
            #expect(!error.description.contains("s3cret") && !error.description.contains("sk-live"), "\(error)")
        }
    }

    @Test("validation rejects out-of-range settings")
    func validation() throws {
        var config = ServerConfiguration()
        config.maxConcurrency = 0
        #expect(throws: ConfigurationError.self) { try config.validated() }
        config = ServerConfiguration()
        config.port = 70000
        #expect((try? config.validated()) == nil)
        #expect(try ServerConfiguration().validated() == ServerConfiguration())
    }
}
