import EnvrunServer

/// Hostile programs of the containment classes (issue 13), shared by the sandbox suites and the
/// `/run_code` tests on the real binary; the texts live in `AttackCorpus` (EnvrunServer/Bench), which
/// `envrun bench load` fires too. The first ones fill memory that no process's RSS shows until the slot's
/// memory cgroup runs out; such a program that is not stopped prints "survived" (the Python ones) or exits 0.
public enum ContainmentAttacks {
    /// 64 SysV segments of 16 MB, each attached, touched and detached.
    public static var sysvShmPython: String { AttackCorpus.sysvShmPython.code }

    /// The same in C (returns 3 when a segment cannot be attached).
    public static var sysvShmC: String { AttackCorpus.sysvShmC.code }

    /// memfds of 15 MB each (under a 16 MB file-size rlimit), kept open.
    public static var memfdPython: String { AttackCorpus.memfdPython.code }

    /// Four files of 15 MB in each of /tmp and /work (tmpfs), then memfds.
    public static var tmpfsThenMemfd: String { AttackCorpus.tmpfsThenMemfd.code }

    /// 12 forked children of 24 MB each, none over the limit alone.
    public static var forkedChildrenRSS: String { AttackCorpus.forkedChildrenRSS.code }

    /// Unix sockets sent over themselves and closed: buffers in flight, held by no process (prints
    /// `True` when over 100 MB were queued).
    public static var socketBuffersInFlight: String { AttackCorpus.socketBuffersInFlight.code }

    /// Limits, priority and affinity of pid 1 and the parent, a group and the uid: exits 1 naming
    /// what it reached, else 0 silently.
    public static var otherProcesses: String { AttackCorpus.otherProcessesCalls }
}
