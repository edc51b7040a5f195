import EnvrunCore

/// A hostile program and what "contained" means for it: the verdict it must get, and what its stdout
/// must (not) show. Placeholders `@PORT@`, `@SECRET@` and `@SECRET_PATH@` are filled in by whoever sends
/// it (`LoadWorkload`: the server's port, a secret file planted on the host).
public struct HostileProgram: Sendable {
    public var name: String
    public var language: String
    public var code: String
    /// The verdicts of a contained run.
    public var expected: Set<Verdict>
    /// Text in stdout that means the attack got through ("survived", a secret, "wrote ").
    public var forbidden: [String]
    /// Text stdout must hold when the verdict is `ok` (the attack saw what a contained job sees).
    public var required: [String]
    /// `run_timeout` in seconds (nil: the language's default wall limit).
    public var runTimeout: Double?
    public var memoryLimitMB: Int?

    public init(_ name: String, _ language: String, expected: Set<Verdict>, forbidden: [String] = [],
                required: [String] = [], runTimeout: Double? = nil, memoryLimitMB: Int? = nil, code: String)
    {
        self.name = name
        self.language = language
        self.code = code
        self.expected = expected
        self.forbidden = forbidden
        self.required = required
        self.runTimeout = runTimeout
        self.memoryLimitMB = memoryLimitMB
    }

    /// Why the run was not contained, or nil when it was.
    public func breach(verdict: Verdict, stdout: String) -> String? {
        if !expected.contains(verdict) {
            return "verdict \(verdict.rawValue), expected \(expected.map(\.rawValue).sorted().joined(separator: " or "))"
        }
        if let hit = forbidden.first(where: { !$0.isEmpty && stdout.contains($0) }) { return "stdout shows '\(hit)'" }
        if verdict == .ok, let miss = required.first(where: { !stdout.contains($0) }) {
            return "stdout lacks '\(miss)': \(stdout.prefix(200))"
        }
        return nil
    }
}

/// The hostile programs `envrun bench load` sends: the containment attack classes of issue 13 (memory no
/// process's RSS shows, calls on other processes of the uid, deep trees, escapes through syscalls, the
/// network, the host's files and /proc) and plain resource bombs. The sandbox and `/run_code` suites take
/// the memory ones and `otherProcessesCalls` through `ContainmentAttacks` (EnvrunTesting).
public enum AttackCorpus {
    // MARK: memory that no process's RSS shows

    /// 64 SysV segments of 16 MB, each attached, touched and detached.
    public static let sysvShmPython = HostileProgram("sysv_shm_python", "python", expected: [.memoryLimit],
                                                     forbidden: ["survived"], runTimeout: 8, memoryLimitMB: 64, code: """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        for i in range(64):
            sid = libc.shmget(0, 16 << 20, 0o1600)
            p = libc.shmat(sid, None, 0)
            ctypes.memset(p, 1, 16 << 20)
            libc.shmdt(ctypes.c_void_p(p))
        print("survived")
        """)

    /// The same in C (returns 3 when a segment cannot be attached).
    public static let sysvShmC = HostileProgram("sysv_shm_c", "c", expected: [.memoryLimit], forbidden: ["survived"],
                                                runTimeout: 8, memoryLimitMB: 64, code: """
        #include <stdio.h>
        #include <string.h>
        #include <sys/shm.h>
        int main(void) {
            for (int i = 0; i < 64; i++) {
                int id = shmget(IPC_PRIVATE, 16 << 20, 0600 | IPC_CREAT);
                char *p = shmat(id, 0, 0);
                if (p == (void *)-1) return 3;
                memset(p, 1, 16 << 20);
                shmdt(p);
            }
            puts("survived");
            return 0;
        }
        """)

    /// memfds of 15 MB each (under a 16 MB file-size rlimit), kept open.
    public static let memfdPython = HostileProgram("memfd_python", "python", expected: [.memoryLimit],
                                                   forbidden: ["survived"], runTimeout: 8, memoryLimitMB: 64, code: """
        import os
        fds, block = [], b"m" * (1 << 20)
        for i in range(60):
            fd = os.memfd_create("x%d" % i)
            for _ in range(15):
                os.write(fd, block)
            fds.append(fd)
        print("survived")
        """)

    public static let tmpfsThenMemfd = HostileProgram(
        "tmpfs_then_memfd", "python", expected: [.memoryLimit], forbidden: ["survived"], runTimeout: 8,
        memoryLimitMB: 64, code: """
        import os
        block = b"t" * (1 << 20)
        for d in ("/tmp", "/work"):
            for i in range(4):
                try:
                    with open("%s/f%d" % (d, i), "wb") as f:
                        for _ in range(15):
                            f.write(block)
                except OSError:
                    pass
        fds = []
        for i in range(40):
            fd = os.memfd_create("y%d" % i)
            for _ in range(15):
                os.write(fd, block)
            fds.append(fd)
        print("survived")
        """)

