/*
 * envrun-init: pid 1 of every cold sandbox, after its set-up.
 *
 * Why a program of its own: the sandbox's pid 1 is cloned with CLONE_VM (no copy of envrun's page
 * tables), so until it execs it shares - and reports as its own - envrun's whole address space.
 * The memory cgroup's OOM killer picks the largest process of the cgroup and then kills every
 * process sharing that memory: memory no process's RSS shows (memfd, tmpfs files, SysV shm) made
 * it pick pid 1 and so end envrun itself. pid 1 therefore execs this small static program once the
 * job is cloned and before the job can run a single instruction of its own; from then on no
 * process of the run shares envrun's memory, and whatever the OOM killer picks is the run's own.
 *
 * Built by envrun with the system's C compiler into its state directory; the C shim execs it by
 * fd (execveat), so it needs no path inside the sandbox root. On x86_64 and aarch64 it is built
 * without libc (-nostdlib -DENVRUN_NOLIBC): static glibc's start-up cost ~0.4 ms per exec here,
 * most of a cold run's budget; raw system calls only, so it needs nothing else. Other machines
 * build it against libc (-static), through syscall(2).
 *
 * argv: envrun-init <job pid> <uid> <gid> <userns 0|1> <own IPC namespace 0|1>
 * fds:  4 report pipe to envrun (records, layout below), 5 read end that reaches EOF when the job
 *       has exec'd (or died), 6 read end on which the job asks (one byte) once it is ready to exec
 *       and has made its user namespace, 7 write end of the answer (maps written, go).
 *
 * It writes the job's maps (the job made its user namespace itself, as the slot uid, so the
 * namespace's kernel quotas are charged to that uid and not to root), answers, says "started"
 * once the job has exec'd, reaps every process that ends up as its child, and when the job is
 * reaped kills what is left in the pid namespace, removes the run's SysV IPC objects, reports the
 * job's status and rusage, and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* ---- system calls: each returns the result, or -errno ---------------------------------- */
#ifdef ENVRUN_NOLIBC
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    ret = x0;
#else
#error "ENVRUN_NOLIBC needs x86_64 or aarch64; build without it"
#endif
    return ret;
}

/* What the compiler may call on its own for struct copies and zeroing. */
void *memset(void *d, int c, size_t n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}
#else
#include <string.h>
#include <unistd.h>
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long r = syscall(n, a, b, c, d, e, f);
    return r < 0 ? -errno : r;
}
#endif

#define SYS(...) sys6_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)
#define sys6_(n, a, b, c, d, e, f, ...) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static void sys_exit(int code) {
    for (;;) SYS(SYS_exit_group, code);
}

/* ---- the protocol ------------------------------------------------------------------------ */

/* Must match `struct record` in Sources/CEnvrunSandbox/envrun_child.h. */
enum { REC_STATUS = 1, REC_FAIL = 2, REC_STARTED = 3 };
struct record {
    int kind;
    int status;
    long long utime_us, stime_us, maxrss_kb;
    int err_no;
    char step[48];
};
/* The same record is defined in Sandbox/init/envrun-init.c and Sources/CEnvrunSandbox/envrun_child.h
 * (two programs, built apart): a change to one that the other misses fails to compile. */
_Static_assert(sizeof(struct record) == 88, "struct record layout changed: change both copies");

enum { FD_REPORT = 4, FD_EXEC = 5, FD_MAPS_REQ = 6, FD_MAPS_DONE = 7 };

static void send_record(int kind, int status, const struct rusage *ru, const char *step, int err_no) {
    struct record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.status = status;
    r.err_no = err_no;
    if (ru) {
        r.utime_us = (long long)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec;
        r.stime_us = (long long)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec;
        r.maxrss_kb = ru->ru_maxrss;
    }
    for (size_t i = 0; step && step[i] && i + 1 < sizeof r.step; i++) r.step[i] = step[i];
    while (SYS(SYS_write, FD_REPORT, &r, sizeof r) == -EINTR) {}
}

/* kill(-1) reaches every process we may signal: only pid 1 of the run's own pid namespace may
 * send it. Anywhere else (no pid namespace, or this file run by hand as root) it would reach the
 * host's processes; then only the job is killed. */
static long job_pid = -1;

static void kill_everything(void) {
    if (SYS(SYS_getpid) == 1) SYS(SYS_kill, -1, SIGKILL);
    else if (job_pid > 0) SYS(SYS_kill, job_pid, SIGKILL);
}

static void reap_all(void) {
    for (;;) {
        long r = SYS(SYS_wait4, -1, 0, __WALL, 0);
        if (r < 0 && r != -EINTR) return;
    }
}

static void fail(const char *step, long err) {
    send_record(REC_FAIL, 0, NULL, step, (int)-err);
    kill_everything();
    reap_all();
    sys_exit(0);
}

