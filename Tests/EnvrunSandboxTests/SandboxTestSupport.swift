import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

#if canImport(Glibc)
import Glibc
#endif

/// Every sandbox suite is nested here and runs one at a time: the leak checks (processes of the
/// executor's uids, the process's fds) must not see another suite's runs.
@Suite(.serialized) struct SandboxSuites {}

/// Why the sandbox tests cannot run here, or nil (they need root, like CI).
let sandboxSkipReason: String? = {
    if geteuid() != 0 { return "sandbox tests need root (namespaces, mounts, cgroups); skipped" }
    if access("/usr/bin/python3", X_OK) != 0 { return "/usr/bin/python3 is missing (scripts/setup.sh installs it)" }
    return nil
}()

func skipUnlessRoot() -> Bool {
    if let r = sandboxSkipReason {
        print("skip:", r)
        return true
    }
    return false
}

/// One executor per suite (each holds its own lease: its own uids, slot dirs and cgroups).
func makeExecutor(slots: Int = 2, warm: Bool = true) throws -> SandboxExecutor {
    try SandboxExecutor(configuration: SandboxConfiguration(slots: slots, warmPool: warm))
}

func python(_ source: String, stdin: String = "", _ limits: ExecLimits = ExecLimits(cpuMs: 2000, wallMs: 4000))
    -> ExecRequest
{
    ExecRequest(language: "python", source: source, stdin: stdin, limits: limits)
}

extension SandboxExecutor {
    /// The uids of this executor's slots.
    var slotUids: Set<uid_t> {
        let base = policy.limits.slot.uidBase + leaseIndex * 64
        return Set((0..<configuration.slots).map { uid_t(base + $0) })
    }
}

/// Host pids (from /proc) whose real uid is in `uids`.
func processes(ofUids uids: Set<uid_t>) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    var found: [pid_t] = []
    for e in entries {
        guard let pid = pid_t(e),
            let status = try? String(contentsOfFile: "/proc/\(e)/status", encoding: .utf8)
        else { continue }
        for line in status.split(separator: "\n") where line.hasPrefix("Uid:") {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.count > 1, let uid = uid_t(fields[1]), uids.contains(uid) { found.append(pid) }
        }
    }
    return found
}

/// A file on the host with known content; `intact` says whether it is unchanged.
struct Canary {
    let path: String
    let content: String

    init(_ name: String) {
        path = "/tmp/envrun-canary-\(name)-\(getpid())"
        content = "canary \(UUID().uuidString)"
        try? content.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o666)
    }

    var intact: Bool { (try? String(contentsOfFile: path, encoding: .utf8)) == content }
    func remove() { unlink(path) }
}

/// A TCP listener and a UDP socket on 127.0.0.1 (ephemeral ports) that count what arrives.
final class LoopbackListeners {
    let tcp: Int32
    let udp: Int32
    let tcpPort: UInt16
    let udpPort: UInt16

    init() {
        func bound(_ type: Int32) -> (Int32, UInt16) {
            let fd = socket(AF_INET, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, len) } }
            withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) }
            }
            return (fd, UInt16(bigEndian: addr.sin_port))
        }
        (tcp, tcpPort) = bound(Int32(SOCK_STREAM.rawValue))
        listen(tcp, 16)
        (udp, udpPort) = bound(Int32(SOCK_DGRAM.rawValue))
    }

    /// True when a TCP connection is pending or a datagram arrived.
    var somethingArrived: Bool {
        let c = accept(tcp, nil, nil)
        if c >= 0 {
            close(c)
            return true
        }
        var buf = [UInt8](repeating: 0, count: 64)
        return recv(udp, &buf, 64, Int32(MSG_DONTWAIT)) >= 0
    }

    deinit {
        close(tcp)
        close(udp)
    }
}
