import CEnvrunSandbox
import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One execution slot: its own uid, a size-limited tmpfs holding `work/` and `tmp/`, its cgroups,
/// a dedicated thread for the blocking work (born in the slot's cold cgroups, so are the runs),
/// and (Python) its warm worker.
/// A slot is used by one run at a time (the `SlotPool` hands it out), so its mutable state needs
/// no lock of its own.
final class Slot: @unchecked Sendable {
    let index: Int
    let uid: uid_t
    let gid: gid_t
    let dir: String
    let workDir: String
    let tmpDir: String
    /// Root-only: the compiled files of a multi-run request, linked back into work/ before each
    /// case (never mounted into a sandbox).
    let keepDir: String
    /// Cgroups of cold runs and of the warm worker (kept apart so neither counts the other).
    private(set) var cgroup: CgroupSlot?
    private(set) var warmCgroup: CgroupSlot?
    private let cgroupNames: (cold: String, warm: String)
    let thread: SlotThread
    /// The slot's network namespace (an fd), joined by every cold run's pid 1; -1 when the machine
    /// has no network namespaces.
    let netns: Int32
    /// The slot's prebuilt root (a mount namespace fd, see `makeSlotRoot`); -1 without one.
    var rootns: Int32 = -1
    var warm: WarmWorker?
    /// The last cold run's pid 1, which reported and is now exiting (namespace teardown).
    var pendingReap: envrun_spawn_result?
    private let settings: SlotSettings

    init(index: Int, lease: SlotLease, settings: SlotSettings, useCgroups: Bool, network: Bool) throws {
        self.index = index
        uid = uid_t(settings.uidBase + lease.index * 64 + index)
        gid = gid_t(uid)
        dir = "\(lease.directory)/slot\(index)"
        workDir = dir + "/work"
        tmpDir = dir + "/tmp"
        keepDir = dir + "/keep"
        var ns: Int32 = -1
        if network {
            var err = [CChar](repeating: 0, count: 160)
            ns = envrun_netns_create(&err, err.count)
            guard ns >= 0 else {
                throw EnvrunError(.unavailable, "cannot create the slot's network namespace: \(cErrorText(err))")
            }
        }
        netns = ns
        thread = SlotThread(name: "envrun-slot-\(lease.index).\(index)")
        self.settings = settings
        do {
            try Self.mountTmpfs(dir: dir, settings: settings, uid: uid, gid: gid)
        } catch {
            if ns >= 0 { Glibc.close(ns) }
            thread.stop()
            throw error
        }
        cgroupNames = ("\(lease.index)-\(index)", "\(lease.index)-\(index)w")
        cgroup = useCgroups ? CgroupSlot(name: cgroupNames.cold) : nil
        warmCgroup = useCgroups ? CgroupSlot(name: cgroupNames.warm) : nil
        cgroup?.killAll()
        warmCgroup?.killAll()
        if let cg = cgroup {
            let tid = thread.tid
            _ = thread.sync { cg.adopt(thread: tid) }
        }
    }

    /// Reaps the previous cold run's pid 1 and frees its stack.
    func reapPending() {
        guard var res = pendingReap else { return }
        pendingReap = nil
        _ = envrun_reap(res.pid, nil, nil, nil)
        envrun_spawn_release(&res)
    }

    /// A fresh size- and inode-limited tmpfs at `dir` holding `work/`, `tmp/` (the slot uid's) and
    /// `keep/` (root's); whatever was mounted there before is detached.
    private static func mountTmpfs(dir: String, settings: SlotSettings, uid: uid_t, gid: gid_t) throws {
        let (workDir, tmpDir, keepDir) = (dir + "/work", dir + "/tmp", dir + "/keep")
        mkdir(dir, 0o700)
        while envrun_umount(dir) == 0 {}
        let mb = Int64(settings.tmpfsMB) * 1_048_576
        guard envrun_mount_tmpfs(dir, mb, Int64(settings.tmpfsInodes), uid, gid) == 0 else {
            throw EnvrunError(.unavailable, "cannot mount the slot tmpfs: \(String(cString: strerror(errno)))", field: dir)
        }
        for d in [workDir, tmpDir] {
            mkdir(d, 0o700)
            chown(d, uid, gid)
        }
        mkdir(keepDir, 0o700)
    }

