/*
 * envrun_spawn: clone the sandbox's pid 1 on its own stack and set the sandbox up in it.
 *
 * The child shares the parent's memory (CLONE_VM) to avoid copying the parent's page tables, so
 * everything it does is a raw, async-signal-safe syscall on its own stack: no malloc, no locks,
 * no libseccomp (the filter was compiled by the parent). Failures are reported as
 * (step name, errno) records on an O_CLOEXEC pipe.
 *
 * with_init = 1 (cold runs): pid 1 is this C code. It clones the job (CLONE_VM, own stack, new
 * user namespace), builds the mount namespace meanwhile, writes the job's uid/gid maps, lets it
 * go, waits for its execve, reaps every process that ends up as its
 * child, and when the job is reaped writes the job's status and rusage to the pipe and exits -
 * which kills whatever the job left behind in the pid namespace.
 * with_init = 0 (warm-pool zygote): the program itself becomes pid 1 after the same set-up.
 */
#define _GNU_SOURCE
#include "envrun_child.h"

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


struct child_ctx {
    const envrun_spawn_config *cfg;
    int report_fd;
    char *job_stack_top;
    int maps_r;     /* the job reads one byte here once its uid/gid maps are written */
    int maps_w;     /* parent (zygote mode) or pid 1 (init mode) writes it */
    int exec_r;     /* init mode: pid 1 sees EOF here when the job has exec'd */
    int req_r;      /* init mode: the job asks for its maps here (one byte)... */
    int req_w;      /* ...by writing this end */
};

/* Makes src[i] fd i for every i < n (a negative entry closes i) and closes every fd >= n; the
 * placed fds are inheritable (dup2 clears close-on-exec). */
static int arrange_fds(const int *src, int n) {
    int tmp[12];
    for (int i = 0; i < n; i++) {
        tmp[i] = -1;
        if (src[i] < 0) continue;
        tmp[i] = fcntl(src[i], F_DUPFD, 100);
        if (tmp[i] < 0) return -1;
    }
    for (int i = 0; i < n; i++) {
        if (tmp[i] < 0) close(i);
        else if (dup2(tmp[i], i) < 0) return -1;
    }
    return (int)syscall(SYS_close_range, n, ~0U, 0);
}

/* After this, pid 1 holds only 0, 1, 2 (the job's stdio), 3 (keep_fd, if any), 4 (the report
 * pipe, close-on-exec), 5 (zygote mode: the "maps written" pipe) and 6 (init mode: envrun-init,
 * close-on-exec). pid 1 must not keep copies of the parent's other fds (for example another run's
 * stdin pipe, which would otherwise never see EOF). */
static int settle_fds(const envrun_spawn_config *cfg, int rfd, int maps_r) {
    int src[7] = {cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd, cfg->keep_fd, rfd, maps_r,
                  cfg->with_init ? cfg->init_fd : -1};
    if (arrange_fds(src, 7) < 0) return -1;
    if (fcntl(4, F_SETFD, FD_CLOEXEC) < 0) return -1;
    if (maps_r >= 0 && fcntl(5, F_SETFD, FD_CLOEXEC) < 0) return -1;
    if (cfg->with_init && fcntl(6, F_SETFD, FD_CLOEXEC) < 0) return -1;
    return 0;
}

int envrun_sandbox_abi_version(void) { return 1; }

static void report(int fd, int kind, const char *step, int err_no) {
    struct record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.err_no = err_no;
    size_t n = envrun_s_len(step);
    if (n >= sizeof r.step) n = sizeof r.step - 1;
    memcpy(r.step, step, n);
    (void)!write(fd, &r, sizeof r);
}

static void fail(int fd, const char *step) {
    report(fd, REC_FAIL, step, errno);
    syscall(SYS_exit, 127);
    for (;;) {}
}

/* Cold runs with a slot root: pid 1 is cloned without CLONE_NEWNS and enters that root itself.
 * Both sides must agree, or envrun_build_root would run in the caller's mount namespace. */
