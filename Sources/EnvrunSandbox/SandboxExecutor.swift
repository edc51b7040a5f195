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
    /// Where slot tmpfs mounts and the root mount point live (host side).
    public var stateDirectory: String
    /// Layers to use when the machine has them.
    public var useCgroups: Bool
    public var useUserNamespace: Bool

    public init(
        policyDirectory: URL? = nil, slots: Int = ProcessInfo.processInfo.activeProcessorCount,
        warmPool: Bool = true, stateDirectory: String = "/run/envrun", useCgroups: Bool = true,
        useUserNamespace: Bool = true
    ) {
        self.policyDirectory = policyDirectory
        self.slots = max(1, slots)
        self.warmPool = warmPool
        self.stateDirectory = stateDirectory
        self.useCgroups = useCgroups
        self.useUserNamespace = useUserNamespace
    }

    public static var `default`: SandboxConfiguration { SandboxConfiguration() }
}

/// The seccomp-confined executor: cold runs for full per-run isolation and every language, a warm
/// worker per slot for Python. Conforms to `CodeExecutor`; a failing program is a verdict.
public final class SandboxExecutor: CodeExecutor, @unchecked Sendable {
    public let policy: SandboxPolicy
    public let configuration: SandboxConfiguration
    let layout: SandboxLayout
    let programs: [String: SeccompProgram]
    private let pool: SlotPool
    private let lease: SlotLease
    private let slotCount: Int
    private let logger: Logger
    private let closed = ManagedAtomicFlag()

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
        var ns = caps.namespaceFlags
        if !configuration.useUserNamespace { ns &= ~Int32(ENVRUN_NS_USER) }
        lease = try SandboxLease.make(configuration.stateDirectory)
        layout = SandboxLayout(nsFlags: ns, rootDir: lease.directory + "/root",
                               mounts: policy.limits.mounts.readOnly, environment: policy.limits.environment)
        var slots: [Slot] = []
        do {
            for i in 0..<configuration.slots {
                slots.append(try Slot(index: i, lease: lease, settings: policy.limits.slot,
                                      useCgroups: configuration.useCgroups && caps.cgroupsUsable,
                                      network: ns & Int32(ENVRUN_NS_NET) != 0))
            }
        } catch {
            slots.forEach { $0.close() }
            lease.release()
            throw error
        }
        slotCount = slots.count
        pool = SlotPool(slots: slots)
        logger.debug("sandbox ready", metadata: ["slots": "\(slotCount)", "lease": "\(lease.index)"])
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
            return ExecResult(verdict: .sandboxError, detail: "unknown language '\(request.language)' (field: language)")
        }
        if closed.isSet { return ExecResult(verdict: .sandboxError, detail: "the executor is shut down") }
        let slot = await pool.acquire()
        let useWarm = (warm ?? configuration.warmPool) && lang.warmPool && lang.compile == nil
        let result: ExecResult = await withCheckedContinuation { cont in
            slot.thread.async {
                cont.resume(returning: self.runBlocking(request, lang: lang, slot: slot, warm: useWarm))
                // Clean-up after the caller has its result; the slot's next run queues behind it.
                slot.reapPending()
                if !slot.wipe() { self.logger.warning("could not wipe slot \(slot.index)") }
            }
        }
        await pool.release(slot)
        return result
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
    }

    // MARK: - blocking part, on the slot's thread

    private func runBlocking(_ req: ExecRequest, lang: LanguageDefinition, slot: Slot, warm: Bool) -> ExecResult {
        let settings = policy.limits.slot
        let program = programs[lang.seccomp]!
        let runLimits = policy.limits.run.applying(req.limits, max: policy.limits.max)
        let extraMB = settings.tmpfsMB + settings.cgroupHeadroomMB
        // Files first: the program, then the request's extra files (plain names only).
        var files = [(lang.sourceFile, req.source)]
        for (name, content) in req.files.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                return ExecResult(verdict: .sandboxError, detail: "bad file name '\(name)' (field: files)")
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
                return ExecResult(verdict: .sandboxError, detail: "writing \(name): \(String(cString: strerror(errno)))")
            }
        }
        let stdin = Array(req.stdin.utf8)
        func subst(_ argv: [String], _ l: PhaseLimits) -> [String] {
            argv.map { $0.replacingOccurrences(of: "${memory_mb}", with: "\(l.memoryMB)") }
        }
        var compileMs = 0.0
        if let compile = lang.compile {
            let cl = policy.limits.compile
            let spec = PhaseSpec(argv: subst(compile, cl), limits: cl, addressSpaceLimit: lang.addressSpaceLimit,
                                 program: program, stdin: [], cgroupExtraMB: extraMB)
            let o = runCold(spec, slot: slot, layout: layout)
            var r = VerdictRules.result(o, limits: cl, language: lang)
            if r.verdict == .sandboxError { return r }
            if r.verdict != .ok {
                r.detail = "compiler: " + (r.stderr.isEmpty ? r.stdout : r.stderr).prefix(4000)
                r.verdict = .compileError
                return r
            }
            compileMs = r.wallMs
        }
        let spec = PhaseSpec(argv: subst(lang.run, runLimits), limits: runLimits,
                             addressSpaceLimit: lang.addressSpaceLimit, program: program, stdin: stdin,
                             cgroupExtraMB: extraMB)
        var outcome: RawOutcome
        if warm {
            if slot.warm == nil || !(slot.warm!.alive) || slot.warm!.jobs >= settings.warmRecycleAfter {
                slot.warm?.stop()
                let (w, err) = WarmWorker.start(slot: slot, layout: layout, source: policy.zygoteSource,
                                                program: program)
                slot.warm = w
                if w == nil { return ExecResult(verdict: .sandboxError, detail: err) }
            }
            outcome = slot.warm!.run(spec, file: lang.sourceFile, slot: slot)
        } else {
            outcome = runCold(spec, slot: slot, layout: layout)
        }
        var r = VerdictRules.result(outcome, limits: runLimits, language: lang)
        if compileMs > 0 && r.detail == nil { r.detail = "compiled in \(Int(compileMs)) ms" }
        if r.verdict == .sandboxError {
            logger.error("sandbox error", metadata: ["detail": "\(r.detail ?? "")", "slot": "\(slot.index)"])
        }
        return r
    }
}

/// A set-once flag (shutdown).
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    /// Sets the flag; true when this call set it.
    func set() -> Bool { lock.withLock { defer { value = true }; return !value } }
}

enum SandboxLease {
    static func make(_ dir: String) throws -> SlotLease { try SlotLease(stateDirectory: dir) }
}
