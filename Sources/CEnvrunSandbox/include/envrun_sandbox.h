#ifndef ENVRUN_SANDBOX_H
#define ENVRUN_SANDBOX_H
/*
 * C shim of the envrun sandbox: the only code that calls clone, mount, seccomp and execve.
 *
 * Prepare in the parent, apply in the child: the parent compiles the seccomp filter once
 * (envrun_seccomp_compile), opens the per-slot cgroup files, and fills an envrun_spawn_config.
 * envrun_spawn clones a child that uses only raw, async-signal-safe syscalls; a set-up failure
 * comes back as (step name, errno) through an O_CLOEXEC pipe.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

int envrun_sandbox_abi_version(void);

/* ---- seccomp ---------------------------------------------------------------------------- */

enum {
    ENVRUN_ACT_ALLOW = 0,
    ENVRUN_ACT_ERRNO = 1, /* fail with `errno_value` */
    ENVRUN_ACT_KILL = 2,  /* SECCOMP_RET_KILL_PROCESS: verdict security_violation */
};
enum { ENVRUN_CMP_EQ = 0, ENVRUN_CMP_NE = 1, ENVRUN_CMP_MASKED_EQ = 2 };

typedef struct envrun_seccomp_cond {
    int arg_index;
    int cmp;
    uint64_t value;
    uint64_t mask; /* for ENVRUN_CMP_MASKED_EQ */
} envrun_seccomp_cond;

typedef struct envrun_seccomp_rule {
    const char *syscall; /* name as libseccomp knows it */
    int action;
    int errno_value;
    int cond_count; /* 0: the whole syscall; else all conditions must hold (AND) */
    envrun_seccomp_cond conds[3];
} envrun_seccomp_rule;

/* A compiled classic-BPF program (array of struct sock_filter, 8 bytes each). */
typedef struct envrun_bpf {
    unsigned char *bytes;
    size_t length;
} envrun_bpf;

/* Compiles rules into BPF bytes (malloc'd; free with envrun_bpf_free). Returns 0, or -1 with a
 * message in err (unknown syscall names are reported, not ignored). */
int envrun_seccomp_compile(int default_action, int default_errno, const envrun_seccomp_rule *rules,
                           size_t count, envrun_bpf *out, char *err, size_t errlen);
void envrun_bpf_free(envrun_bpf *bpf);

/* ---- spawn ------------------------------------------------------------------------------ */

enum {
    ENVRUN_NS_USER = 1 << 0, /* a user namespace entered as the last step (job uid maps to itself) */
    ENVRUN_NS_PID = 1 << 1,
    ENVRUN_NS_NET = 1 << 2,
    ENVRUN_NS_MOUNT = 1 << 3, /* also: fresh root, pivot_root */
    ENVRUN_NS_IPC = 1 << 4,
    ENVRUN_NS_UTS = 1 << 5,
};

typedef struct envrun_rlimits {
    long long cpu_sec;     /* <0: leave unchanged. soft = hard */
    long long as_bytes;
    long long fsize_bytes;
    long long nofile;
    long long nproc;
    long long stack_bytes;
    long long core_bytes;
} envrun_rlimits;

