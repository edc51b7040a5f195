import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

/// Compile once, run many (`MultiRunExecutor`): one compile per request, every case in a fresh
/// cold sandbox whose work dir holds only the compiled files, which no case can change.
extension SandboxSuites {
    @Suite struct MultiRunTests {
        static let executor: SandboxExecutor? = sandboxSkipReason == nil ? try? makeExecutor(slots: 1) : nil

        /// Each case: did an earlier case leave a file? can it overwrite its own binary? Then it
        /// deletes the binary (the next case must still run) and prints 2n.
        static let program = """
            #include <stdio.h>
            #include <unistd.h>
            int main(void) {
                int n = 0;
                if (scanf("%d", &n) != 1) return 2;
                FILE *m = fopen("marker", "r");
                puts(m ? "seen" : "fresh");
                fclose(fopen("marker", "w"));
                FILE *p = fopen("prog", "w");
                puts(p ? "WRITABLE" : "read-only");
                unlink("prog");
                printf("%d\\n", 2 * n);
                return 0;
            }
            """

        @Test func compilesOnceAndEveryCaseStartsFromTheCompiledFiles() async throws {
            if skipUnlessRoot() { return }
            let ex = try #require(Self.executor)
            let before = ex.compiles.value
            let stdins = ["1", "2", "3", "4", "5"]
            let results = await ex.run(ExecRequest(language: "c", source: Self.program), stdins: stdins)
            #expect(ex.compiles.value - before == 1, "compiled \(ex.compiles.value - before) times")
            #expect(results.count == stdins.count)
            for (i, r) in results.enumerated() {
                #expect(r.verdict == .ok, "case \(i): \(r.verdict) \(r.detail ?? "") \(r.stderr)")
                #expect(r.stdout == "fresh\nread-only\n\(2 * (i + 1))\n", "case \(i): \(r.stdout)")
            }
            // The request's own files are gone after it: the next request starts clean.
            let next = await ex.run(ExecRequest(language: "c", source: Self.program, stdin: "7"))
            #expect(next.stdout == "fresh\nread-only\n14\n", "\(next.stdout)")
        }

        @Test func aCompileErrorIsEveryCasesResult() async throws {
            if skipUnlessRoot() { return }
            let ex = try #require(Self.executor)
            let before = ex.compiles.value
            let results = await ex.run(ExecRequest(language: "c", source: "int main() { return x; }"), stdins: ["1", "2"])
            #expect(ex.compiles.value - before == 1)
            #expect(results.map(\.verdict) == [.compileError, .compileError])
        }

        @Test func interpretedLanguagesRunEachCase() async throws {
            if skipUnlessRoot() { return }
            let ex = try #require(Self.executor)
            let results = await ex.run(python("import sys\nprint(int(sys.stdin.read()) * 3)"), stdins: ["1", "5"])
            #expect(results.map(\.stdout) == ["3\n", "15\n"])
        }
    }
}
