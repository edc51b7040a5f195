import CEnvrunSandbox
import EnvrunCore
import Foundation

/// A seccomp policy compiled to BPF once, in the parent. Immutable after init; the child reads
/// the bytes (shared memory) and loads them as its last step before execve.
public final class SeccompProgram: @unchecked Sendable {
    let bpf: UnsafeMutablePointer<envrun_bpf>
    public var byteCount: Int { bpf.pointee.length }
    public var instructionCount: Int { bpf.pointee.length / 8 }

    static let errnoNames: [String: Int32] = [
        "EPERM": 1, "ENOENT": 2, "EACCES": 13, "ENOSYS": 38, "EAFNOSUPPORT": 97,
    ]

    public init(policy: SeccompPolicy, name: String) throws {
        func errnoValue(_ s: String) throws -> Int32 {
            guard let v = Self.errnoNames[s] else {
                throw EnvrunError(.invalidInput, "unknown errno name \(s)", field: "Sandbox/seccomp/\(name).json")
            }
            return v
        }
        func action(_ s: String) throws -> Int32 {
            switch s {
            case "allow": return Int32(ENVRUN_ACT_ALLOW)
            case "kill": return Int32(ENVRUN_ACT_KILL)
            case "errno": return Int32(ENVRUN_ACT_ERRNO)
            default: throw EnvrunError(.invalidInput, "unknown action \(s)", field: "Sandbox/seccomp/\(name).json")
            }
        }
        func cond(_ arg: Int, _ op: String, _ value: UInt64, _ mask: UInt64?) throws -> envrun_seccomp_cond {
            let cmp: Int32
            switch op {
            case "eq": cmp = Int32(ENVRUN_CMP_EQ)
            case "ne": cmp = Int32(ENVRUN_CMP_NE)
            case "masked_eq": cmp = Int32(ENVRUN_CMP_MASKED_EQ)
            default: throw EnvrunError(.invalidInput, "unknown op \(op)", field: "Sandbox/seccomp/\(name).json")
            }
            guard (0...5).contains(arg) else {
                throw EnvrunError(.invalidInput, "argument index \(arg) is not 0...5", field: "Sandbox/seccomp/\(name).json")
            }
            return envrun_seccomp_cond(arg_index: Int32(arg), cmp: cmp, value: value, mask: mask ?? 0)
        }
        // (name, action, errno, conditions)
        var specs: [(String, Int32, Int32, [envrun_seccomp_cond])] = []
        for s in policy.allow { specs.append((s, Int32(ENVRUN_ACT_ALLOW), 0, [])) }
        for s in policy.kill { specs.append((s, Int32(ENVRUN_ACT_KILL), 0, [])) }
        for (e, names) in policy.errno.sorted(by: { $0.key < $1.key }) {
            let v = try errnoValue(e)
            for s in names { specs.append((s, Int32(ENVRUN_ACT_ERRNO), v, [])) }
        }
        for r in policy.rules {
            var conds = [try cond(r.arg, r.op, r.value, r.mask)]
            for c in r.and ?? [] { conds.append(try cond(c.arg, c.op, c.value, c.mask)) }
            guard conds.count <= 3 else {
                throw EnvrunError(.invalidInput, "rule for \(r.syscall): at most 3 conditions", field: "Sandbox/seccomp/\(name).json")
            }
            let act = try action(r.action)
            let e: Int32 = act == Int32(ENVRUN_ACT_ERRNO) ? try errnoValue(r.errno ?? "EPERM") : 0
            specs.append((r.syscall, act, e, conds))
        }
        let defAction = try action(policy.defaultAction)
        let defErrno = try errnoValue(policy.defaultErrno)
        // Keep the C strings alive for the call.
        let cNames = specs.map { strdup($0.0)! }
        defer { cNames.forEach { free($0) } }
        let none = envrun_seccomp_cond(arg_index: -1, cmp: 0, value: 0, mask: 0)
        var rules: [envrun_seccomp_rule] = specs.enumerated().map { i, s in
            let c = s.3 + Array(repeating: none, count: 3 - s.3.count)
            return envrun_seccomp_rule(syscall: cNames[i], action: s.1, errno_value: s.2, cond_count: Int32(s.3.count),
                                       conds: (c[0], c[1], c[2]))
        }
        bpf = .allocate(capacity: 1)
        bpf.initialize(to: envrun_bpf(bytes: nil, length: 0))
        var err = [CChar](repeating: 0, count: 256)
        let rc = envrun_seccomp_compile(defAction, defErrno, &rules, rules.count, bpf, &err, err.count)
        if rc != 0 {
            // deinit runs for the failed init and frees bpf.
            throw EnvrunError(.invalidInput, "seccomp policy \(name): \(cErrorText(err))",
                              field: "Sandbox/seccomp/\(name).json")
        }
    }

    deinit {
        envrun_bpf_free(bpf)
        bpf.deallocate()
    }
}