    public static let forkedChildrenRSS = HostileProgram(
        "forked_children_rss", "python", expected: [.memoryLimit], forbidden: ["survived"], runTimeout: 8,
        memoryLimitMB: 64, code: """
        import os, time
        kids = []
        for i in range(12):
            pid = os.fork()
            if pid == 0:
                x = bytearray(24 << 20)
                for j in range(0, len(x), 4096):
                    x[j] = 1
                time.sleep(3)
                os._exit(0)
            kids.append(pid)
        codes = [os.waitpid(k, 0)[1] for k in kids]
        if any(codes):
            os._exit(3)
        print("survived")
        """)

    /// Unix sockets sent over themselves and closed: buffers in flight, charged to the slot, held by no process.
    public static let socketBuffersInFlight = HostileProgram("socket_buffers_in_flight", "python",
                                                             expected: [.ok, .memoryLimit], code: """
        import socket, array
        n = 0
        for i in range(25):
            a, b = socket.socketpair()
            a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
            fds = array.array('i', [a.fileno(), b.fileno()])
            a.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            b.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            a.setblocking(False)
            try:
                while True:
                    n += a.send(b'x' * 65536)
            except BlockingIOError:
                pass
            a.close()
            b.close()
        print(n >> 20 > 100)
        """)

    // MARK: other processes of the same uid, the slot's next job

    /// Limits, priority and affinity of pid 1 and the parent, then of the group and the uid: every call must
    /// fail, else the program exits 1 naming what it reached (the `/run_code` suite sends this as it is).
    public static let otherProcessesCalls = """
        import os, resource
        bad = []
        for t in (1, os.getppid()):
            for f in (lambda: resource.prlimit(t, resource.RLIMIT_NOFILE, (3, 3)),
                      lambda: os.setpriority(os.PRIO_PROCESS, t, 19), lambda: os.sched_setaffinity(t, {0})):
                try:
                    f()
                    bad.append(t)
                except OSError:
                    pass
        for f in (lambda: os.setpriority(os.PRIO_PGRP, 0, 19), lambda: os.setpriority(os.PRIO_USER, 0, 19)):
            try:
                f()
                bad.append("group")
            except OSError:
                pass
        open("/proc/self/autogroup", "w").write("19")
        if bad:
            raise SystemExit("reached %r" % bad)
        """

    static let otherProcesses = HostileProgram("other_processes_of_the_uid", "python", expected: [.ok],
                                               forbidden: ["reached"], required: ["refused all"],
                                               code: otherProcessesCalls + "\nprint(\"refused all\")")

    static let deepTree = HostileProgram("deep_tree_1200", "python", expected: [.ok], required: ["planted"], code: """
        import os
        for top in ("/work", "/tmp"):
            os.chdir(top)
            for i in range(1200):
                os.mkdir("d")
                os.chdir("d")
            open("left-for-the-next-job", "w").write("x")
        print("planted")
        """)

    /// What the slot's previous job may have left: the work dir and /tmp must be empty.
    static let leftovers = HostileProgram("leftovers_of_the_previous_job", "python", expected: [.ok],
                                          required: ["clean"], code: """
        import os
        left = [p for p in os.listdir("/work") if p != "main.py"] + os.listdir("/tmp")
        print("clean" if not left else "found %r" % left)
        """)

    // MARK: escapes through system calls, the network, the host's files

    static let ptrace = HostileProgram("ptrace", "python", expected: [.securityViolation], code: """
        import ctypes
        libc = ctypes.CDLL(None)
        print(libc.ptrace(0, 0, 0, 0))
        """)

    static let unshareNetwork = HostileProgram("unshare_network", "python", expected: [.securityViolation], code: """
        import ctypes
        libc = ctypes.CDLL(None)
        print(libc.unshare(0x40000000))
        """)

    static let mountTmpfs = HostileProgram("mount_tmpfs", "python", expected: [.securityViolation], code: """
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
        """)

    /// A TCP connection to the envrun server itself.
    static let tcpToServer = HostileProgram("tcp_to_the_server", "python", expected: [.securityViolation],
                                            forbidden: ["connected"], code: """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("127.0.0.1", @PORT@))
        print("connected")
        """)

    static let readHostSecret = HostileProgram("read_a_host_file", "python", expected: [.ok],
                                               forbidden: ["@SECRET@"], required: ["denied"], code: """
        for p in ["@SECRET_PATH@", "/proc/1/root@SECRET_PATH@", "/../..@SECRET_PATH@", "/proc/self/root@SECRET_PATH@"]:
            try:
                print(open(p).read())
            except Exception as e:
                print("denied", type(e).__name__)
        """)

