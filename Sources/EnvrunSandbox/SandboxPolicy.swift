import EnvrunCore
import Foundation

/// One language from `Sandbox/languages/*.json`.
public struct LanguageDefinition: Codable, Sendable, Equatable {
    public var id: String
    public var aliases: [String]
    /// File name of the program inside the work dir.
    public var sourceFile: String
    /// Compiler command (C, C++), run in the sandbox with the `compile` limits; nil for interpreters.
    public var compile: [String]?
    /// Run command; `${memory_mb}` is replaced by the memory limit.
    public var run: [String]
    /// Name of the seccomp policy in `Sandbox/seccomp/`.
    public var seccomp: String
    /// Whether RLIMIT_AS is set to the memory limit (not for node: V8 reserves huge address space).
    public var addressSpaceLimit: Bool
    /// Whether the warm pool may run this language (Python only).
    public var warmPool: Bool
    /// A non-zero exit whose stderr contains one of these is a `memory_limit`.
    public var memoryErrorPatterns: [String]

    enum CodingKeys: String, CodingKey {
        case id, aliases, compile, run, seccomp
        case sourceFile = "source_file"
        case addressSpaceLimit = "address_space_limit"
        case warmPool = "warm_pool"
        case memoryErrorPatterns = "memory_error_patterns"
    }
}

/// Limits of one phase (`run` or `compile`) from `Sandbox/limits.json`.
public struct PhaseLimits: Codable, Sendable, Equatable {
    public var cpuMs: Int
    public var wallMs: Int
    public var memoryMB: Int
    public var outputBytes: Int
    public var processes: Int
    public var fileSizeMB: Int
    public var openFiles: Int
    public var stackMB: Int

    enum CodingKeys: String, CodingKey {
        case cpuMs = "cpu_ms"
        case wallMs = "wall_ms"
        case memoryMB = "memory_mb"
        case outputBytes = "output_bytes"
        case processes
        case fileSizeMB = "file_size_mb"
        case openFiles = "open_files"
        case stackMB = "stack_mb"
    }

    /// The request's overrides applied field by field, each clamped to `max`.
    public func applying(_ o: ExecLimits, max m: PhaseLimits) -> PhaseLimits {
        func pick(_ v: Int?, _ d: Int, _ hi: Int) -> Int { Swift.max(1, Swift.min(v ?? d, hi)) }
        var r = self
        r.cpuMs = pick(o.cpuMs, cpuMs, m.cpuMs)
        r.wallMs = pick(o.wallMs, wallMs, m.wallMs)
        r.memoryMB = pick(o.memoryMB, memoryMB, m.memoryMB)
        r.outputBytes = pick(o.outputBytes, outputBytes, m.outputBytes)
        r.processes = pick(o.processes, processes, m.processes)
        r.fileSizeMB = pick(o.fileSizeMB, fileSizeMB, m.fileSizeMB)
        return r
    }
}

public struct SlotSettings: Codable, Sendable, Equatable {
    public var tmpfsMB: Int
    public var tmpfsInodes: Int
    public var uidBase: Int
    public var cgroupHeadroomMB: Int
    public var warmRecycleAfter: Int

    enum CodingKeys: String, CodingKey {
        case tmpfsMB = "tmpfs_mb"
        case tmpfsInodes = "tmpfs_inodes"
        case uidBase = "uid_base"
        case cgroupHeadroomMB = "cgroup_headroom_mb"
        case warmRecycleAfter = "warm_recycle_after"
    }
}

public struct LimitsFile: Codable, Sendable, Equatable {
    public struct Mounts: Codable, Sendable, Equatable {
        public var readOnly: [String]
        enum CodingKeys: String, CodingKey { case readOnly = "read_only" }
    }
    public var run: PhaseLimits
    public var compile: PhaseLimits
    public var max: PhaseLimits
    public var slot: SlotSettings
    public var mounts: Mounts
    public var environment: [String: String]
}

