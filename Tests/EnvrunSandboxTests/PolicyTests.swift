import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

extension SandboxSuites {
    @Suite struct PolicyTests {
        @Test func sandboxPolicyLoadsAndEveryLanguageHasItsTools() throws {
            let policy = try SandboxPolicy.load(from: SandboxPolicy.locate())
            #expect(Set(policy.languages.values.map(\.id)) == ["python", "c", "cpp", "javascript", "bash"])
            #expect(policy.language("python")?.run.first == "/usr/bin/python3")
            for l in policy.languages.values {
                for tool in [l.run.first, l.compile?.first].compactMap({ $0 }) where tool.hasPrefix("/") {
                    #expect(FileManager.default.isExecutableFile(atPath: tool), "\(l.id): \(tool)")
                }
            }
            let program = try SeccompProgram(policy: policy.seccomp["default"]!, name: "default")
            #expect(program.instructionCount > 50)
        }

        @Test func unknownSyscallInAPolicyIsAClearError() throws {
            var policy = try SandboxPolicy.load(from: SandboxPolicy.locate()).seccomp["default"]!
            policy.allow.append("definitely_not_a_syscall")
            #expect(throws: EnvrunError.self) { try SeccompProgram(policy: policy, name: "broken") }
            do {
                _ = try SeccompProgram(policy: policy, name: "broken")
            } catch let e as EnvrunError {
                #expect(e.code == .invalidInput)
                #expect(e.message.contains("definitely_not_a_syscall"))
                #expect(e.field == "Sandbox/seccomp/broken.json")
            }
        }

        @Test func requestLimitsAreClampedToTheMaximum() throws {
            let l = try SandboxPolicy.load(from: SandboxPolicy.locate()).limits
            let r = l.run.applying(ExecLimits(cpuMs: 10_000_000, memoryMB: 0), max: l.max)
            #expect(r.cpuMs == l.max.cpuMs)
            #expect(r.memoryMB == 1)
            #expect(r.wallMs == l.run.wallMs)
        }

        /// A set-up failure inside the sandbox (here: the interpreter path does not exist) is our
        /// fault: `sandbox_error` with the failing step and errno, never a program verdict.
        @Test func setupFailureIsASandboxErrorWithTheStep() async throws {
            if skipUnlessRoot() { return }
            let src = try SandboxPolicy.locate()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-policy-\(getpid())")
            try? FileManager.default.removeItem(at: dir)
            try FileManager.default.copyItem(at: src, to: dir)
            defer { try? FileManager.default.removeItem(at: dir) }
            let ghost = """
                {"id": "ghost", "aliases": [], "source_file": "main.g", "run": ["/usr/bin/envrun-no-such-interpreter", "main.g"],
                 "seccomp": "default", "address_space_limit": true, "warm_pool": false, "memory_error_patterns": []}
                """
            try ghost.write(to: dir.appendingPathComponent("languages/ghost.json"), atomically: true, encoding: .utf8)
            let ex = try SandboxExecutor(configuration: SandboxConfiguration(policyDirectory: dir, slots: 1, warmPool: false))
            let r = await ex.run(ExecRequest(language: "ghost", source: "x"))
            await ex.shutdown()
            #expect(r.verdict == .sandboxError)
            #expect(r.detail?.contains("execve") == true, "\(r.detail ?? "")")
            #expect(r.detail?.contains("No such file") == true, "\(r.detail ?? "")")
        }
    }
}