typedef struct envrun_spawn_config {
    const char *path;   /* absolute path inside the sandbox root */
    char *const *argv;
    char *const *envp;
    int stdin_fd, stdout_fd, stderr_fd; /* parent fds that become 0, 1, 2 */
    int keep_fd;        /* >= 0: becomes fd 3 in the job (zygote control socket) */
    int ns_flags;
    /* 1: pid 1 of the namespace is a tiny C init that reaps and reports the job's status;
     * 0: the program itself is pid 1 (the warm-pool zygote). */
    int with_init;
    uid_t uid;
    gid_t gid;
    const char *root_dir;  /* an empty host dir used as the mount point of the new root */
    const char *work_src;  /* host dir bound read-write at /work (also the cwd) */
    const char *tmp_src;   /* host dir bound read-write at /tmp */
    const char *const *ro_paths; /* NULL-terminated host paths bound read-only at the same place */
    const char *const *symlinks; /* NULL-terminated pairs: link path, target */
    const int *cgroup_fds; /* cgroup.procs fds opened O_WRONLY by the parent; "0" is written */
    int cgroup_fd_count;
    envrun_rlimits limits;
    const envrun_bpf *filter; /* NULL: no seccomp */
    /* >= 0 (with ENVRUN_NS_NET): pid 1 joins this network namespace (the slot's own, made once by
     * envrun_netns_create) instead of creating one; -1: a new one per sandbox. */
    int net_ns_fd;
    /* >= 0 (with ENVRUN_NS_MOUNT, init mode): pid 1 enters this mount namespace (the slot's root,
     * built once by envrun_root_ns_create), unshares a private copy of it and mounts the /proc of
     * its pid namespace there, instead of building a root from scratch; -1: build one per run. */
    int mnt_ns_fd;
    /* Init mode: an fd (O_CLOEXEC) of the envrun-init program (Sandbox/init/envrun-init.c), which
     * pid 1 execs once the job is cloned, so that no process of the run shares this process's
     * memory (see envrun_spawn.c). Required: pid 1 fails with "no-envrun-init" without it. */
    int init_fd;
} envrun_spawn_config;

/* Result of envrun_spawn. For with_init=1 the parent later gets the job's status on report_fd. */
typedef struct envrun_spawn_result {
    pid_t pid;     /* host pid of the sandbox's pid 1 */
    int pidfd;     /* pidfd of pid, or -1 */
    int report_fd; /* read end of the report pipe (O_CLOEXEC) */
    int setup_errno;
    void *stack;   /* the child's stack: released by envrun_spawn_release after pid is reaped */
} envrun_spawn_result;

/* A new, empty network namespace (only a downed loopback): an O_CLOEXEC fd, or -1 with the
 * reason in err. Made on a short-lived thread, so no thread of this process ever lives in it. */
int envrun_netns_create(char *err, size_t errlen);

/* Builds a sandbox root (cfg's root_dir, work_src, tmp_src, ro_paths, symlinks; /proc left
 * empty) in a new mount namespace, once per slot, and returns an O_CLOEXEC fd of that namespace,
 * or -1 with "step: reason" in err. */
int envrun_root_ns_create(const envrun_spawn_config *cfg, char *err, size_t errlen);

/* Starts the sandbox. Returns 0 when the program was started; 1 when a set-up step inside the
 * child failed ("step: strerror" in err; pid must still be reaped); -1 when the parent could not
 * even clone (err says why). Blocks only for the set-up (the child uses cfg until then). */
int envrun_spawn(const envrun_spawn_config *cfg, envrun_spawn_result *out, char *err, size_t errlen);
/* Closes the result's fds and frees the child's stack. Call after pid has been reaped. */
void envrun_spawn_release(envrun_spawn_result *res);

/* ---- supervise -------------------------------------------------------------------------- */

enum {
    ENVRUN_END_EXITED = 0,     /* the done fd fired */
    ENVRUN_END_WALL = 1,       /* wall timeout: the caller's kill target was SIGKILLed */
    ENVRUN_END_OUTPUT = 2,     /* output cap exceeded: killed */
};

typedef struct envrun_buffer {
    char *data;
    size_t length;
    size_t capacity;
} envrun_buffer;

typedef struct envrun_supervise_io {
    int done_fd;      /* pidfd (cold) or control socket (warm): readable when the job is over */
    pid_t kill_pid;   /* SIGKILLed on wall timeout or output overflow */
    int stdin_fd;     /* write end, closed when all stdin is written (or -1) */
    const char *stdin_data;
    size_t stdin_length;
    int stdout_fd, stderr_fd; /* read ends; closed on return */
    size_t output_cap;        /* bytes kept per stream */
    long long wall_ms;
    /* out */
    envrun_buffer out, err;
    int truncated;
    int end;
    double wall_elapsed_ms;
} envrun_supervise_io;

