import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

/// A shared table of programs: the cold sandbox and the warm pool must give the same verdict
/// (and, where deterministic, the same output).
struct ParityCase: Sendable, CustomStringConvertible {
    var name: String
    var source: String
    var stdin = ""
    var limits = ExecLimits(cpuMs: 1000, wallMs: 3000, memoryMB: 128)
    var verdict: Verdict
    var stdout: String?

    var description: String { name }
}

let parityTable: [ParityCase] = [
    ParityCase(name: "hello", source: "print('hi')", verdict: .ok, stdout: "hi\n"),
    ParityCase(name: "main guard", source: "if __name__ == '__main__':\n    print(__name__, __file__)",
               verdict: .ok, stdout: "__main__ /work/main.py\n"),
    ParityCase(name: "stdin stream", source: "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))",
               stdin: "1 2 3\n4\n", verdict: .ok, stdout: "10\n"),
    ParityCase(name: "exit 3", source: "import sys\nsys.exit(3)", verdict: .runtimeError),
    ParityCase(name: "exit 0 early", source: "import os\nprint('x', flush=True)\nos._exit(0)\nprint('y')",
               verdict: .ok, stdout: "x\n"),
    ParityCase(name: "exit message", source: "import sys\nsys.exit('bye')", verdict: .runtimeError),
    ParityCase(name: "exception", source: "raise ValueError('boom')", verdict: .runtimeError),
    ParityCase(name: "atexit and threads", source: """
        import atexit, threading, time
        atexit.register(lambda: print('atexit'))
        t = threading.Thread(target=lambda: (time.sleep(0.05), print('thread')))
        t.start()
        print('main')
        """, verdict: .ok, stdout: "main\nthread\natexit\n"),
    // A fresh interpreter has not imported threading; neither may the warm worker (its after-fork
    // hook would run in every job: measured +0.3 ms per warm job).
    // The slot's prebuilt root (cold) and the worker's own root (warm) must look the same.
    ParityCase(name: "dev and proc", source: """
        import os
        print(sorted(os.listdir('/dev')))
        open('/dev/null', 'w').write('x')
        print(oct(os.stat('/dev/null').st_mode & 0o777), os.path.exists('/proc/self/status'))
        print(sorted(os.listdir('/')))
        """, verdict: .ok, stdout: """
        ['fd', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'urandom', 'zero']
        0o666 True
        ['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr', 'work']

        """),
    ParityCase(name: "threading not preloaded", source: "import sys\nprint('threading' in sys.modules)",
               verdict: .ok, stdout: "False\n"),
    ParityCase(name: "fork, pipe, socketpair, waitpid, prctl", source: """
        import os, socket, ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
        a, b = socket.socketpair()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            a.send(b'sp')
            os.write(w, b'pipe')
            os._exit(7)
        _, st = os.waitpid(pid, 0)
        print(b.recv(2).decode(), os.read(r, 4).decode(), os.waitstatus_to_exitcode(st))
        """, verdict: .ok, stdout: "sp pipe 7\n"),
    ParityCase(name: "a few processes", source: """
        import os
        pids = [os.fork() for _ in range(1)]
        kids = []
        for i in range(4):
            p = os.fork()
            if p == 0:
                os._exit(i)
            kids.append(p)
        codes = sorted(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids)
        if pids[0] == 0:
            os._exit(0)
        os.waitpid(pids[0], 0)
        print(codes)
        """, verdict: .ok, stdout: "[0, 1, 2, 3]\n"),
    ParityCase(name: "fresh dirs", source: """
        import os
        print(sorted(os.listdir('/work')), os.listdir('/tmp'))
        open('/tmp/left-behind', 'w').write('x')
        open('/work/left-behind', 'w').write('x')
        """, verdict: .ok, stdout: "['main.py'] []\n"),
    ParityCase(name: "memory", source: "x = bytearray(400 * 2**20)", verdict: .memoryLimit),
    ParityCase(name: "cpu", source: "while True: pass", limits: ExecLimits(cpuMs: 1000, wallMs: 30000),
               verdict: .timeLimit),
    ParityCase(name: "wall", source: "import time\ntime.sleep(5)", limits: ExecLimits(cpuMs: 1000, wallMs: 500),
               verdict: .timeLimit),
    ParityCase(name: "output", source: "print('y' * 5000)", limits: ExecLimits(outputBytes: 1000),
               verdict: .outputLimit),
    ParityCase(name: "network", source: "import socket\nsocket.create_connection(('127.0.0.1', 9))",
               verdict: .securityViolation),
    ParityCase(name: "setsid", source: "import os\nos.setsid()\nprint(os.getsid(0) == os.getpid())", verdict: .ok,
               stdout: "True\n"),
    ParityCase(name: "self SIGKILL", source: "import os\nos.kill(os.getpid(), 9)", verdict: .runtimeError),
    ParityCase(name: "segfault", source: "import ctypes\nctypes.string_at(0)", verdict: .runtimeError),
    ParityCase(name: "file size", source: "open('/work/big', 'wb').write(b'x' * (40 * 2**20))",
               verdict: .runtimeError),
    ParityCase(name: "uid", source: "import os\nprint(os.getuid() >= 60000, os.getppid())", verdict: .ok,
               stdout: "True 1\n"),
]

