/*
 * envrun_spawn: clone the sandbox's pid 1 on its own stack and set the sandbox up in it.
 *
 * The child shares the parent's memory (CLONE_VM) to avoid copying the parent's page tables, so
 * everything it does is a raw, async-signal-safe syscall on its own stack: no malloc, no locks,
 * no libseccomp (the filter was compiled by the parent). Failures are reported as
 * (step name, errno) records on an O_CLOEXEC pipe.
 *
 * with_init = 1 (cold runs): pid 1 is this C code. It builds the mount namespace, then clones the
 * job (CLONE_VM, own stack), writes the job's user-namespace maps, waits for its execve, reaps
 * every process that ends up as its
 * child, and when the job is reaped writes the job's status and rusage to the pipe and exits -
 * which kills whatever the job left behind in the pid namespace.
 * with_init = 0 (warm-pool zygote): the program itself becomes pid 1 after the same set-up.
 */
#define _GNU_SOURCE
#include "envrun_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE (256 * 1024)

enum { REC_FAIL = 2, REC_STARTED = 3, REC_STATUS = 1, REC_MAPS = 4 };

struct record {
    int kind;
    int status;
    long long utime_us, stime_us, maxrss_kb;
    int err_no;
    char step[48];
};

struct child_ctx {
    const envrun_spawn_config *cfg;
    int report_fd;
    char *job_stack_top;
    int maps_r;     /* the job reads one byte here once its uid/gid maps are written */
    int maps_w;     /* parent (zygote mode) or pid 1 (init mode) writes it */
    int exec_r;     /* init mode: pid 1 sees EOF here when the job has exec'd */
};

/* After this, pid 1 holds only 0, 1, 2 (the job's stdio), 3 (keep_fd, if any), 4 (the report
 * pipe, close-on-exec) and 5 (zygote mode: the "maps written" pipe). pid 1 must not keep copies of the parent's other fds (for
 * example another run's stdin pipe, which would otherwise never see EOF). */
static int settle_fds(const envrun_spawn_config *cfg, int rfd, int maps_r) {
    int src[6] = {cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd, cfg->keep_fd, rfd, maps_r};
    int tmp[6];
    for (int i = 0; i < 6; i++) {
        tmp[i] = -1;
        if (src[i] < 0) continue;
        tmp[i] = fcntl(src[i], F_DUPFD, 100);
        if (tmp[i] < 0) return -1;
    }
    for (int i = 0; i < 6; i++) {
        if (tmp[i] < 0) close(i);
        else if (dup2(tmp[i], i) < 0) return -1;
    }
    if (fcntl(4, F_SETFD, FD_CLOEXEC) < 0) return -1;
    if (maps_r >= 0 && fcntl(5, F_SETFD, FD_CLOEXEC) < 0) return -1;
    return (int)syscall(SYS_close_range, 6, ~0U, 0);
}

int envrun_sandbox_abi_version(void) { return 1; }

/* ---- async-signal-safe helpers (no libc state beyond errno) ------------------------------ */

