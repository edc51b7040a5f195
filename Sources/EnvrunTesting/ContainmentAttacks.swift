import EnvrunServer

/// Hostile programs of the containment classes (issue 13), shared by the sandbox suites and the
/// `/run_code` tests on the real binary; the texts live in `AttackCorpus` (EnvrunServer/Bench), which
/// `envrun bench load` fires too. Each fills memory that no process's RSS shows until the slot's memory
/// cgroup runs out; a program that is not stopped prints "survived" (the Python ones) or exits 0.
public enum ContainmentAttacks {
    /// 64 SysV segments of 16 MB, each attached, touched and detached.
    public static var sysvShmPython: String { AttackCorpus.sysvShmPython.code }

    /// The same in C (returns 3 when a segment cannot be attached).
    public static var sysvShmC: String { AttackCorpus.sysvShmC.code }

    /// memfds of 15 MB each (under a 16 MB file-size rlimit), kept open.
    public static var memfdPython: String { AttackCorpus.memfdPython.code }
}
