// libyaml's scanner, which Yams is built on (its C module; Yams exposes no token or event API).
import CYaml
import EnvrunCore

/// Refuses YAML anchors and aliases in a manifest before Yams composes it. Yams shares an aliased node
/// rather than copying it, but hashes and compares mapping keys in full, so an alias used as a key (a
/// "billion laughs" with `? *a8`) made a 600-byte pack.yaml take minutes of CPU at load. A manifest has
/// no use for either; the scan is linear and stops at the first one.
enum YAMLAliases {
    static func reject(in yaml: String, file: String) throws {
        var bytes = Array(yaml.utf8)
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else { return }
        defer { yaml_parser_delete(parser) }
        try bytes.withUnsafeMutableBufferPointer { buffer in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            var token = yaml_token_t()
            while true {
                // A scanning error is left to Yams, which reports it with its line.
                guard yaml_parser_scan(parser, &token) == 1 else { return }
                let type = token.type
                let line = token.start_mark.line + 1
                yaml_token_delete(&token)
                switch type {
                case YAML_ANCHOR_TOKEN, YAML_ALIAS_TOKEN:
                    throw EnvrunError(
                        .invalidInput,
                        "\(file):\(line): YAML anchors and aliases (&name, *name) are not allowed in a pack manifest; refused",
                        field: "(document)")
                case YAML_STREAM_END_TOKEN, YAML_NO_TOKEN:
                    return
                default:
                    continue
                }
            }
        }
    }
}
