/* The fresh root of a sandbox, built by pid 1 in its new mount namespace (raw syscalls only):
 * a small tmpfs, read-only binds of the host paths in Sandbox/limits.json, four device nodes,
 * a /proc of the new pid namespace (hidepid=2), the slot's /work and /tmp, then pivot_root and
 * the old root detached. Plus the tiny string helpers the child uses instead of libc's. */
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
#define STACK_SIZE (256 * 1024)

size_t envrun_s_len(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* dst = a + b, truncated to cap. */
void envrun_s_join(char *dst, size_t cap, const char *a, const char *b) {
    size_t i = 0;
    for (; *a && i + 1 < cap; a++) dst[i++] = *a;
    for (; *b && i + 1 < cap; b++) dst[i++] = *b;
    dst[i] = 0;
}

/* mkdir -p for a path (each component created with mode 0755). */
static int mkdir_p(const char *path) {
    char buf[4096];
    size_t n = envrun_s_len(path);
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
    envrun_s_join(dst, sizeof dst, root, src);
    struct stat st;
    if (stat(src, &st) < 0) return -1;
    if (S_ISDIR(st.st_mode)) {
        if (mkdir_p(dst) < 0) return -1;
    } else {
        char parent[4096];
        size_t n = envrun_s_len(dst);
        memcpy(parent, dst, n + 1);
        while (n > 0 && parent[n] != '/') n--;
        parent[n] = 0;
        if (mkdir_p(parent) < 0) return -1;
        int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
        if (fd < 0) return -1;
        close(fd);
    }
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
    /* Read-only, nosuid, nodev for the bind and every mount below it: a remount changes only the
     * top mount, and a submount of a bound host path (say a tmpfs under /usr) would keep its own
     * flags, writable included. mount_setattr (Linux 5.12) with AT_RECURSIVE covers the tree; raw
     * syscall, so the child needs no libc wrapper. Kernels without it fall back to the remount. */
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof attr) == 0) return 0;
    if (errno != ENOSYS) return -1;
    return mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

static int bind_rw(const char *src, const char *dst) {
    if (mkdir(dst, 0755) < 0 && errno != EEXIST) return -1;
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) return -1;
    return mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL);
}

const char *envrun_build_root(const envrun_spawn_config *cfg) {
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
            envrun_s_join(p, sizeof p, root, l[0]);
            if (symlink(l[1], p) < 0 && errno != EEXIST) return "symlink";
        }
    /* /dev: four character devices and the fd links. */
    envrun_s_join(p, sizeof p, root, "/dev");
    if (mkdir(p, 0755) < 0) return "mkdir-dev";
    static const struct { const char *name; unsigned minor; } devs[] = {
        {"/dev/null", 3}, {"/dev/zero", 5}, {"/dev/random", 8}, {"/dev/urandom", 9}};
    for (unsigned i = 0; i < 4; i++) {
        envrun_s_join(p, sizeof p, root, devs[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(1, devs[i].minor)) < 0) return "mknod";
    }
    static const char *const links[] = {"/dev/fd", "/proc/self/fd", "/dev/stdin", "/proc/self/fd/0",
                                        "/dev/stdout", "/proc/self/fd/1", "/dev/stderr",
                                        "/proc/self/fd/2", "/dev/shm", "/tmp", 0};
    for (unsigned i = 0; links[i]; i += 2) {
        envrun_s_join(p, sizeof p, root, links[i]);
        if (symlink(links[i + 1], p) < 0) return "symlink-dev";
    }
    envrun_s_join(p, sizeof p, root, "/proc");
    if (mkdir(p, 0555) < 0) return "mkdir-proc";
    if (cfg->ns_flags & ENVRUN_NS_PID) {
        if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
            return "mount-proc";
    }
    envrun_s_join(p, sizeof p, root, "/work");
    if (bind_rw(cfg->work_src, p) < 0) return "bind-work";
    envrun_s_join(q, sizeof q, root, "/tmp");
    if (bind_rw(cfg->tmp_src, q) < 0) return "bind-tmp";
    if (chdir(root) < 0) return "chdir-root";
    if (syscall(SYS_pivot_root, ".", ".") < 0) return "pivot_root";
    if (umount2(".", MNT_DETACH) < 0) return "umount-old-root";
    if (chdir("/") < 0) return "chdir-new-root";
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0) return "remount-root-ro";
    return NULL;
}

int envrun_write_str(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, s, envrun_s_len(s));
    close(fd);
    return n < 0 ? -1 : 0;
}

void envrun_fmt_uint(char *buf, unsigned v) {
    char num[16];
    int n = 0, k = 0;
    do { num[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) buf[k++] = num[--n];
    buf[k] = 0;
}

void envrun_fmt_map(char *buf, unsigned id) {
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
long envrun_raw_syscall4(long n, long a, long b, long c, long d) {
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
void envrun_fmt_proc(char *buf, int pid, const char *leaf) {
    char num[16];
    int n = 0, k = 0;
    do { num[n++] = (char)('0' + pid % 10); pid /= 10; } while (pid);
    const char *pre = "/proc/";
    while (*pre) buf[k++] = *pre++;
    while (n) buf[k++] = num[--n];
    while (*leaf) buf[k++] = *leaf++;
    buf[k] = 0;
}