static size_t s_len(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* dst = a + b, truncated to cap. */
static void s_join(char *dst, size_t cap, const char *a, const char *b) {
    size_t i = 0;
    for (; *a && i + 1 < cap; a++) dst[i++] = *a;
    for (; *b && i + 1 < cap; b++) dst[i++] = *b;
    dst[i] = 0;
}

static void report(int fd, int kind, const char *step, int err_no) {
    struct record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.err_no = err_no;
    size_t n = s_len(step);
    if (n >= sizeof r.step) n = sizeof r.step - 1;
    memcpy(r.step, step, n);
    (void)!write(fd, &r, sizeof r);
}

static void fail(int fd, const char *step) {
    report(fd, REC_FAIL, step, errno);
    syscall(SYS_exit, 127);
    for (;;) {}
}

/* mkdir -p for a path (each component created with mode 0755). */
static int mkdir_p(const char *path) {
    char buf[4096];
    size_t n = s_len(path);
    if (n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static int bind_ro(const char *src, const char *root) {
    char dst[4096];
    s_join(dst, sizeof dst, root, src);
    struct stat st;
    if (stat(src, &st) < 0) return -1;
    if (S_ISDIR(st.st_mode)) {
        if (mkdir_p(dst) < 0) return -1;
    } else {
        char parent[4096];
        size_t n = s_len(dst);
        memcpy(parent, dst, n + 1);
        while (n > 0 && parent[n] != '/') n--;
        parent[n] = 0;
        if (mkdir_p(parent) < 0) return -1;
        int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
        if (fd < 0) return -1;
        close(fd);
    }
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
    return mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

static int bind_rw(const char *src, const char *dst) {
    if (mkdir(dst, 0755) < 0 && errno != EEXIST) return -1;
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) return -1;
    return mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL);
}

static const char *build_root(const envrun_spawn_config *cfg) {
    const char *root = cfg->root_dir;
    char p[4096], q[4096];
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return "make-private";
    if (mount("envrun", root, "tmpfs", MS_NOSUID, "size=1m,nr_inodes=512,mode=0755") < 0)
        return "mount-root";
    if (cfg->ro_paths)
        for (const char *const *r = cfg->ro_paths; *r; r++)
            if (bind_ro(*r, root) < 0) return "bind-ro";
    if (cfg->symlinks)
        for (const char *const *l = cfg->symlinks; l[0] && l[1]; l += 2) {
            s_join(p, sizeof p, root, l[0]);
            if (symlink(l[1], p) < 0 && errno != EEXIST) return "symlink";
        }
    /* /dev: four character devices and the fd links. */
    s_join(p, sizeof p, root, "/dev");
    if (mkdir(p, 0755) < 0) return "mkdir-dev";
    static const struct { const char *name; unsigned minor; } devs[] = {
        {"/dev/null", 3}, {"/dev/zero", 5}, {"/dev/random", 8}, {"/dev/urandom", 9}};
    for (unsigned i = 0; i < 4; i++) {
        s_join(p, sizeof p, root, devs[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(1, devs[i].minor)) < 0) return "mknod";
    }
    static const char *const links[] = {"/dev/fd", "/proc/self/fd", "/dev/stdin", "/proc/self/fd/0",
                                        "/dev/stdout", "/proc/self/fd/1", "/dev/stderr",
                                        "/proc/self/fd/2", "/dev/shm", "/tmp", 0};
    for (unsigned i = 0; links[i]; i += 2) {
        s_join(p, sizeof p, root, links[i]);
        if (symlink(links[i + 1], p) < 0) return "symlink-dev";
    }
    s_join(p, sizeof p, root, "/proc");
    if (mkdir(p, 0555) < 0) return "mkdir-proc";
    if (cfg->ns_flags & ENVRUN_NS_PID) {
        if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
            return "mount-proc";
    }
    s_join(p, sizeof p, root, "/work");
    if (bind_rw(cfg->work_src, p) < 0) return "bind-work";
    s_join(q, sizeof q, root, "/tmp");
    if (bind_rw(cfg->tmp_src, q) < 0) return "bind-tmp";
    if (chdir(root) < 0) return "chdir-root";
    if (syscall(SYS_pivot_root, ".", ".") < 0) return "pivot_root";
    if (umount2(".", MNT_DETACH) < 0) return "umount-old-root";
    if (chdir("/") < 0) return "chdir-new-root";
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0) return "remount-root-ro";
    return NULL;
}

static int write_str(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, s, s_len(s));
    close(fd);
    return n < 0 ? -1 : 0;
}

static void fmt_map(char *buf, unsigned id) {
    /* "id id 1\n" without printf */
    char num[16];
    int n = 0;
    do { num[n++] = (char)('0' + id % 10); id /= 10; } while (id);
    int k = 0;
    for (int rep = 0; rep < 2; rep++) {
        for (int i = n - 1; i >= 0; i--) buf[k++] = num[i];
        buf[k++] = ' ';
    }
    buf[k++] = '1';
    buf[k++] = '\n';
    buf[k] = 0;
}

