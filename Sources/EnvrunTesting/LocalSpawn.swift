import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// posix_spawn of one process in its own process group, with stdin fed and stdout/stderr drained by one poll
/// loop, a wall deadline, and a kill of the whole group when the main process ends. UNSANDBOXED, tests only.
enum LocalSpawn {
    static let ignoreSigpipe: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    // GNU extensions Swift's Glibc module does not show (they sit behind _GNU_SOURCE): looked up once.
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    nonisolated(unsafe) static let pipe2 = unsafeBitCast(dlsym(nil, "pipe2"), to: Pipe2.self)
    nonisolated(unsafe) static let addChdir = unsafeBitCast(
        dlsym(nil, "posix_spawn_file_actions_addchdir_np"), to: AddChdir.self)

    static func run(argv: [String], cwd: String, stdin: Data, wallMs: Int, cap: Int) -> ExecResult {
        _ = ignoreSigpipe
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe2(&inPipe, O_CLOEXEC) == 0 else { return failure("pipe2") }
        guard pipe2(&outPipe, O_CLOEXEC) == 0 else {
            close(inPipe[0]); close(inPipe[1])
            return failure("pipe2")
        }
        guard pipe2(&errPipe, O_CLOEXEC) == 0 else {
            for fd in inPipe + outPipe { close(fd) }
            return failure("pipe2")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        _ = addChdir(&actions, cwd)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(
            &attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let path = argv[0].hasPrefix("./") ? cwd + "/" + argv[0].dropFirst(2) : argv[0]
        let env = ["PATH=/usr/bin:/bin", "HOME=\(cwd)", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"]
        var cArgv = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { for p in cArgv + cEnv { free(p) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let rc = posix_spawn(&pid, path, &actions, &attr, &cArgv, &cEnv)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        if rc != 0 {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            return failure("posix_spawn \(path)", rc)
        }
        _ = fcntl(inPipe[1], F_SETFL, fcntl(inPipe[1], F_GETFL) | O_NONBLOCK)
        var io = Pump(stdinFd: inPipe[1], stdin: [UInt8](stdin), outFd: outPipe[0], errFd: errPipe[0], cap: cap)
        let deadline = start + UInt64(wallMs) * 1_000_000
        var status: Int32 = 0
        var usage = rusage()
        var exited = false, timedOut = false, overCap = false
        var graceEnd: UInt64?
        while true {
            if !exited, wait4(pid, &status, WNOHANG, &usage) == pid {
                exited = true
                kill(-pid, SIGKILL)  // stragglers of the group (a harness's child, a daemon)
                graceEnd = DispatchTime.now().uptimeNanoseconds + 200_000_000
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if !exited, now >= deadline || io.overCap {
                timedOut = !io.overCap
                overCap = io.overCap
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                exited = true
                graceEnd = now + 200_000_000
            }
            if exited && (io.done || (graceEnd.map { now >= $0 } ?? false)) { break }
            if io.done {
                usleep(1_000)  // pipes closed; the process is on its way out (or the deadline will end it)
            } else {
                io.poll(timeoutMs: 20)
            }
        }
        io.closeAll()
        let wallMs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let cpuMs = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000
        let sig = status & 0x7f
        var result = ExecResult(
            verdict: .ok, exitCode: sig == 0 ? (status >> 8) & 0xff : nil, signal: sig == 0 ? nil : sig,
            stdout: String(decoding: io.out, as: UTF8.self), stderr: String(decoding: io.err, as: UTF8.self),
            cpuMs: cpuMs, wallMs: wallMs, peakMemoryKb: Int(usage.ru_maxrss), truncated: io.overCap)
        if timedOut {
            result.verdict = .timeLimit
            result.timeLimitKind = .wall
        } else if overCap {
            result.verdict = .outputLimit
        } else if sig == SIGXCPU {
            result.verdict = .timeLimit
            result.timeLimitKind = .cpu
        } else if sig != 0 || result.exitCode != 0 {
            result.verdict = .runtimeError
        }
        return result
    }

    static func failure(_ step: String, _ err: Int32 = errno) -> ExecResult {
        ExecResult(verdict: .sandboxError, detail: "\(step): \(String(cString: strerror(err)))")
    }
}

/// Feeds stdin and drains stdout/stderr without blocking on any of them.
struct Pump {
    var stdinFd: Int32
    var stdin: [UInt8]
    var written = 0
    var outFd: Int32
    var errFd: Int32
    let cap: Int
    var out: [UInt8] = []
    var err: [UInt8] = []
    var overCap = false

    init(stdinFd: Int32, stdin: [UInt8], outFd: Int32, errFd: Int32, cap: Int) {
        self.stdinFd = stdinFd
        self.stdin = stdin
        self.outFd = outFd
        self.errFd = errFd
        self.cap = cap
        if stdin.isEmpty { closeStdin() }
    }

    var done: Bool { outFd < 0 && errFd < 0 }

    mutating func closeStdin() {
        if stdinFd >= 0 { close(stdinFd) }
        stdinFd = -1
    }

    mutating func poll(timeoutMs: Int32) {
        var fds = [pollfd]()
        if stdinFd >= 0 { fds.append(pollfd(fd: stdinFd, events: Int16(POLLOUT), revents: 0)) }
        if outFd >= 0 { fds.append(pollfd(fd: outFd, events: Int16(POLLIN), revents: 0)) }
        if errFd >= 0 { fds.append(pollfd(fd: errFd, events: Int16(POLLIN), revents: 0)) }
        guard !fds.isEmpty, Glibc.poll(&fds, nfds_t(fds.count), timeoutMs) > 0 else { return }
        for p in fds where p.revents != 0 {
            if p.fd == stdinFd {
                let n = stdin[written...].withUnsafeBytes { write(stdinFd, $0.baseAddress, $0.count) }
                if n > 0 { written += n }
                if n < 0 && errno != EAGAIN || written == stdin.count { closeStdin() }
            } else if p.fd == outFd {
                if Self.drain(&outFd, into: &out, cap: cap) { overCap = true }
            } else if p.fd == errFd {
                if Self.drain(&errFd, into: &err, cap: cap) { overCap = true }
            }
        }
    }

    /// Reads what is there; true when the cap was exceeded.
    static func drain(_ fd: inout Int32, into buffer: inout [UInt8], cap: Int) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 {
            if n == 0 || errno != EINTR {
                close(fd)
                fd = -1
            }
            return false
        }
        let room = max(0, cap - buffer.count)
        buffer += chunk.prefix(min(n, room))
        return n > room
    }

    mutating func closeAll() {
        closeStdin()
        if outFd >= 0 { close(outFd); outFd = -1 }
        if errFd >= 0 { close(errFd); errFd = -1 }
    }
}