/// A seccomp policy file from `Sandbox/seccomp/`.
public struct SeccompPolicy: Codable, Sendable, Equatable {
    /// One argument comparison (`op`: eq, ne, masked_eq).
    public struct Condition: Codable, Sendable, Equatable {
        public var arg: Int
        public var op: String
        public var value: UInt64
        public var mask: UInt64?
    }
    /// A rule on one syscall: its condition (`arg`/`op`/`value`/`mask`) and those of `and` must all
    /// hold; `errno` names the error of an `errno` action.
    public struct Rule: Codable, Sendable, Equatable {
        public var syscall: String
        public var arg: Int
        public var op: String
        public var value: UInt64
        public var mask: UInt64?
        public var and: [Condition]?
        public var action: String
        public var errno: String?
    }
    public var defaultAction: String
    public var defaultErrno: String
    public var allow: [String]
    public var kill: [String]
    public var errno: [String: [String]]
    public var rules: [Rule]

    enum CodingKeys: String, CodingKey {
        case allow, kill, errno, rules
        case defaultAction = "default_action"
        case defaultErrno = "default_errno"
    }
}

/// Everything in `Sandbox/`, loaded and checked once.
public struct SandboxPolicy: Sendable {
    public let directory: URL
    public let languages: [String: LanguageDefinition]
    public let limits: LimitsFile
    public let seccomp: [String: SeccompPolicy]
    /// Source of the warm-pool worker (`Sandbox/warm/zygote.py`).
    public let zygoteSource: String
    /// The assert-test harness of `Sandbox/harness/`, which the warm workers load once (nil when the folder is
    /// absent: harness jobs then run as ordinary programs).
    public let harness: AssertHarness?

    public static func load(from directory: URL) throws -> SandboxPolicy {
        let dec = JSONDecoder()
        func read<T: Decodable>(_ t: T.Type, _ url: URL) throws -> T {
            do {
                return try dec.decode(T.self, from: Data(contentsOf: url))
            } catch {
                throw EnvrunError(.invalidInput, "cannot load sandbox policy: \(error)", field: url.path)
            }
        }
        let fm = FileManager.default
        let limits = try read(LimitsFile.self, directory.appendingPathComponent("limits.json"))
        var languages: [String: LanguageDefinition] = [:]
        var seccomp: [String: SeccompPolicy] = [:]
        for (sub, ext) in [("languages", "json"), ("seccomp", "json")] {
            let dir = directory.appendingPathComponent(sub)
            let names = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names.sorted() where name.hasSuffix("." + ext) {
                let url = dir.appendingPathComponent(name)
                if sub == "languages" {
                    let l = try read(LanguageDefinition.self, url)
                    for key in [l.id] + l.aliases { languages[key] = l }
                } else {
                    seccomp[String(name.dropLast(ext.count + 1))] = try read(SeccompPolicy.self, url)
                }
            }
        }
        for l in languages.values where seccomp[l.seccomp] == nil {
            throw EnvrunError(.invalidInput, "language \(l.id) names unknown seccomp policy \(l.seccomp)",
                              field: "Sandbox/languages/\(l.id).json")
        }
        let zygoteURL = directory.appendingPathComponent("warm/zygote.py")
        guard let zygote = try? String(contentsOf: zygoteURL, encoding: .utf8) else {
            throw EnvrunError(.notFound, "missing warm worker source", field: zygoteURL.path)
        }
        let harnessDir = directory.appendingPathComponent("harness")
        let harness = fm.fileExists(atPath: harnessDir.appendingPathComponent("supervisor.py").path)
            ? try AssertHarness(directory: harnessDir) : nil
        return SandboxPolicy(directory: directory, languages: languages, limits: limits, seccomp: seccomp,
                             zygoteSource: zygote, harness: harness)
    }

    /// Finds `Sandbox/`: `$ENVRUN_SANDBOX_DIR`, then upwards from the working directory and from the
    /// executable's directory.
    public static func locate() throws -> URL {
        if let env = ProcessInfo.processInfo.environment["ENVRUN_SANDBOX_DIR"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        if let found = RepositoryLocator.find("Sandbox", where: {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("limits.json").path)
        }) {
            return found
        }
        throw EnvrunError(.notFound, "no Sandbox/ directory found (set ENVRUN_SANDBOX_DIR)", field: "Sandbox")
    }

    public func language(_ id: String) -> LanguageDefinition? { languages[id.lowercased()] }
}