/* A system call that returns -errno instead of setting errno (errno lives in the parent thread's
 * TLS, which a CLONE_VM child shares). */
static long raw_syscall4(long n, long a, long b, long c, long d) {
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
#else
    int saved = errno;
    long ret = syscall(n, a, b, c, d);
    if (ret < 0) ret = -errno;
    errno = saved;
    return ret;
#endif
}

/* "/proc/<pid><leaf>" without printf. */
static void fmt_proc(char *buf, int pid, const char *leaf) {
    char num[16];
    int n = 0, k = 0;
    do { num[n++] = (char)('0' + pid % 10); pid /= 10; } while (pid);
    const char *pre = "/proc/";
    while (*pre) buf[k++] = *pre++;
    while (n) buf[k++] = num[--n];
    while (*leaf) buf[k++] = *leaf++;
    buf[k] = 0;
}

/* The last steps before execve, shared by the job (init mode) and the zygote. Never returns. */
static void become_job(const envrun_spawn_config *cfg, int rfd, const struct child_ctx *ctx) {
    /* settle_fds already placed stdio at 0..2, keep_fd at 3 and the report pipe at rfd = 4. */
    int keep = cfg->keep_fd >= 0 ? 3 : -1;

    const envrun_rlimits *l = &cfg->limits;
    struct { int res; long long v; } lims[] = {
        {RLIMIT_CPU, l->cpu_sec}, {RLIMIT_AS, l->as_bytes}, {RLIMIT_FSIZE, l->fsize_bytes},
        {RLIMIT_NOFILE, l->nofile}, {RLIMIT_NPROC, l->nproc}, {RLIMIT_STACK, l->stack_bytes},
        {RLIMIT_CORE, l->core_bytes}};
    for (unsigned i = 0; i < sizeof lims / sizeof lims[0]; i++) {
        if (lims[i].v < 0) continue;
        struct rlimit rl = {(rlim_t)lims[i].v, (rlim_t)lims[i].v};
        if (syscall(SYS_prlimit64, 0, lims[i].res, &rl, NULL) < 0) fail(rfd, "setrlimit");
    }
    if (cfg->ns_flags & ENVRUN_NS_USER) {
        /* A user namespace of our own, made while still root (the zygote unshares here; a cold
         * job was cloned into one by pid 1). Root outside (the parent, or pid 1) writes the
         * maps: the job uid and gid map to themselves, nothing else is mapped. After the drop
         * below and execve the job holds no capability there, and none over the other
         * namespaces (owned by the initial user namespace). Nothing reads /proc/self here, so
         * the shared memory descriptor's "dumpable" flag never matters. */
        char c;
        if (!cfg->with_init) {
            if (unshare(CLONE_NEWUSER) < 0) fail(rfd, "unshare-user");
            report(rfd, REC_MAPS, "maps", 0);
        }
        if (read(ctx->maps_r, &c, 1) != 1) fail(rfd, "userns-maps");
    }
    /* Raw syscalls: glibc's setresuid would signal the parent's threads (shared memory). */
    if (syscall(SYS_setgroups, 0, NULL) < 0) fail(rfd, "setgroups");
    if (syscall(SYS_setresgid, cfg->gid, cfg->gid, cfg->gid) < 0) fail(rfd, "setresgid");
    if (syscall(SYS_setresuid, cfg->uid, cfg->uid, cfg->uid) < 0) fail(rfd, "setresuid");
    /* As the job uid, the owner of /work (in a fresh user namespace root has no say over it
     * until the maps exist). */
    if (chdir((cfg->ns_flags & ENVRUN_NS_MOUNT) ? "/work" : cfg->work_src) < 0) fail(rfd, "chdir-work");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(rfd, "no_new_privs");
    /* Every fd but 0, 1, 2 (and 3 for the zygote) closes at exec, the report pipe included. */
    if (syscall(SYS_close_range, keep >= 0 ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(rfd, "close_range");
    if (keep >= 0 && fcntl(3, F_SETFD, 0) < 0) fail(rfd, "keep-fd");
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) fail(rfd, "sigmask");
    if (cfg->filter) {
        struct sock_fprog prog = {
            .len = (unsigned short)(cfg->filter->length / sizeof(struct sock_filter)),
            .filter = (struct sock_filter *)cfg->filter->bytes};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) fail(rfd, "seccomp");
    }
    execve(cfg->path, cfg->argv, cfg->envp);
    fail(rfd, "execve");
}

