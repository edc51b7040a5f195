#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit, raised at start so that connections and sandbox pipes do not run
/// out of descriptors (the default soft limit is often 1024, the hard one much higher).
public enum FileLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard limit (at most `cap`); returns the soft limit now in force.
    @discardableResult
    public static func raise(cap: UInt64 = 1 << 20) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let target = min(limit.rlim_max, rlim_t(cap))
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(min(limit.rlim_cur, rlim_t(Int.max)))
    }

    /// Descriptors kept back for everything but client connections: the sandbox's slots (pipes,
    /// pidfds, cgroup files, warm workers), pack files, the log, the CPU pool.
    public static func reserve(sandboxSlots: Int) -> Int { 256 + 32 * max(1, sandboxSlots) }
}

extension ServerConfiguration {
    /// `maxConnections` lowered to what `fdLimit` allows after the reserve (that bound is at least 16).
    public func fitting(fdLimit: Int, sandboxSlots: Int) -> ServerConfiguration {
        var c = self
        c.maxConnections = min(maxConnections, max(16, fdLimit - FileLimit.reserve(sandboxSlots: sandboxSlots)))
        return c
    }
}
