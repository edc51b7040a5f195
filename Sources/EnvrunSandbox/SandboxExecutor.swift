import CEnvrunSandbox
import EnvrunCore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// How to build a `SandboxExecutor`. Parse files and flags at the edge, pass this in.
public struct SandboxConfiguration: Sendable {
    /// `Sandbox/`; nil finds it (`$ENVRUN_SANDBOX_DIR`, then upwards from the cwd and the executable).
    public var policyDirectory: URL?
    /// Concurrent runs (one uid, tmpfs and cgroup pair each).
    public var slots: Int
    /// Python runs use the warm worker pool (other languages always run cold).
    public var warmPool: Bool
    /// The warm workers load the assert-test harness (`Sandbox/harness/`) once, and a job whose program is
    /// that harness forks the loaded supervisor (2.4× the judge's items/s, `envrun bench judge`). False runs it as any program.
    public var preloadHarness: Bool
    /// Where slot tmpfs mounts and the root mount point live (host side).
    public var stateDirectory: String
    /// Layers to use when the machine has them.
    public var useCgroups: Bool
    public var useUserNamespace: Bool
    /// Fail closed: the executor refuses to start without cgroup memory and pids limits (v1 or v2),
    /// since rlimits alone bound neither a fork bomb run by root in a user namespace nor memory
    /// held in tmpfs or shared pages. False runs without them (`--allow-no-cgroups`).
    public var requireCgroups: Bool

    public init(
        policyDirectory: URL? = nil, slots: Int = ProcessInfo.processInfo.activeProcessorCount,
        warmPool: Bool = true, preloadHarness: Bool = true, stateDirectory: String = "/run/envrun",
        useCgroups: Bool = true, useUserNamespace: Bool = true, requireCgroups: Bool = true
    ) {
        self.policyDirectory = policyDirectory
        self.slots = max(1, slots)
        self.warmPool = warmPool
        self.preloadHarness = preloadHarness
        self.stateDirectory = stateDirectory
        self.useCgroups = useCgroups
        self.useUserNamespace = useUserNamespace
        self.requireCgroups = requireCgroups
    }

    public static var `default`: SandboxConfiguration { SandboxConfiguration() }
}

/// The seccomp-confined executor: cold runs for full per-run isolation and every language, a warm
/// worker per slot for Python. Conforms to `CodeExecutor`; a failing program is a verdict.
public final class SandboxExecutor: MultiRunExecutor, @unchecked Sendable {
    public let policy: SandboxPolicy
    public let configuration: SandboxConfiguration
    let layout: SandboxLayout
    let programs: [String: SeccompProgram]
    private let pool: SlotPool
    private let lease: SlotLease
    private let slotCount: Int
    private let logger: Logger
    private let closed = ManagedAtomicFlag()
    /// Compile steps run so far (tests check that a multi-run request compiles once).
    let compiles = LockedCounter()
    /// Jobs run on the preloaded harness so far (tests check which path ran).
    public let harnessJobs = LockedCounter()
    /// The harness bundle the warm workers load (nil: not preloaded).
    private var harnessSource: String? { configuration.preloadHarness ? policy.harness?.source : nil }