static long parse(const char *s) {
    long v = 0;
    if (!s || !*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000) return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* dst += decimal v; returns the new end. */
static char *put_num(char *dst, long v) {
    char num[24];
    int n = 0;
    do num[n++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (n) *dst++ = num[--n];
    return dst;
}

static char *put_str(char *dst, const char *s) {
    while (*s) *dst++ = *s++;
    return dst;
}

/* Writes text to /proc/<pid>/<leaf>. Returns 0 or -errno. */
static long write_proc(long pid, const char *leaf, const char *text, size_t len) {
    char path[64];
    char *e = put_str(path, "/proc/");
    e = put_num(e, pid);
    *e++ = '/';
    e = put_str(e, leaf);
    *e = 0;
    long fd = SYS(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    long w = SYS(SYS_write, fd, text, len);
    SYS(SYS_close, fd);
    return w < 0 ? w : (w == (long)len ? 0 : -EIO);
}

static long write_map(long pid, const char *leaf, long id) {
    char map[64];
    char *e = put_num(map, id);
    *e++ = ' ';
    e = put_num(e, id);
    e = put_str(e, " 1\n");
    return write_proc(pid, leaf, map, (size_t)(e - map));
}

static long read_byte(int fd, char *c) {
    long n;
    while ((n = SYS(SYS_read, fd, c, 1)) == -EINTR) {}
    return n;
}

/* Removes every SysV object of the run's IPC namespace. The namespace itself is freed by the
 * kernel after we exit, on a work queue: until then a job's segments and queues would still be
 * charged to the slot's memory cgroup when the slot's next run starts. Removed here, they are
 * gone before the report. The *_INFO calls return the highest index in use. */
static void clear_sysv(void) {
    static char buf[1024]; /* large enough for any of the info and stat structs */
    long max = SYS(SYS_shmctl, 0, SHM_INFO, buf);
    for (long i = 0; i <= max; i++) {
        long id = SYS(SYS_shmctl, i, SHM_STAT, buf);
        if (id >= 0) SYS(SYS_shmctl, id, IPC_RMID, 0);
    }
    max = SYS(SYS_msgctl, 0, MSG_INFO, buf);
    for (long i = 0; i <= max; i++) {
        long id = SYS(SYS_msgctl, i, MSG_STAT, buf);
        if (id >= 0) SYS(SYS_msgctl, id, IPC_RMID, 0);
    }
    max = SYS(SYS_semctl, 0, 0, SEM_INFO, buf);
    for (long i = 0; i <= max; i++) {
        long id = SYS(SYS_semctl, i, 0, SEM_STAT, buf);
        if (id >= 0) SYS(SYS_semctl, id, 0, IPC_RMID, 0);
    }
}

static int init_main(int argc, char **argv) {
    if (argc != 6) fail("init-args", -EINVAL);
    job_pid = parse(argv[1]);
    long uid = parse(argv[2]), gid = parse(argv[3]), userns = parse(argv[4]), own_ipc = parse(argv[5]);
    if (job_pid <= 0 || uid < 0 || gid < 0 || userns < 0 || own_ipc < 0) fail("init-args", -EINVAL);
    /* Never the memory cgroup's victim: the OOM killer is to pick among the job's processes
     * (killing us would end the run without a status). Root with our own memory now, so this
     * changes nobody else's score. Without a /proc it stays as it was. */
    write_proc(SYS(SYS_getpid), "oom_score_adj", "-1000", 5);
    /* The job asks once it is ready to exec (and, with a user namespace, has made it); EOF: it
     * failed before asking (it reported why) or died. Our answer comes after our own exec, so the
     * job never runs while pid 1 still shares envrun's memory. */
    char c;
    if (read_byte(FD_MAPS_REQ, &c) == 1) {
        long r;
        if (userns == 1 && (r = write_map(job_pid, "uid_map", uid)) < 0) fail("uid_map", r);
        if (userns == 1 && (r = write_map(job_pid, "gid_map", gid)) < 0) fail("gid_map", r);
        if ((r = SYS(SYS_write, FD_MAPS_DONE, "m", 1)) != 1) fail("maps-done", r < 0 ? r : -EIO);
    }
    SYS(SYS_close, FD_MAPS_REQ);
    SYS(SYS_close, FD_MAPS_DONE);
    /* EOF: the job has exec'd (its end was close-on-exec) or died after reporting a failure. */
    while (read_byte(FD_EXEC, &c) > 0) {}
    SYS(SYS_close, FD_EXEC);
    /* The job has its own memory now: make it the memory cgroup's choice whatever score envrun
     * runs with (a service manager may give envrun a negative one, which the job would inherit).
     * Written by root, so the job cannot lower it again. Children it forked in the moment before
     * this keep the inherited score; with envrun at the default 0 that changes nothing. */
    write_proc(job_pid, "oom_score_adj", "1000", 4);
    send_record(REC_STARTED, 0, NULL, "started", 0);
    for (;;) {
        int st = 0;
        struct rusage ru;
        long r = SYS(SYS_wait4, -1, &st, __WALL, &ru);
        if (r == job_pid) {
            /* Kill and reap what the job left, then report: the report is envrun's "done", so
             * the slow part of our exit (namespace teardown) is off its path. */
            kill_everything();
            reap_all();
            if (own_ipc == 1) clear_sysv(); /* never the host's objects */
            send_record(REC_STATUS, st, &ru, NULL, 0);
            sys_exit(0);
        }
        if (r < 0 && r != -EINTR) break;
    }
    /* No child left and the job never reaped: nothing to report (envrun sees EOF). */
    kill_everything();
    reap_all();
    sys_exit(0);
    return 0;
}

#ifdef ENVRUN_NOLIBC
/* The entry point: argc and argv from the initial stack. */
__attribute__((used)) void envrun_start(long *sp) {
    sys_exit(init_main((int)sp[0], (char **)(sp + 1)));
}
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call envrun_start\n hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n mov x29, #0\n mov x0, sp\n bl envrun_start\n");
#endif
#else
int main(int argc, char **argv) { return init_main(argc, argv); }
#endif