static int job_main(void *arg) {
    struct child_ctx *ctx = arg;
    close(ctx->maps_w);
    close(ctx->exec_r);
    become_job(ctx->cfg, ctx->report_fd, ctx);
    return 127;
}

static int init_main(void *arg) {
    struct child_ctx *ctx = arg;
    const envrun_spawn_config *cfg = ctx->cfg;
    int rfd = ctx->report_fd;
    /* Default dispositions (the handler table is our own copy: no CLONE_SIGHAND). */
    for (int s = 1; s < 65; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigaction(s, &sa, NULL);
    }
    umask(0);
    /* Cold runs: the parent's thread stays blocked in envrun_supervise for the whole run, so if
     * the parent dies, so does the sandbox. (The warm worker exits on its control socket's EOF.) */
    if (cfg->with_init && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail(rfd, "pdeathsig");
    if (setsid() < 0) fail(rfd, "setsid");
    for (int i = 0; i < cfg->cgroup_fd_count; i++)
        if (write(cfg->cgroup_fds[i], "0", 1) < 0) fail(rfd, "join-cgroup");
    if (settle_fds(cfg, rfd, ctx->maps_r) < 0) fail(rfd, "settle-fds");
    rfd = 4;
    ctx->report_fd = 4;
    if (ctx->maps_r >= 0) ctx->maps_r = 5;
    if (cfg->ns_flags & ENVRUN_NS_MOUNT) {
        const char *step = build_root(cfg);
        if (step) fail(rfd, step);
    }
    if ((cfg->ns_flags & ENVRUN_NS_UTS) && sethostname("envrun", 6) < 0) fail(rfd, "sethostname");
    umask(022);
    if (!cfg->with_init) {
        become_job(cfg, rfd, ctx);
        return 127;
    }
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0) fail(rfd, "sync-pipes");
    ctx->exec_r = up[0];
    ctx->maps_r = down[0];
    ctx->maps_w = down[1];
    int userns = (cfg->ns_flags & ENVRUN_NS_USER) != 0;
    pid_t job = (pid_t)clone(job_main, ctx->job_stack_top, CLONE_VM | SIGCHLD | (userns ? CLONE_NEWUSER : 0), ctx);
    if (job < 0) fail(rfd, "clone-job");
    close(up[1]);
    close(down[0]);
    if (userns) {
        /* Usually done before the new job is even scheduled: it does not wait. */
        char path[64], map[48];
        fmt_proc(path, job, "/uid_map");
        fmt_map(map, cfg->uid);
        if (write_str(path, map) < 0) fail(rfd, "uid_map");
        fmt_proc(path, job, "/gid_map");
        fmt_map(map, cfg->gid);
        if (write_str(path, map) < 0) fail(rfd, "gid_map");
        if (write(down[1], "m", 1) != 1) fail(rfd, "userns-sync");
    }
    close(down[1]);
    /* EOF: the job has exec'd (its end was close-on-exec) or died after reporting a failure.
     * Tell the parent it may release the config. */
    char c;
    ssize_t got;
    do got = read(up[0], &c, 1);
    while (got < 0 && errno == EINTR);
    close(up[0]);
    report(rfd, REC_STARTED, "started", 0);
    /* From here on the parent is running again, and this process shares its memory (the
     * parent thread's errno included): only raw syscalls that leave errno alone. */
    struct record rec;
    memset(&rec, 0, sizeof rec);
    for (;;) {
        int st;
        struct rusage ru;
        long r = raw_syscall4(SYS_wait4, -1, (long)&st, __WALL, (long)&ru);
        if (r == job) {
            rec.kind = REC_STATUS;
            rec.status = st;
            rec.utime_us = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
            rec.stime_us = (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
            rec.maxrss_kb = ru.ru_maxrss;
            break;
        }
        if (r < 0 && r != -EINTR) break;
    }
    /* Kill and reap what the job left behind, drop our copies of its stdio (so the parent's
     * pipes reach EOF), then report: the report is the parent's "done", so the slow part of
     * our own exit (tearing down the mount and network namespaces) is off its path. */
    raw_syscall4(SYS_kill, -1, SIGKILL, 0, 0);
    while (raw_syscall4(SYS_wait4, -1, 0, __WALL, 0) > 0) {}
    for (int fd = 0; fd < 4; fd++) raw_syscall4(SYS_close, fd, 0, 0, 0);
    raw_syscall4(SYS_write, rfd, (long)&rec, sizeof rec, 0);
    raw_syscall4(SYS_exit, 0, 0, 0, 0);
    return 0;
}

static int spawn_locked(const envrun_spawn_config *cfg, envrun_spawn_result *out, char *err, size_t errlen);

int envrun_spawn(const envrun_spawn_config *cfg, envrun_spawn_result *out, char *err, size_t errlen) {
    int rc = spawn_locked(cfg, out, err, errlen);
    /* The child shared our memory descriptor until its execve, and its setresuid cleared the
     * descriptor's "dumpable" flag: give it back to this process. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    return rc;
}

static int spawn_locked(const envrun_spawn_config *cfg, envrun_spawn_result *out, char *err, size_t errlen) {
    out->pid = -1;
    out->pidfd = -1;
    out->report_fd = -1;
    out->stack = NULL;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    char *stack = mmap(NULL, 2 * STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        snprintf(err, errlen, "mmap-stack: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    struct child_ctx ctx = {cfg, pipefd[1], stack + 2 * STACK_SIZE, -1, -1, -1};
    int maps[2] = {-1, -1};
    if (!cfg->with_init && (cfg->ns_flags & ENVRUN_NS_USER)) {
        if (pipe2(maps, O_CLOEXEC) < 0) {
            snprintf(err, errlen, "pipe: %s", strerror(errno));
            close(pipefd[0]);
            close(pipefd[1]);
            munmap(stack, 2 * STACK_SIZE);
            return -1;
        }
        ctx.maps_r = maps[0];
    }
    int flags = CLONE_VM | SIGCHLD;
    if (cfg->ns_flags & ENVRUN_NS_PID) flags |= CLONE_NEWPID;
    if (cfg->ns_flags & ENVRUN_NS_NET) flags |= CLONE_NEWNET;
    if (cfg->ns_flags & ENVRUN_NS_MOUNT) flags |= CLONE_NEWNS;
    if (cfg->ns_flags & ENVRUN_NS_IPC) flags |= CLONE_NEWIPC;
    if (cfg->ns_flags & ENVRUN_NS_UTS) flags |= CLONE_NEWUTS;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int saved_errno = errno;
    pid_t pid = (pid_t)clone(init_main, stack + STACK_SIZE, flags, &ctx);
    int clone_errno = errno;
    errno = saved_errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(pipefd[1]);
    if (maps[0] >= 0) close(maps[0]);
    if (pid < 0) {
        if (maps[1] >= 0) close(maps[1]);
        snprintf(err, errlen, "clone: %s", strerror(clone_errno));
        close(pipefd[0]);
        munmap(stack, 2 * STACK_SIZE);
        return -1;
    }
    out->pid = pid;
    out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    out->report_fd = pipefd[0];
    out->stack = stack;
    /* Wait until the child no longer reads cfg: the "started" record (init mode), or EOF at
     * execve (zygote mode), or a failure record. The zygote asks for its maps on the way. */
    struct record r;
    int rc = 0;
    for (;;) {
        ssize_t n;
        do n = read(pipefd[0], &r, sizeof r);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof r) break; /* EOF: exec'd */
        if (r.kind == REC_MAPS && maps[1] >= 0) {
            char path[64], map[48];
            fmt_proc(path, pid, "/uid_map");
            fmt_map(map, cfg->uid);
            int ok = write_str(path, map) == 0;
            fmt_proc(path, pid, "/gid_map");
            fmt_map(map, cfg->gid);
            ok = ok && write_str(path, map) == 0;
            if (ok) (void)!write(maps[1], "m", 1);
            close(maps[1]); /* on failure the child reads EOF and reports "userns-maps" */
            maps[1] = -1;
            continue;
        }
        if (r.kind == REC_FAIL) {
            r.step[sizeof r.step - 1] = 0;
            snprintf(err, errlen, "%s: %s", r.step, strerror(r.err_no));
            out->setup_errno = r.err_no;
            rc = 1; /* set-up failure inside the child: the caller reaps pid */
        }
        break; /* REC_STARTED (init mode): the job has exec'd */
    }
    if (maps[1] >= 0) close(maps[1]);
    return rc;
}

