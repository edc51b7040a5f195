import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

#if canImport(Glibc)
import Glibc
#endif

/// Real attacks, run cold and warm. Each asserts its verdict and that the host is untouched: no
/// process of the executor's uids left (besides the warm workers), canary files unchanged.
extension SandboxSuites {
    @Suite struct AttackTests {
        static let executor: SandboxExecutor? = sandboxSkipReason == nil ? try? makeExecutor(slots: 1) : nil

        /// Runs `source` cold and warm, checks the verdict and the host after each.
        func attack(_ source: String, stdin: String = "", limits: ExecLimits = ExecLimits(cpuMs: 1000, wallMs: 3000),
                    expect: Set<Verdict>, sourceLocation: SourceLocation = #_sourceLocation,
                    extra: (ExecResult) -> Void = { _ in }) async throws
        {
            if skipUnlessRoot() { return }
            let ex = try #require(Self.executor, sourceLocation: sourceLocation)
            let canary = Canary("attack")
            defer { canary.remove() }
            let program = source.replacingOccurrences(of: "CANARY", with: canary.path)
            for warm in [false, true] {
                let r = await ex.run(python(program, stdin: stdin, limits), warm: warm)
                #expect(expect.contains(r.verdict),
                        "warm=\(warm): \(r.verdict) \(r.detail ?? "") cpu \(r.cpuMs) ms, signal \(r.signal ?? 0) \(r.stderr.suffix(300))",
                        sourceLocation: sourceLocation)
                extra(r)
                let workers = Set(await ex.warmWorkerPids())
                let left = processes(ofUids: ex.slotUids).filter { !workers.contains($0) }
                #expect(left.isEmpty, "warm=\(warm): leftover processes \(left)", sourceLocation: sourceLocation)
                #expect(canary.intact, "warm=\(warm): canary changed", sourceLocation: sourceLocation)
            }
        }

        @Test func forkBomb() async throws {
            try await attack("""
                import os
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
                """, expect: [.timeLimit])
        }

        @Test func threadBomb() async throws {
            try await attack("""
                import threading, time
                while True:
                    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                """, expect: [.runtimeError])
        }

        @Test func memoryBomb() async throws {
            try await attack("""
                x = []
                while True:
                    x.append(bytearray(10_000_000))
                """, limits: ExecLimits(cpuMs: 2000, wallMs: 4000, memoryMB: 128), expect: [.memoryLimit]) { r in
                #expect(r.peakMemoryKb < 200 * 1024)
            }
        }

        @Test func cpuSpin() async throws {
            // A generous wall limit: on a loaded machine 1 s of CPU can take many seconds.
            try await attack("while True:\n    pass\n", limits: ExecLimits(cpuMs: 1000, wallMs: 30000),
                             expect: [.timeLimit]) { r in
                #expect(r.timeLimitKind == .cpu)
            }
        }

        /// RLIMIT_CPU counts whole seconds: with a 1200 ms limit the kernel stops the program only
        /// at 2 s, so one that ends by itself after 1.5 s of CPU is judged against 1200 ms.
        @Test func cpuOverASubSecondLimitEndingByItself() async throws {
            try await attack("""
                import time
                t = time.process_time()
                while time.process_time() - t < 1.5:
                    pass
                print("done")
                """, limits: ExecLimits(cpuMs: 1200, wallMs: 30000), expect: [.timeLimit]) { r in
                #expect(r.timeLimitKind == .cpu)
                #expect(r.stdout == "done\n")
            }
        }

        @Test func sleepForever() async throws {
            try await attack("import time\ntime.sleep(10**6)\n", limits: ExecLimits(cpuMs: 1000, wallMs: 700),
                             expect: [.timeLimit]) { r in
                #expect(r.timeLimitKind == .wall)
            }
        }

        @Test func daemonThatTriesToOutliveTheRun() async throws {
            // Double fork; one grandchild makes a session of its own (allowed: it stays inside the
            // run's pid namespace), the other just hides and sleeps. The job itself exits 0 at
            // once: the verdict is ok, and nothing may be left.
            try await attack("""
                import os, time
                for attempt_setsid in (True, False):
                    if os.fork() == 0:
                        if os.fork() == 0:
                            if attempt_setsid:
                                os.setsid()
                            time.sleep(30)
                            open("/tmp/daemon-was-here", "w").write("x")
                            os._exit(0)
                        os._exit(0)
                time.sleep(0.2)
                print("parent done")
                """, expect: [.ok]) { r in
                #expect(r.stdout.contains("parent done"))
            }
        }