    /// The program is the harness bundle the warm workers loaded (byte for byte).
    private func isHarness(_ source: String) -> Bool {
        guard var h = harnessSource, source.utf8.count == h.utf8.count else { return false }
        var s = source
        return s.withUTF8 { a in h.withUTF8 { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
    }

    public init(configuration: SandboxConfiguration = .default, logger: Logger = Logger(label: "envrun.sandbox"))
        throws
    {
        guard geteuid() == 0 else {
            throw EnvrunError(.unavailable, "the sandbox needs root (namespaces, mounts, per-slot uids, cgroups)")
        }
        envrun_ignore_sigpipe()
        self.configuration = configuration
        self.logger = logger
        let dir = try configuration.policyDirectory ?? SandboxPolicy.locate()
        policy = try SandboxPolicy.load(from: dir)
        var progs: [String: SeccompProgram] = [:]
        for (name, p) in policy.seccomp { progs[name] = try SeccompProgram(policy: p, name: name) }
        programs = progs
        let caps = SandboxCapabilities.detect()
        let useCgroups = configuration.useCgroups && caps.cgroupsUsable
        if configuration.requireCgroups && !useCgroups {
            throw Self.uncontained(configuration.useCgroups ? caps.cgroupProblem ?? "unknown" : "useCgroups is false")
        }
        var ns = caps.namespaceFlags
        if !configuration.useUserNamespace { ns &= ~Int32(ENVRUN_NS_USER) }
        let initFd = try InitProgram.open(policyDirectory: dir, stateDirectory: configuration.stateDirectory)
        do {
            lease = try SandboxLease.make(configuration.stateDirectory)
        } catch {
            close(initFd)
            throw error
        }
        layout = SandboxLayout(nsFlags: ns, rootDir: lease.directory + "/root",
                               mounts: policy.limits.mounts.readOnly, environment: policy.limits.environment,
                               initFd: initFd)
        var slots: [Slot] = []
        do {
            for i in 0..<configuration.slots {
                let slot = try Slot(index: i, lease: lease, settings: policy.limits.slot, useCgroups: useCgroups,
                                    network: ns & Int32(ENVRUN_NS_NET) != 0)
                slots.append(slot)
                for cg in [slot.cgroup, slot.warmCgroup] where configuration.requireCgroups {
                    guard let cg, cg.limitsMemoryAndPids else {
                        throw Self.uncontained("slot \(i): could not create its memory and pids cgroups"
                                               + " (memory: \(cg?.memoryDir ?? "none"), pids: \(cg?.pidsDir ?? "none"))")
                    }
                }
                if ns & Int32(ENVRUN_NS_MOUNT) != 0 { slot.rootns = try makeSlotRoot(slot: slot, layout: layout) }
            }
        } catch {
            slots.forEach { $0.close() }
            lease.release()
            close(initFd)
            throw error
        }
        slotCount = slots.count
        pool = SlotPool(slots: slots)
        logger.debug("sandbox ready", metadata: ["slots": "\(slotCount)", "lease": "\(lease.index)"])
    }

    /// The fail-closed error: names what is missing and the override.
    static func uncontained(_ why: String) -> EnvrunError {
        EnvrunError(.uncontained, """
            refusing to start without cgroup memory and pids limits (\(why)). Without them a job's memory \
            is bounded by RLIMIT_AS only (off for some languages; tmpfs, memfd and shared pages escape it) and \
            its processes by the slot uid's RLIMIT_NPROC only. `envrun doctor` shows the cgroup layers; to run \
            anyway pass --allow-no-cgroups (library: SandboxConfiguration.requireCgroups = false).
            """)
    }

    /// Runs one program (warm for Python when the pool is on). Never throws: a failing program is a
    /// verdict; a request envrun cannot run (unknown language, bad file name) is a `sandbox_error`
    /// whose detail names the field.
    public func run(_ request: ExecRequest) async -> ExecResult {
        await run(request, warm: nil)
    }

    /// `warm`: nil = the configuration's choice; false forces a cold run.
    public func run(_ request: ExecRequest, warm: Bool?) async -> ExecResult {
        guard let lang = policy.language(request.language) else {
            return ExecResult.failed("unknown language '\(request.language)' (field: language)", step: "language")
        }
        if closed.isSet { return ExecResult(verdict: .sandboxError, detail: "the executor is shut down") }
        let useWarm = (warm ?? configuration.warmPool) && lang.warmPool && lang.compile == nil
        let start = ContinuousClock.now
        return await onSlot { slot in
            self.stamped(self.runBlocking(request, lang: lang, slot: slot, warm: useWarm), slot: slot, since: start)
        }
    }

    /// Adds the slot and the start-up time to a result, and logs a `sandbox_error` — envrun's own
    /// failure, which a trainer masks — at warning with its step, errno and slot.
    /// `since`: when the executor took a single run (nil for the cases of a compiled program, whose
    /// start-up includes the compile and the earlier cases).
    private func stamped(_ result: ExecResult, slot: Slot, since start: ContinuousClock.Instant?) -> ExecResult {
        var r = result
        if let start {
            let waited = ContinuousClock.now - start - .milliseconds(r.wallMs)
            r.startMs = max(0, Double(waited.components.seconds) * 1000 + Double(waited.components.attoseconds) / 1e15)
        }
        if r.verdict == .sandboxError {
            var failure = r.failure ?? SandboxFailure(text: r.detail ?? "unknown")
            failure.slot = slot.index
            r.failure = failure
            logger.warning(
                "sandbox_error: \((r.detail ?? failure.step).prefix(300))",
                metadata: ["step": "\(failure.step)", "errno": "\(failure.errno.map(String.init) ?? "-")",
                           "slot": "\(slot.index)"])
        }
        return r
    }

    /// Runs `body` on a free slot's thread; the slot is cleaned up after the caller has the result
    /// (the slot's next run queues behind the clean-up).
    private func onSlot<T: Sendable>(_ body: @escaping @Sendable (Slot) -> T) async -> T {
        let slot = await pool.acquire()
        let result: T = await withCheckedContinuation { cont in
            slot.thread.async {
                cont.resume(returning: body(slot))
                slot.reapPending()
                self.wipeOrRebuild(slot)
                if let action = slot.reclaimLeftovers(layout: self.layout) {
                    self.logger.warning("slot \(slot.index): a job left memory charged that no process holds: \(action)")
                }
            }
        }
        await pool.release(slot)
        return result
    }

    /// Compiled languages: compiles once in one slot and runs every stdin there (each case in a
    /// fresh cold sandbox, the work dir reset to the compiled files). Interpreted languages: one
    /// ordinary run per stdin (warm for Python).
    public func run(_ request: ExecRequest, stdins: [String]) async -> [ExecResult] {
        guard let lang = policy.language(request.language), lang.compile != nil else {
            var results: [ExecResult] = []
            for stdin in stdins {
                var r = request
                r.stdin = stdin
                results.append(await run(r))
            }
            return results
        }
        guard !stdins.isEmpty else { return [] }
        if closed.isSet { return stdins.map { _ in ExecResult(verdict: .sandboxError, detail: "the executor is shut down") } }
        return await onSlot { slot in
            self.runCasesBlocking(request, stdins: stdins, lang: lang, slot: slot).map {
                self.stamped($0, slot: slot, since: nil)
            }
        }
    }

    /// The lease of this executor (its uids are uid_base + 64 * lease + slot).
    var leaseIndex: Int { lease.index }
    var leaseDirectory: String { lease.directory }

    /// Host pids of the live warm workers (for leak checks).
    func warmWorkerPids() async -> [pid_t] {
        let slots = await pool.drain(count: slotCount)
        let pids = slots.compactMap { $0.warm?.alive == true ? $0.warm?.pid : nil }
        for s in slots { await pool.release(s) }
        return pids
    }

    /// Stops the warm workers, unmounts the slot tmpfs, removes the cgroups, releases the lease.
    public func shutdown() async {
        guard closed.set() else { return }
        let slots = await pool.drain(count: slotCount)
        for s in slots { s.close() }
        lease.release()
        close(layout.initFd)
    }

    // MARK: - blocking part, on the slot's thread

    private func runBlocking(_ req: ExecRequest, lang: LanguageDefinition, slot: Slot, warm: Bool) -> ExecResult {
        if let failure = writeFiles(req, lang: lang, slot: slot) { return failure }
        let compiled = compile(lang: lang, slot: slot)
        if let failure = compiled.failure { return failure }
        var r = runProgram(req, stdin: req.stdin, lang: lang, slot: slot, warm: warm, compileMs: compiled.ms)
        if let names = req.fetchFiles, !names.isEmpty, r.verdict != .sandboxError { fetch(names, from: slot, into: &r) }
        return r
    }

    /// Reads the requested files back out of the work dir, which the job controlled: plain names only,
    /// opened without following links and without blocking (a FIFO), regular files only, bounded in size.
    private func fetch(_ names: [String], from slot: Slot, into r: inout ExecResult) {
        var files: [String: String] = [:]
        var skipped: [String] = []
        var total = 0
        for name in Set(names).sorted() {
            guard ExecRequest.isPlainFileName(name) else { skipped.append(name); continue }
            let fd = open(slot.workDir + "/" + name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
            guard fd >= 0 else { continue }  // not there: left out, as SandboxFusion does
            defer { close(fd) }
            var st = stat()
            // Regular, one link (255 hard links to one file would be read 255 times), not sparse (a sparse file
            // costs the job no tmpfs), and within the per-file and per-run totals.
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_nlink == 1,
                  Int(st.st_size) <= ExecResult.maxFetchedBytes, Int(st.st_blocks) * 512 >= Int(st.st_size),
                  total + Int(st.st_size) <= ExecResult.maxFetchedTotalBytes
            else { skipped.append(name); continue }
            total += Int(st.st_size)
            var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
            var got = 0
            while got < bytes.count {
                let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
                if n <= 0 { break }
                got += n
            }
            files[name] = Data(bytes[0..<got]).base64EncodedString()
        }
        r.fetchedFiles = files
        if !skipped.isEmpty {
            let note = "not fetched (not a plain, single-link, non-sparse regular file, or over \(ExecResult.maxFetchedBytes >> 20) MB each or \(ExecResult.maxFetchedTotalBytes >> 20) MB in all): "
                + skipped.map { String($0.prefix(64)) }.joined(separator: ", ")
            r.detail = r.detail.map { $0 + "; " + note } ?? note
        }
    }

    /// Empties the slot after a run; when that fails, the slot gets a fresh tmpfs, root and worker.
    private func wipeOrRebuild(_ slot: Slot) {
        if slot.wipe() { return }
        let why = String(cString: strerror(errno))
        logger.warning("could not wipe slot \(slot.index) (\(why)): rebuilding its tmpfs and root")
        do {
            try slot.rebuild(layout: layout)
        } catch {
            logger.error("could not rebuild slot \(slot.index): \(error)")
        }
    }

    /// Compile once, run many: the compiled files are frozen (root-owned, read-only) and linked back
    /// into a wiped work dir before each case, so no case sees what an earlier one wrote.
    func runCasesBlocking(_ req: ExecRequest, stdins: [String], lang: LanguageDefinition, slot: Slot) -> [ExecResult] {
        if let failure = writeFiles(req, lang: lang, slot: slot) { return stdins.map { _ in failure } }
        let compiled = compile(lang: lang, slot: slot)
        if let failure = compiled.failure { return stdins.map { _ in failure } }
        guard envrun_freeze_dir(slot.workDir, slot.keepDir) == 0 else {
            let r = ExecResult.failed("keeping the compiled files: \(String(cString: strerror(errno)))", step: "keep-compiled", errno: errno)
            return stdins.map { _ in r }
        }
        defer { _ = envrun_wipe_dir(slot.keepDir) }
        var results: [ExecResult] = []
        for (i, stdin) in stdins.enumerated() {
            if i > 0 {
                slot.reapPending()
                guard slot.wipe(), envrun_restore_dir(slot.keepDir, slot.workDir) == 0 else {
                    results.append(ExecResult.failed("restoring the work dir: \(String(cString: strerror(errno)))",
                                                     step: "restore-work-dir", errno: errno))
                    continue
                }
            }
            results.append(runProgram(req, stdin: stdin, lang: lang, slot: slot, warm: false, compileMs: compiled.ms))
        }
        return results
    }

    /// The program and the request's extra files (plain names only), written into the work dir.
    private func writeFiles(_ req: ExecRequest, lang: LanguageDefinition, slot: Slot) -> ExecResult? {
        var files = [(lang.sourceFile, req.source)]
        for (name, content) in req.files.sorted(by: { $0.key < $1.key }) {
            guard ExecRequest.isPlainFileName(name) else {
                return ExecResult.failed("bad file name '\(name)' (field: files)", step: "file-name")
            }
            files.append((name, content))
        }
        for (name, content) in files {
            let bytes = Array(content.utf8)
            let rc = bytes.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) {
                    envrun_write_file(slot.workDir + "/" + name, $0.baseAddress, $0.count, slot.uid, slot.gid, 0o644)
                }
            }
            if rc != 0 {
                return ExecResult.failed("writing \(name): \(String(cString: strerror(errno)))", step: "write-files", errno: errno)
            }
        }
        return nil
    }

    private func substitute(_ argv: [String], _ l: PhaseLimits) -> [String] {
        argv.map { $0.utf8.contains(UInt8(ascii: "$")) ? $0.replacingOccurrences(of: "${memory_mb}", with: "\(l.memoryMB)") : $0 }
    }

    /// The compile step of a compiled language (cold, with the `compile` limits): its wall time, or
    /// the final result when it failed (`compile_error`, or `sandbox_error`).
    private func compile(lang: LanguageDefinition, slot: Slot) -> (ms: Double, failure: ExecResult?) {
        guard let compile = lang.compile else { return (0, nil) }
        let settings = policy.limits.slot
        let cl = policy.limits.compile
        let spec = PhaseSpec(argv: substitute(compile, cl), limits: cl, addressSpaceLimit: lang.addressSpaceLimit,
                             program: programs[lang.seccomp]!, stdin: [],
                             cgroupExtraMB: settings.tmpfsMB + settings.cgroupHeadroomMB)
        compiles.increment()
        let o = runCold(spec, slot: slot, layout: layout)
        var r = VerdictRules.result(o, limits: cl, language: lang)
        if r.verdict == .sandboxError { return (0, r) }
        if r.verdict != .ok {
            r.detail = "compiler: " + (r.stderr.isEmpty ? r.stdout : r.stderr).prefix(4000)
            r.verdict = .compileError
            return (0, r)
        }
        return (r.wallMs, nil)
    }

    /// One run of the (written, compiled) program with `stdin`, warm or cold.
    private func runProgram(_ req: ExecRequest, stdin: String, lang: LanguageDefinition, slot: Slot, warm: Bool,
                            compileMs: Double) -> ExecResult
    {
        let settings = policy.limits.slot
        let program = programs[lang.seccomp]!
        let runLimits = policy.limits.run.applying(req.limits, max: policy.limits.max)
        let spec = PhaseSpec(argv: substitute(lang.run, runLimits), limits: runLimits,
                             addressSpaceLimit: lang.addressSpaceLimit, program: program, stdin: Array(stdin.utf8),
                             cgroupExtraMB: settings.tmpfsMB + settings.cgroupHeadroomMB)
        var outcome: RawOutcome
        if warm {
            outcome = RawOutcome()
            let harness = isHarness(req.source)
            // A second try only when the job never reached the worker (it died while idle, between
            // the check and the send).
            for _ in 0..<2 {
                if slot.warm?.running != true || slot.warm!.jobs >= settings.warmRecycleAfter {
                    if let dead = slot.warm, dead.alive, !dead.running {
                        logger.warning("warm worker of slot \(slot.index) ended while idle: starting a new one")
                    }
                    slot.warm?.stop()
                    let (w, err) = WarmWorker.start(slot: slot, layout: layout, source: policy.zygoteSource,
                                                    harness: harnessSource, program: program)
                    slot.warm = w
                    if w == nil { return ExecResult(verdict: .sandboxError, detail: err) }
                }
                if harness { harnessJobs.increment() }
                outcome = slot.warm!.run(spec, file: lang.sourceFile, harness: harness, slot: slot)
                if !outcome.notDelivered { break }
            }
            if outcome.workerDied {
                // Not the job's doing (the worker is pid 1 of its namespace: the job cannot signal
                // it, and the OOM case is handled above): run the job again, cold, from its files.
                logger.warning("warm worker of slot \(slot.index) died during a job: running the job cold")
                slot.reapPending()
                wipeOrRebuild(slot)
                if let failure = writeFiles(req, lang: lang, slot: slot) { return failure }
                outcome = runCold(spec, slot: slot, layout: layout)
            }
        } else {
            outcome = runCold(spec, slot: slot, layout: layout)
        }
        var r = VerdictRules.result(outcome, limits: runLimits, language: lang)
        if compileMs > 0 {
            r.compileMs = compileMs
            if r.detail == nil { r.detail = "compiled in \(Int(compileMs)) ms" }
        }
        if r.verdict == .sandboxError {
            logger.error("sandbox error", metadata: ["detail": "\(r.detail ?? "")", "slot": "\(slot.index)"])
        }
        return r
    }
}

public final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    public var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

/// A set-once flag (shutdown).
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    /// Sets the flag; true when this call set it.
    func set() -> Bool { lock.withLock { defer { value = true }; return !value } }
}

extension EnvrunError.Code {
    /// The sandbox would run without a containment layer it requires (cgroup memory and pids).
    public static let uncontained = EnvrunError.Code("uncontained")
}

enum SandboxLease {
    static func make(_ dir: String) throws -> SlotLease { try SlotLease(stateDirectory: dir) }
}

extension ExecResult {
    /// A `sandbox_error` with its step named here (not taken from a text that may hold the client's words).
    static func failed(_ detail: String, step: String, errno: Int32? = nil) -> ExecResult {
        var r = ExecResult(verdict: .sandboxError, detail: detail)
        r.failure = SandboxFailure(step: step, errno: errno)
        return r
    }
}
