/// Hostile programs of the containment classes (issue 13), shared by the sandbox suites and the
/// `/run_code` tests on the real binary. Each fills memory that no process's RSS shows until the
/// slot's memory cgroup runs out; a program that is not stopped prints "survived" (the Python ones)
/// or exits 0.
public enum ContainmentAttacks {
    /// 64 SysV segments of 16 MB, each attached, touched and detached.
    public static let sysvShmPython = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        for i in range(64):
            sid = libc.shmget(0, 16 << 20, 0o1600)
            p = libc.shmat(sid, None, 0)
            ctypes.memset(p, 1, 16 << 20)
            libc.shmdt(ctypes.c_void_p(p))
        print("survived")
        """

    /// The same in C (returns 3 when a segment cannot be attached).
    public static let sysvShmC = """
        #include <stdio.h>
        #include <string.h>
        #include <sys/shm.h>
        int main(void) {
            for (int i = 0; i < 64; i++) {
                int id = shmget(IPC_PRIVATE, 16 << 20, 0600 | IPC_CREAT);
                char *p = shmat(id, 0, 0);
                if (p == (void *)-1) return 3;
                memset(p, 1, 16 << 20);
                shmdt(p);
            }
            puts("survived");
            return 0;
        }
        """

    /// memfds of 15 MB each (under a 16 MB file-size rlimit), kept open.
    public static let memfdPython = """
        import os
        fds, block = [], b"m" * (1 << 20)
        for i in range(60):
            fd = os.memfd_create("x%d" % i)
            for _ in range(15):
                os.write(fd, block)
            fds.append(fd)
        print("survived")
        """
}