        /// A job plants things for the slot's next job: an abstract unix socket held by a daemon
        /// (network namespaces are per slot and reused), a SysV shared-memory segment and a message
        /// queue (they outlive every process; warm jobs share their worker's IPC namespace). The
        /// next job of the same slot must find none of them, cold and warm.
        @Test func nothingLeftForTheNextJob() async throws {
            if skipUnlessRoot() { return }
            let ex = try #require(Self.executor)
            let key = Int32.random(in: 1000...1_000_000)
            let plant = """
                import ctypes, os, socket, time
                libc = ctypes.CDLL(None, use_errno=True)
                libc.shmat.restype = ctypes.c_void_p
                shm = libc.shmget(\(key), 4096, 0o1600)
                addr = libc.shmat(shm, None, 0)
                ctypes.memmove(addr, b"left by the previous job", 24)
                libc.shmdt(ctypes.c_void_p(addr))
                msq = libc.msgget(\(key), 0o1600)
                print("planted", shm, msq, flush=True)
                if os.fork() == 0:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.bind("\\0envrun-leftover-\(key)")
                    s.listen(1)
                    time.sleep(30)
                time.sleep(0.2)
                """
            let look = """
                import ctypes, socket
                libc = ctypes.CDLL(None, use_errno=True)
                print("shm", libc.shmget(\(key), 0, 0), "msg", libc.msgget(\(key), 0))
                print(open("/proc/sysvipc/shm").read().count("\\n") - 1, open("/proc/sysvipc/msg").read().count("\\n") - 1)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect("\\0envrun-leftover-\(key)")
                    print("CONNECTED")
                except OSError as e:
                    print("refused", type(e).__name__)
                """
            for warm in [false, true] {
                let a = await ex.run(python(plant), warm: warm)
                #expect(a.verdict == .ok && a.stdout.hasPrefix("planted") && !a.stdout.contains("-1"),
                        "warm=\(warm): \(a.verdict) \(a.stdout) \(a.stderr.suffix(300))")
                let b = await ex.run(python(look), warm: warm)
                #expect(b.verdict == .ok, "warm=\(warm): \(b.verdict) \(b.stderr.suffix(300))")
                #expect(b.stdout == "shm -1 msg -1\n0 0\nrefused ConnectionRefusedError\n", "warm=\(warm): \(b.stdout)")
            }
        }

        @Test func tcpAndUdpToLoopbackListener() async throws {
            let listeners = LoopbackListeners()
            for kind in ["SOCK_STREAM", "SOCK_DGRAM"] {
                try await attack("""
                    import socket
                    s = socket.socket(socket.AF_INET, socket.\(kind))
                    s.connect(("127.0.0.1", \(kind == "SOCK_STREAM" ? listeners.tcpPort : listeners.udpPort)))
                    s.send(b"leak")
                    """, expect: [.securityViolation])
            }
            #expect(!listeners.somethingArrived, "a connection or datagram reached the host listener")
        }

        @Test func dnsLookup() async throws {
            try await attack("""
                import socket
                print(socket.getaddrinfo("example.com", 80))
                """, expect: [.securityViolation, .runtimeError]) { r in
                #expect(!r.stdout.contains("AddressFamily"))
            }
        }

        @Test func readingAHostSecret() async throws {
            let secret = "s3cr3t-\(UUID().uuidString)"
            let path = "/tmp/envrun-secret-\(getpid())"
            try secret.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o644)
            defer { unlink(path) }
            try await attack("""
                import os
                for p in ["\(path)", "/proc/1/root\(path)", "/../..\(path)", "/proc/self/root\(path)"]:
                    try:
                        print(open(p).read())
                    except Exception as e:
                        print("denied", type(e).__name__)
                """, expect: [.ok]) { r in
                #expect(!r.stdout.contains(secret))
                #expect(r.stdout.contains("denied"))
            }
        }

        @Test func writingOutsideTheWorkDir() async throws {
            try await attack("""
                import os
                targets = ["CANARY", "/usr/evil", "/etc/evil", "/evil", "/proc/1/root/CANARY"]
                os.symlink("CANARY", "/work/link")
                os.symlink("/", "/work/rootlink")
                targets += ["/work/link", "/work/rootlink/usr/evil"]
                for t in targets:
                    try:
                        with open(t, "w") as f:
                            f.write("pwned")
                        print("wrote", t)
                    except Exception as e:
                        print("denied", t, type(e).__name__)
                """, expect: [.ok]) { r in
                #expect(!FileManager.default.fileExists(atPath: "/usr/evil"))
                #expect(!FileManager.default.fileExists(atPath: "/evil"))
            }
        }

        @Test func killAllAndKillTheParent() async throws {
            // A host process of ours that must survive kill(-1).
            let victim = Process()
            victim.executableURL = URL(fileURLWithPath: "/usr/bin/sleep")
            victim.arguments = ["30"]
            try victim.run()
            defer { victim.terminate() }
            try await attack("""
                import os, signal
                for target in (-1, os.getppid(), 1, \(victim.processIdentifier), \(getpid())):
                    try:
                        os.kill(target, signal.SIGKILL)
                        print("sent", target)
                    except Exception as e:
                        print("refused", target, type(e).__name__)
                print("still here")
                """, expect: [.ok]) { r in
                #expect(r.stdout.contains("still here"))
            }
            #expect(victim.isRunning, "kill(-1) from the sandbox reached a host process")
        }

        @Test func ptrace() async throws {
            try await attack("""
                import ctypes
                libc = ctypes.CDLL(None)
                print(libc.ptrace(0, 0, 0, 0))
                """, expect: [.securityViolation])
        }

        @Test func namespaceEscapes() async throws {
            try await attack("""
                import ctypes
                libc = ctypes.CDLL(None)
                print(libc.unshare(0x10000000))
                """, expect: [.securityViolation])
            try await attack("""
                import ctypes
                libc = ctypes.CDLL(None)
                libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
                """, expect: [.securityViolation])
        }

        @Test func hugeStdout() async throws {
            try await attack("""
                import sys
                while True:
                    sys.stdout.write("x" * 65536)
                """, limits: ExecLimits(cpuMs: 2000, wallMs: 4000, outputBytes: 100_000), expect: [.outputLimit]) { r in
                #expect(r.truncated)
                #expect(r.stdout.utf8.count == 100_000)
            }
        }

        @Test func diskFill() async throws {
            var before = statvfs()
            statvfs("/", &before)
            try await attack("""
                n = 0
                with open("/work/fill", "wb") as f:
                    while True:
                        f.write(b"x" * (1 << 20))
                        f.flush()
                        n += 1
                """, expect: [.runtimeError]) { r in
                #expect(r.stderr.contains("OSError") || r.stderr.contains("File too large") || r.stderr.contains("No space"))
            }
            var after = statvfs()
            statvfs("/", &after)
            let lostMB = (Int(before.f_bavail) - Int(after.f_bavail)) * Int(before.f_frsize) / 1_048_576
            #expect(lostMB < 32, "host disk lost \(lostMB) MB")
        }

        @Test func manyFiles() async throws {
            try await attack("""
                import os
                for i in range(200000):
                    open(f"/tmp/f{i}", "w").close()
                """, expect: [.runtimeError]) { r in
                #expect(r.stderr.contains("No space left"))
            }
            // The next run of the slot starts empty.
            if let ex = Self.executor {
                let r = await ex.run(python("import os\nprint(len(os.listdir('/tmp')), len(os.listdir('/work')))"))
                #expect(r.stdout == "0 1\n")
            }
        }

        @Test func procSnooping() async throws {
            let secret = "ENVRUN_HOST_SECRET_\(UInt32.random(in: 0...UInt32.max))"
            setenv("ENVRUN_TEST_SECRET", secret, 1)
            defer { unsetenv("ENVRUN_TEST_SECRET") }
            try await attack("""
                import os
                pids = [p for p in os.listdir("/proc") if p.isdigit()]
                print("pids", pids)
                for p in pids + ["1"]:
                    for f in ("environ", "cmdline", "maps"):
                        try:
                            print(p, f, open(f"/proc/{p}/{f}", "rb").read()[:2000])
                        except Exception as e:
                            print(p, f, "denied", type(e).__name__)
                print(dict(os.environ))
                """, expect: [.ok]) { r in
                #expect(!r.stdout.contains(secret))
                #expect(!r.stdout.contains("envrunPackageTests"))
                // Only the job itself is visible: one pid on the first line.
                let first = r.stdout.split(separator: "\n").first ?? ""
                #expect(first.hasPrefix("pids [") && first.filter { $0 == "'" }.count == 2, "\(first)")
            }
        }
    }
}