    static let writeOutsideWork = HostileProgram("write_outside_the_work_dir", "python", expected: [.ok],
                                                 forbidden: ["wrote "], required: ["denied"], code: """
        import os
        targets = ["/usr/evil", "/etc/evil", "/evil", "/proc/1/root/usr/evil"]
        os.symlink("/", "/work/rootlink")
        targets += ["/work/rootlink/usr/evil"]
        for t in targets:
            try:
                with open(t, "w") as f:
                    f.write("pwned")
                print("wrote", t)
            except Exception as e:
                print("denied", t, type(e).__name__)
        """)

    /// Only the job's own pid is in /proc; nothing of the host's environment.
    static let procSnooping = HostileProgram("proc_snooping", "python", expected: [.ok],
                                             forbidden: ["@SECRET@", "ENVRUN"], required: ["pids 1"], code: """
        import os
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        print("pids", len(pids))
        for p in pids + ["1"]:
            for f in ("environ", "cmdline"):
                try:
                    print(p, f, open("/proc/%s/%s" % (p, f), "rb").read()[:500])
                except Exception as e:
                    print(p, f, "denied", type(e).__name__)
        print(dict(os.environ))
        """)

    /// The classes of the containment work, as `envrun bench load` fires them in bursts.
    public static let containment: [HostileProgram] = [
        sysvShmPython, sysvShmC, memfdPython, tmpfsThenMemfd, forkedChildrenRSS, socketBuffersInFlight,
        otherProcesses, deepTree, leftovers, ptrace, unshareNetwork, mountTmpfs, tcpToServer, readHostSecret,
        writeOutsideWork, procSnooping,
    ]

    // MARK: resource bombs

    /// Plain hostile code: the verdict is the program's fault, never the sandbox's.
    public static let resource: [HostileProgram] = [
        HostileProgram("fork_bomb_python", "python", expected: [.timeLimit], runTimeout: 2, code: """
            import os
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
            """),
        // The script may end first (exit 0) while its forks still fail: the run's leftovers are killed.
        HostileProgram("fork_bomb_bash", "bash", expected: [.timeLimit, .runtimeError, .ok], runTimeout: 2,
                       code: ":(){ :|:& };:\nwait\n"),
        HostileProgram("thread_bomb", "python", expected: [.runtimeError], runTimeout: 3, code: """
            import threading, time
            while True:
                threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
            """),
        HostileProgram("memory_bomb_python", "python", expected: [.memoryLimit], forbidden: ["survived"],
                       runTimeout: 4, memoryLimitMB: 128, code: """
            x = []
            while True:
                x.append(bytearray(10_000_000))
            """),
        HostileProgram("memory_bomb_c", "c", expected: [.memoryLimit, .runtimeError], forbidden: ["survived"],
                       runTimeout: 4, memoryLimitMB: 128, code: """
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            int main(void) {
                for (int i = 0; i < 4096; i++) {
                    char *p = malloc(16 << 20);
                    if (!p) return 3;
                    memset(p, 1, 16 << 20);
                }
                puts("survived");
                return 0;
            }
            """),
        HostileProgram("output_bomb_python", "python", expected: [.outputLimit], runTimeout: 4, code: """
            import sys
            while True:
                sys.stdout.write("x" * 65536)
            """),
        HostileProgram("output_bomb_bash", "bash", expected: [.outputLimit], runTimeout: 4, code: "yes\n"),
        HostileProgram("infinite_loop_python", "python", expected: [.timeLimit], runTimeout: 2,
                       code: "while True:\n    pass\n"),
        HostileProgram("infinite_loop_c", "c", expected: [.timeLimit], runTimeout: 2,
                       code: "int main(void) { volatile unsigned long n = 0; for (;;) n++; }\n"),
        HostileProgram("sleep_forever", "python", expected: [.timeLimit], runTimeout: 1,
                       code: "import time\ntime.sleep(10**6)\n"),
        // Spinners the job never waits for; the main process sleeps on: stopped by the wall clock (the
        // CPU limit, which /run_code cannot set, may come first on an idle machine).
        HostileProgram("background_spinners", "python", expected: [.timeLimit], runTimeout: 3, code: """
            import os, time
            for _ in range(2):
                if os.fork() == 0:
                    while True:
                        pass
            time.sleep(100)
            print("main done")
            """),
        HostileProgram("disk_fill", "python", expected: [.runtimeError], runTimeout: 4, code: """
            with open("/work/fill", "wb") as f:
                while True:
                    f.write(b"x" * (1 << 20))
                    f.flush()
            """),
        HostileProgram("many_files", "python", expected: [.runtimeError], runTimeout: 4, code: """
            for i in range(200000):
                open("/tmp/f%d" % i, "w").close()
            """),
        HostileProgram("memory_bomb_javascript", "javascript", expected: [.memoryLimit], forbidden: ["survived"],
                       runTimeout: 8, memoryLimitMB: 128, code: """
            const a = [];
            for (;;) a.push(new Array(1 << 20).fill(1));
            """),
    ]
}