    /// After a wipe failed: the slot gets a new tmpfs, and with it a new root (the old root binds
    /// the old work/ and tmp/) and a new warm worker, so nothing of the old one reaches a later run.
    func rebuild(layout: SandboxLayout) throws {
        reapPending()
        warm?.stop()
        warm = nil
        if rootns >= 0 {
            Glibc.close(rootns)
            rootns = -1
        }
        try Self.mountTmpfs(dir: dir, settings: settings, uid: uid, gid: gid)
        if layout.nsFlags & Int32(ENVRUN_NS_MOUNT) != 0 { rootns = try makeSlotRoot(slot: self, layout: layout) }
    }

    /// What reclaim cannot free in a slot cgroup after a run, above which the slot acts: the warm
    /// worker's own interpreter stays below it, and the cgroups' headroom covers it.
    static let leftoverLimit = 32 << 20

    /// After a run and its wipe (on the slot thread): memory a job left charged to the slot's
    /// cgroups that no process holds - socket buffers of unix sockets in flight in a reference cycle
    /// (SCM_RIGHTS), which only the kernel's unix garbage collector frees, and which would make the
    /// slot's next job run out of memory. First the collector is started (closing a unix socket
    /// queues it) and given a moment; then the warm worker is retired; last the cgroup is made anew
    /// (its charges go to the parent with the old one). Returns what was done, for the log.
    func reclaimLeftovers(layout: SandboxLayout) -> String? {
        func over(_ cg: CgroupSlot?) -> Bool { (cg?.unreclaimableBytes() ?? 0) > Self.leftoverLimit }
        guard over(cgroup) || over(warmCgroup) else { return nil }
        var done: [String] = []
        for _ in 0..<25 {
            var sp: [Int32] = [-1, -1]
            if envrun_socketpair_cloexec(&sp) == 0 { sp.forEach { Glibc.close($0) } }
            usleep(4_000)
            if !over(cgroup) && !over(warmCgroup) { return "unix garbage collection freed it" }
        }
        done.append("the unix garbage collector did not free it")
        if over(warmCgroup), let w = warm {
            w.stop()
            warm = nil
            done.append("warm worker retired")
        }
        if over(warmCgroup), let old = warmCgroup {
            old.killAll()
            old.remove()
            warmCgroup = CgroupSlot(name: cgroupNames.warm)
            done.append("warm cgroup made anew")
        }
        if over(cgroup), let old = cgroup {
            reapPending()
            let tid = pid_t(envrun_gettid())
            _ = CgroupSlot.returnToRoot(thread: tid)
            old.killAll()
            old.remove()
            let fresh = CgroupSlot(name: cgroupNames.cold)
            _ = fresh.adopt(thread: tid)
            cgroup = fresh
            done.append("cold cgroup made anew")
        }
        return done.joined(separator: ", ")
    }

    /// Empties work/ and tmp/ (the job may have filled them or chmod'ed things).
    func wipe() -> Bool {
        var ok = envrun_wipe_dir(workDir) == 0
        ok = envrun_wipe_dir(tmpDir) == 0 && ok
        chmod(workDir, 0o700)
        chmod(tmpDir, 0o700)
        return ok
    }

    func close() {
        thread.sync { self.reapPending() }
        warm?.stop()
        warm = nil
        let tid = thread.tid
        _ = thread.sync { CgroupSlot.returnToRoot(thread: tid) }
        thread.stop()
        for cg in [cgroup, warmCgroup] {
            cg?.killAll()
            cg?.remove()
        }
        _ = envrun_umount(dir)
        rmdir(dir)
        if netns >= 0 { Glibc.close(netns) }
        if rootns >= 0 { Glibc.close(rootns) }
    }
}

/// An exclusive claim on a range of uids, slot dirs and cgroup names, so that several executors
/// (in one process or in concurrent test processes) never share a slot. The claim is an flock on
/// `<state>/lease<N>.lock`, released by the kernel if the process dies; the next owner cleans up.
final class SlotLease: @unchecked Sendable {
    let index: Int
    let directory: String
    private let lockFd: Int32

