/// An error with an opaque code plus context, as the style guide recommends.
/// Map to HTTP or an exit status only at the edge.
public struct EnvrunError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let invalidInput = Code("invalid_input")
        public static let notFound = Code("not_found")
        public static let io = Code("io")
        public static let unavailable = Code("unavailable")
        public static let `internal` = Code("internal")
    }

    public let code: Code
    public let message: String
    /// The field or path the error is about, when there is one.
    public let field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String {
        field.map { "\(code): \($0): \(message)" } ?? "\(code): \(message)"
    }
}
