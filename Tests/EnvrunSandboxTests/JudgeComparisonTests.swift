import EnvrunCore
import EnvrunSandbox
import Testing

// Nested in SandboxSuites (serialized): the sandbox suites' fd and process leak checks must not see
// this suite's runs.
extension SandboxSuites {
    @Suite("Judge: output normalisation")
    struct JudgeComparisonTests {
        let tokens = OutputComparator(OutputComparison())
        let exact = OutputComparator(OutputComparison(ignoreWhitespace: false))
        let floats = OutputComparator(OutputComparison(floatTolerance: 1e-6))
        let exactFloats = OutputComparator(OutputComparison(ignoreWhitespace: false, floatTolerance: 1e-3))

        @Test(arguments: [
            ("1 2 3\n", "1 2 3"), ("1 2 3", "1  2\t3\n\n"), ("a\nb\n", "a b"), ("x\r\ny\r\n", "x\ny"), ("", "\n \n"),
        ])
        func whitespaceRunsAndTrailingNewlinesDoNotMatter(expected: String, got: String) {
            #expect(tokens.matches(expected: expected, got: got))
        }

        @Test(arguments: [("1 2 3", "1 2"), ("1 2", "12"), ("abc", "ABC"), ("1.0", "1"), ("x", "")])
        func differentTokensDoNotMatch(expected: String, got: String) {
            #expect(!tokens.matches(expected: expected, got: got))
        }

        @Test func exactModeComparesBytes() {
            #expect(exact.matches(expected: "1 2\n", got: "1 2\n"))
            #expect(!exact.matches(expected: "1 2\n", got: "1 2"))
            #expect(!exact.matches(expected: "1 2\n", got: "1  2\n"))
        }

        @Test(arguments: [
            ("0.3333333", "0.33333333"), ("1e9", "1000000000.0001"), ("2.5 x", "2.5000000001 x"), ("-0", "0.0000001"),
            ("1000000", "1000000.5"),  // relative: 0.5 <= 1e-6 * 1e6
        ])
        func numbersWithinTheToleranceMatch(expected: String, got: String) {
            #expect(floats.matches(expected: expected, got: got))
        }

        @Test(arguments: [
            ("0.333", "0.334"), ("1", "1.00001"), ("2.5 x", "2.5 y"), ("nan", "0"), ("1", "0x1p0"), ("1e", "1e"),
        ])
        func numbersOutsideTheToleranceOrNonNumbersDoNotMatch(expected: String, got: String) {
            if expected == got {
                #expect(floats.matches(expected: expected, got: got))  // equal text always matches
            } else {
                #expect(!floats.matches(expected: expected, got: got))
            }
        }

        @Test func exactModeWithToleranceKeepsWhitespaceStrict() {
            #expect(exactFloats.matches(expected: "1.000 2\n", got: "1.0004 2\n"))
            #expect(!exactFloats.matches(expected: "1.000 2\n", got: "1.0004  2\n"))
            #expect(!exactFloats.matches(expected: "1.000 2\n", got: "1.01 2\n"))
        }
    }
}
