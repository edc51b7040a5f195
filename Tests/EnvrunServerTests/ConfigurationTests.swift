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