int envrun_read_record(int fd, envrun_report *rep) {
    memset(rep, 0, sizeof *rep);
    struct record r;
    ssize_t n;
    do n = read(fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof r) return 0;
    rep->kind = r.kind == REC_STATUS ? 1 : r.kind == REC_FAIL ? 2 : 0;
    rep->status = r.status;
    rep->utime_us = r.utime_us;
    rep->stime_us = r.stime_us;
    rep->maxrss_kb = r.maxrss_kb;
    rep->err_no = r.err_no;
    memcpy(rep->step, r.step, sizeof rep->step);
    rep->step[sizeof rep->step - 1] = 0;
    return 1;
}

int envrun_read_report(int fd, envrun_report *rep) {
    memset(rep, 0, sizeof *rep);
    struct record r;
    for (;;) {
        ssize_t n = read(fd, &r, sizeof r);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (n != (ssize_t)sizeof r) continue;
        if (r.kind == REC_FAIL && rep->kind != 2) {
            rep->kind = 2;
            rep->err_no = r.err_no;
            memcpy(rep->step, r.step, sizeof rep->step);
            rep->step[sizeof rep->step - 1] = 0;
        } else if (r.kind == REC_STATUS && rep->kind != 2) {
            rep->kind = 1;
            rep->status = r.status;
            rep->utime_us = r.utime_us;
            rep->stime_us = r.stime_us;
            rep->maxrss_kb = r.maxrss_kb;
        }
    }
    return 0;
}

void envrun_spawn_release(envrun_spawn_result *res) {
    if (res->report_fd >= 0) close(res->report_fd);
    if (res->pidfd >= 0) close(res->pidfd);
    if (res->stack) munmap(res->stack, 2 * STACK_SIZE);
    res->report_fd = -1;
    res->pidfd = -1;
    res->stack = NULL;
}

int envrun_reap(pid_t pid, long long *utime_us, long long *stime_us, long long *maxrss_kb) {
    int st;
    struct rusage ru;
    pid_t r;
    do r = (pid_t)wait4(pid, &st, __WALL, &ru);
    while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    if (utime_us) *utime_us = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
    if (stime_us) *stime_us = (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    if (maxrss_kb) *maxrss_kb = ru.ru_maxrss;
    return st;
}

int envrun_wifexited(int status) { return WIFEXITED(status); }
int envrun_wexitstatus(int status) { return WEXITSTATUS(status); }
int envrun_wifsignaled(int status) { return WIFSIGNALED(status); }
int envrun_wtermsig(int status) { return WTERMSIG(status); }