/* Pumps stdin, drains stdout/stderr until done_fd fires and both pipes reach EOF. Blocking:
 * call from a dedicated thread. Returns 0, or -1 with errno on an internal failure. */
int envrun_supervise(envrun_supervise_io *io);
void envrun_buffer_free(envrun_buffer *b);

/* The report pid 1 (init mode) sends when its job ends, or a set-up failure. */
typedef struct envrun_report {
    int kind;              /* 0 = none (EOF), 1 = job status, 2 = set-up failure */
    int status;            /* raw wait status of the job */
    long long utime_us, stime_us;
    long long maxrss_kb;
    int err_no;
    char step[48];
} envrun_report;

/* Reads the report pipe to EOF (blocking). */
int envrun_read_report(int fd, envrun_report *rep);
/* Reads one record (the job's status once the pipe is readable). Returns 1, or 0 at EOF. */
int envrun_read_record(int fd, envrun_report *rep);
/* Reaps pid (blocking). Returns the raw status, or -1. */
int envrun_reap(pid_t pid, long long *utime_us, long long *stime_us, long long *maxrss_kb);

/* ---- small helpers Swift cannot express (macros) or should not hand-roll ----------------- */
int envrun_wifexited(int status);
int envrun_wexitstatus(int status);
int envrun_wifsignaled(int status);
int envrun_wtermsig(int status);

/* Removes everything below dir (not dir itself), never following symlinks. Returns 0 or -1. */
int envrun_wipe_dir(const char *dir);
/* Compile once, run many: makes every regular file in work root-owned and read-only (mode & 0555;
 * the job cannot change them) and hard-links it into keep. Other entries are not kept. */
int envrun_freeze_dir(const char *work, const char *keep);
/* Hard-links every file of keep back into work (after work was wiped). */
int envrun_restore_dir(const char *keep, const char *work);
/* Mounts a tmpfs (size in bytes, inode cap) at dir, owned by uid:gid, mode 0700. */
int envrun_mount_tmpfs(const char *dir, long long size_bytes, long long inodes, uid_t uid, gid_t gid);
int envrun_umount(const char *dir);
/* Writes a file (O_CREAT|O_TRUNC|O_NOFOLLOW) and chowns it. */
int envrun_write_file(const char *path, const char *data, size_t length, uid_t uid, gid_t gid, int mode);
/* Number of open fds of this process (for leak tests). */
int envrun_count_fds(void);
/* Sends a message with up to 3 fds over a unix socket. */
int envrun_send_fds(int sock, const void *data, size_t length, const int *fds, int nfds);
/* 1 when a child can unshare these namespaces (err says why not). */
int envrun_probe_namespaces(int ns_flags, char *err, size_t errlen);
void envrun_ignore_sigpipe(void);
int envrun_gettid(void);
/* Reads a small kernel file from offset 0 (cgroup files kept open): the first integer, or with a
 * key the integer after "key " at the start of a line; -1 when absent. */
long long envrun_read_int(int fd, const char *key);
/* Reads whitespace-separated ids (a cgroup's tasks) from offset 0; count stored, or -1. */
int envrun_read_ids(int fd, int *ids, int cap);
/* Names the calling thread (first 15 bytes) for ps, top and perf. */
void envrun_set_thread_name(const char *name);
int envrun_pipe_cloexec(int fds[2]);
/* AF_UNIX SOCK_SEQPACKET pair, close-on-exec (warm worker control channel). */
int envrun_socketpair_cloexec(int fds[2]);
long envrun_recv(int sock, void *buf, size_t length);
long envrun_recv_timeout(int sock, void *buf, size_t length, int timeout_ms);
int envrun_write_all(int fd, const char *data, size_t length);

#ifdef __cplusplus
}
#endif
#endif