extension SandboxSuites {
    @Suite struct ParityTests {
        static let executor: SandboxExecutor? = sandboxSkipReason == nil ? try? makeExecutor(slots: 1) : nil

        @Test(arguments: parityTable)
        func coldAndWarmAgree(_ c: ParityCase) async throws {
            if skipUnlessRoot() { return }
            let ex = try #require(Self.executor)
            let req = ExecRequest(language: "python", source: c.source, stdin: c.stdin, limits: c.limits)
            let cold = await ex.run(req, warm: false)
            let warm = await ex.run(req, warm: true)
            for (mode, r) in [("cold", cold), ("warm", warm)] {
                #expect(r.verdict == c.verdict, "\(mode): \(r.verdict) \(r.detail ?? "") \(r.stderr.suffix(400))")
                if let out = c.stdout { #expect(r.stdout == out, "\(mode)") }
            }
            #expect(cold.exitCode == warm.exitCode)
            #expect(cold.signal == warm.signal)
            #expect(cold.timeLimitKind == warm.timeLimitKind)
        }
    }
}

/// The other languages run cold; compiled ones compile in the sandbox first.
extension SandboxSuites {
    @Suite struct LanguageTests {
        static let executor: SandboxExecutor? = sandboxSkipReason == nil ? try? makeExecutor(slots: 1) : nil

        func run(_ lang: String, _ source: String, stdin: String = "") async throws -> ExecResult? {
            if skipUnlessRoot() { return nil }
            let ex = try #require(Self.executor)
            return await ex.run(ExecRequest(language: lang, source: source, stdin: stdin))
        }

        @Test func c() async throws {
            let r = try await run("c", "#include <stdio.h>\nint main(){int a,b;scanf(\"%d %d\",&a,&b);printf(\"%d\\n\",a+b);return 0;}",
                                  stdin: "2 40")
            #expect(r.map { $0.verdict == .ok && $0.stdout == "42\n" } ?? true, "\(String(describing: r))")
        }

        @Test func cpp() async throws {
            let r = try await run("cpp", "#include <iostream>\n#include <vector>\nint main(){std::vector<int> v{1,2,3};std::cout<<v.size()<<std::endl;}")
            #expect(r.map { $0.verdict == .ok && $0.stdout == "3\n" } ?? true, "\(String(describing: r))")
        }

        @Test func compileError() async throws {
            let r = try await run("c", "int main() { return x; }")
            #expect(r.map { $0.verdict == .compileError && ($0.detail ?? "").contains("x") } ?? true,
                    "\(String(describing: r))")
        }

        @Test func javascript() async throws {
            let r = try await run("javascript", "const fs = require('fs');\nconsole.log(fs.readFileSync(0, 'utf8').trim().toUpperCase());",
                                  stdin: "node")
            #expect(r.map { $0.verdict == .ok && $0.stdout == "NODE\n" } ?? true, "\(String(describing: r))")
        }

        @Test func bash() async throws {
            let r = try await run("bash", "read x; echo \"got $x\" | tr a-z A-Z; ls / | wc -l")
            #expect(r.map { $0.verdict == .ok && $0.stdout.hasPrefix("GOT ") } ?? true, "\(String(describing: r))")
        }

        @Test func cSegfaultIsARuntimeError() async throws {
            let r = try await run("c", "int main(){ volatile int *p = 0; return *p; }")
            #expect(r.map { $0.verdict == .runtimeError && $0.signal == 11 } ?? true, "\(String(describing: r))")
        }

        @Test func unknownLanguageIsASandboxErrorNamingTheField() async throws {
            let r = try await run("cobol", "x")
            #expect(r.map { $0.verdict == .sandboxError && ($0.detail ?? "").contains("language") } ?? true)
        }
    }
}