    init(stateDirectory: String) throws {
        mkdir(stateDirectory, 0o755)
        for i in 0..<32 {
            let fd = open("\(stateDirectory)/lease\(i).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { break }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                index = i
                lockFd = fd
                Self.writeOwner(fd)
                directory = "\(stateDirectory)/\(i)"
                mkdir(directory, 0o755)
                mkdir(directory + "/root", 0o755)
                Self.cleanStale(directory: directory, lease: i)
                Self.reclaimDeadLeases(stateDirectory: stateDirectory, except: i)
                return
            }
            Glibc.close(fd)
        }
        throw EnvrunError(.unavailable, "no free sandbox lease in \(stateDirectory)", field: stateDirectory)
    }

    /// Every other lease whose owner is gone (its lock is free: the kernel dropped the flock when the
    /// process died, SIGKILL included) is emptied now, not when some later executor happens to take
    /// that number: its processes killed, its slot mounts, dirs and cgroups removed.
    private static func reclaimDeadLeases(stateDirectory: String, except taken: Int) {
        for j in 0..<32 where j != taken {
            let dir = "\(stateDirectory)/\(j)"
            guard access(dir, F_OK) == 0 else { continue }
            let fd = open("\(stateDirectory)/lease\(j).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { continue }
            defer { Glibc.close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 || ownerIsGone(fd) else { continue }  // alive, or starting
            cleanStale(directory: dir, lease: j)
            rmdir(dir + "/root")
            rmdir(dir)
        }
    }

    /// The owner's pid, in its lock file, so that a lease whose owner died while a child of it still held the
    /// lock for a moment (a clone between fork and its fd cleanup, a process being torn down) can be told
    /// from a live one.
    private static func writeOwner(_ fd: Int32) {
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// The lock is held but its owner process is dead: wait up to 2 s for the lock (its last holder is
    /// dying) and take it; false when the owner lives or the lock stays held.
    private static func ownerIsGone(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0, let pid = pid_t(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { return false }
        for _ in 0..<40 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            usleep(50_000)
        }
        return false
    }

    /// Leftovers of a previous owner that died: kill its tasks, remove its cgroups (a slot of this
    /// lease makes them anew, with nothing charged), unmount and remove its slot dirs.
    private static func cleanStale(directory: String, lease: Int) {
        for s in 0..<64 {
            for root in CgroupSlot.hierarchyRoots {
                for dir in ["\(root)/envrun/\(lease)-\(s)", "\(root)/envrun/\(lease)-\(s)w"] {
                    guard access(dir, F_OK) == 0 else { continue }
                    // Kill, then give the killed tasks up to 5 s to exit so the directory (and what is
                    // charged to it) goes — under load a killed tree takes seconds; if one still lingers
                    // the slot reuses it.
                    for attempt in 0..<250 {
                        let pids = (CgroupSlot.read(dir + "/cgroup.procs") ?? "").split(separator: "\n")
                            .compactMap { pid_t($0) }.filter { $0 != getpid() }
                        if pids.isEmpty || attempt == 249 { break }
                        for p in pids { kill(p, SIGKILL) }
                        usleep(20_000)
                    }
                    rmdir(dir)
                }
            }
            let d = "\(directory)/slot\(s)"
            if access(d, F_OK) == 0 {
                while envrun_umount(d) == 0 {}
                rmdir(d)
            }
        }
    }

    func release() {
        rmdir(directory + "/root")
        rmdir(directory)
        Glibc.close(lockFd)
    }
}

/// Hands out slots: at most `slots` runs at once; others wait in FIFO order.
actor SlotPool {
    private var free: [Slot]
    private var waiters: [CheckedContinuation<Slot, Never>] = []

    init(slots: [Slot]) { free = slots.reversed() }

    func acquire() async -> Slot {
        if let s = free.popLast() { return s }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ slot: Slot) {
        if waiters.isEmpty {
            free.append(slot)
        } else {
            waiters.removeFirst().resume(returning: slot)
        }
    }

    /// Waits for every slot to be free and takes them all (shutdown).
    func drain(count: Int) async -> [Slot] {
        var all: [Slot] = []
        while all.count < count { all.append(await acquire()) }
        return all
    }
}