static int uses_slot_root(const envrun_spawn_config *cfg) {
    return (cfg->ns_flags & ENVRUN_NS_MOUNT) && cfg->with_init && cfg->mnt_ns_fd >= 0;
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
    umask(022);
    if (cfg->with_init && !uses_slot_root(cfg)) {
        /* Wait for pid 1: root built (EOF: pid 1 failed and reported). With the slot's root
         * there is nothing to wait for: the job was cloned into it. */
        char go;
        if (read(ctx->maps_r, &go, 1) != 1) fail(rfd, "wait-for-init");
    }
    /* Raw syscalls: glibc's setresuid would signal the parent's threads (shared memory). */
    if (syscall(SYS_setgroups, 0, NULL) < 0) fail(rfd, "setgroups");
    if (syscall(SYS_setresgid, cfg->gid, cfg->gid, cfg->gid) < 0) fail(rfd, "setresgid");
    if (cfg->ns_flags & ENVRUN_NS_USER) {
        /* A user namespace of our own, made as the slot uid (the saved uid stays 0 until the last
         * setresuid): a namespace's owner is charged for what is made inside it (inotify
         * instances and watches, queued signals, ...), so a namespace made by root would let a
         * job spend root's host-wide quotas. Root outside (pid 1, by then envrun-init, or the
         * parent for the zygote) writes the maps: the job uid and gid map to themselves, nothing
         * else is mapped. After the drop below and execve the job holds no capability there, and
         * none over the other namespaces (owned by the initial user namespace). A host that
         * refuses unprivileged user namespaces gets one made as root, as before. */
        if (syscall(SYS_setresuid, cfg->uid, cfg->uid, 0) < 0) fail(rfd, "setresuid");
        if (unshare(CLONE_NEWUSER) < 0) {
            if (syscall(SYS_setresuid, 0, 0, 0) < 0 || unshare(CLONE_NEWUSER) < 0) fail(rfd, "unshare-user");
        }
        if (!cfg->with_init) {
            char c;
            report(rfd, REC_MAPS, "maps", 0);
            if (read(ctx->maps_r, &c, 1) != 1) fail(rfd, "userns-maps");
        }
    }
    if (cfg->with_init) {
        /* Always (user namespace or not) wait for envrun-init's word: it writes the maps when there
         * is a namespace, and its word proves pid 1 has exec'd it, so the job never runs while pid
         * 1 still shares envrun's memory. */
        char c;
        if (write(ctx->req_w, "u", 1) != 1) fail(rfd, "init-ask");
        if (read(ctx->maps_r, &c, 1) != 1) fail(rfd, "init-answer");
    }
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
    close(ctx->req_r);
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
    /* The slot's network namespace, reused run after run: creating one costs ~0.5 ms here, and the
     * kernel's teardown of each one more. Nothing a job does outlives it: the job holds no
     * capability over it (its user namespace does not own it), seccomp allows only AF_UNIX
     * sockets, and every process of the run is dead before the slot's next run starts. */
    if (cfg->net_ns_fd >= 0 && setns(cfg->net_ns_fd, CLONE_NEWNET) < 0) fail(rfd, "setns-net");
    int slot_root = uses_slot_root(cfg);
    if (slot_root) {
        /* The slot's prebuilt root: enter it, take a private copy for this run (what the run
         * mounts, /proc, dies with it; the slot's root stays as built) and mount the /proc of this
         * pid namespace. The job is cloned after this, into the copy. */
        if (setns(cfg->mnt_ns_fd, CLONE_NEWNS) < 0) fail(rfd, "setns-mnt");
        if (unshare(CLONE_NEWNS) < 0) fail(rfd, "unshare-mnt");
        if ((cfg->ns_flags & ENVRUN_NS_PID) &&
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
            fail(rfd, "mount-proc");
        if (chdir("/") < 0) fail(rfd, "chdir-root");
    }
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
    if (cfg->with_init && cfg->init_fd < 0) {
        errno = EBADF;
        fail(rfd, "no-envrun-init");
    }
    pid_t job = -1;
    int up[2] = {-1, -1}, down[2] = {-1, -1}, req[2] = {-1, -1};
    int userns = (cfg->ns_flags & ENVRUN_NS_USER) != 0;
    if (cfg->with_init) {
        /* The job blocks until we say "go", with its root ready. With the slot's root it is
         * cloned into our copy of it; without, it is cloned before we build one (pivot_root moves
         * its root too: same mount namespace), so that its wait for a CPU (here up to ~10 ms
         * under load) overlaps the build. */
        if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0 || pipe2(req, O_CLOEXEC) < 0)
            fail(rfd, "sync-pipes");
        ctx->exec_r = up[0];
        ctx->maps_r = down[0];
        ctx->maps_w = down[1];
        ctx->req_r = req[0];
        ctx->req_w = req[1];
        job = (pid_t)clone(job_main, ctx->job_stack_top, CLONE_VM | SIGCHLD, ctx);
        if (job < 0) fail(rfd, "clone-job");
        close(up[1]);
        close(down[0]);
        close(req[1]);
    }
    if ((cfg->ns_flags & ENVRUN_NS_MOUNT) && !slot_root) {
        const char *step = envrun_build_root(cfg);
        if (step) fail(rfd, step);
    }
    if ((cfg->ns_flags & ENVRUN_NS_UTS) && sethostname("envrun", 6) < 0) fail(rfd, "sethostname");
    umask(022);
    if (!cfg->with_init) {
        become_job(cfg, rfd, ctx);
        return 127;
    }
    /* Become envrun-init (Sandbox/init/envrun-init.c) before the job may run a single
     * instruction of its own: until this execve we share envrun's memory, and the memory
     * cgroup's OOM killer, which kills every process sharing its victim's memory, would take
     * envrun with us. envrun-init writes the job's maps (the job waits for them), reports
     * "started" once the job has exec'd, reaps, and reports the job's status. */
    char a_job[16], a_uid[16], a_gid[16];
    envrun_fmt_uint(a_job, (unsigned)job);
    envrun_fmt_uint(a_uid, cfg->uid);
    envrun_fmt_uint(a_gid, cfg->gid);
    char *const init_argv[] = {"envrun-init", a_job, a_uid, a_gid, userns ? "1" : "0",
                               (cfg->ns_flags & ENVRUN_NS_IPC) ? "1" : "0", NULL};
    char *const init_envp[] = {NULL};
    int layout[9] = {-1, -1, -1, -1, rfd, up[0], req[0], down[1], 6};
    if (!slot_root && write(down[1], "g", 1) != 1) fail(rfd, "job-go");
    if (arrange_fds(layout, 9) < 0) fail(rfd, "init-fds");
    if (fcntl(8, F_SETFD, FD_CLOEXEC) < 0) fail(4, "init-fds");
    syscall(SYS_execveat, 8, "", init_argv, init_envp, AT_EMPTY_PATH);
    fail(4, "exec-init");
    return 127;
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
    struct child_ctx ctx = {cfg, pipefd[1], stack + 2 * STACK_SIZE, -1, -1, -1, -1, -1};
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
    if ((cfg->ns_flags & ENVRUN_NS_NET) && cfg->net_ns_fd < 0) flags |= CLONE_NEWNET;
    if ((cfg->ns_flags & ENVRUN_NS_MOUNT) && !uses_slot_root(cfg)) flags |= CLONE_NEWNS;
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
            envrun_fmt_proc(path, pid, "/uid_map");
            envrun_fmt_map(map, cfg->uid);
            int ok = envrun_write_str(path, map) == 0;
            envrun_fmt_proc(path, pid, "/gid_map");
            envrun_fmt_map(map, cfg->gid);
            ok = ok && envrun_write_str(path, map) == 0;
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


struct rootns_ctx {
    envrun_spawn_config cfg;
    int fd;
    int err_no;
    const char *step;
};

static int rootns_main(void *arg) {
    struct rootns_ctx *c = arg;
    /* Shares our fd table (CLONE_FILES): the fd opened here is the caller's. Opened before the
     * pivot: the namespace is the same object after it. */
    int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        c->err_no = errno;
        c->step = "open-mnt-ns";
        return 1;
    }
    umask(0); /* as in init_main: the device nodes are 0666 (no CLONE_FS: ours alone) */
    const char *step = envrun_build_root(&c->cfg);
    if (step) {
        c->err_no = errno;
        c->step = step;
        close(fd);
        return 1;
    }
    c->fd = fd;
    return 0;
}

int envrun_root_ns_create(const envrun_spawn_config *cfg, char *err, size_t errlen) {
    struct rootns_ctx c;
    memset(&c, 0, sizeof c);
    c.cfg = *cfg;
    c.cfg.ns_flags &= ~ENVRUN_NS_PID; /* no /proc yet: each run mounts its own */
    c.fd = -1;
    char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        snprintf(err, errlen, "mmap-stack: %s", strerror(errno));
        return -1;
    }
    /* CLONE_NEWNS always: envrun_build_root pivots the root of the namespace it runs in. */
    pid_t pid = (pid_t)clone(rootns_main, stack + STACK_SIZE, CLONE_VM | CLONE_FILES | CLONE_NEWNS | SIGCHLD, &c);
    if (pid < 0) {
        snprintf(err, errlen, "clone: %s", strerror(errno));
        munmap(stack, STACK_SIZE);
        return -1;
    }
    int st = 0;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
    munmap(stack, STACK_SIZE);
    if (c.fd < 0) snprintf(err, errlen, "%s: %s", c.step ? c.step : "root-ns", strerror(c.err_no));
    return c.fd;
}
