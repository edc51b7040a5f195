/* Small host-side helpers: work-dir wiping, tmpfs mounts, fd passing, probes. */
#define _GNU_SOURCE
#include "envrun_sandbox.h"

#include <dirent.h>
#include <poll.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


/* Removes every entry of the directory dfd refers to. Returns 1 when it is empty, 0 when it
 * stepped into a subdirectory (*dfd is then that subdirectory), -1 on an error it cannot pass. */
static int wipe_step(int *dfd) {
    int dup_fd = fcntl(*dfd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return -1;
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return -1;
    }
    rewinddir(d);
    int rc = 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (unlinkat(*dfd, e->d_name, 0) == 0) continue;
        if (errno != EISDIR && errno != EPERM) {
            rc = -1;
            break;
        }
        if (unlinkat(*dfd, e->d_name, AT_REMOVEDIR) == 0) continue;
        if (errno != ENOTEMPTY && errno != EEXIST && errno != EACCES && errno != EPERM) {
            rc = -1;
            break;
        }
        /* A non-empty directory: step into it (the job may have chmod'ed it: make it ours). */
        int sub = openat(*dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            rc = -1;
            break;
        }
        fchmod(sub, 0700);
        close(*dfd);
        *dfd = sub;
        rc = 0;
        break;
    }
    closedir(d);
    return rc;
}

/* Iterative, with no depth bound and two fds at most: step into the first non-empty
 * subdirectory, and from an emptied one back up through "..", where the next pass removes it.
 * Nothing of the job runs during a wipe (every process of the slot is dead), so no entry moves
 * under us; the total work is bounded by the slot tmpfs's inode cap. */
int envrun_wipe_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    long depth = 0;
    for (;;) {
        int r = wipe_step(&fd);
        if (r < 0) break;
        if (r == 0) {
            depth++;
            continue;
        }
        if (depth == 0) {
            close(fd);
            return 0;
        }
        int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (up < 0) break;
        close(fd);
        fd = up;
        depth--;
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Opens from (as a DIR stream) and to (an fd), both directories, never following links. */
static int open_dir_pair(const char *from, const char *to, DIR **from_dir, int *to_fd) {
    int f = open(from, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (f < 0) return -1;
    *to_fd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*to_fd < 0 || !(*from_dir = fdopendir(f))) {
        int e = errno;
        close(f);
        if (*to_fd >= 0) close(*to_fd);
        errno = e;
        return -1;
    }
    return 0;
}

int envrun_freeze_dir(const char *work, const char *keep) {
    DIR *d;
    int k;
    if (open_dir_pair(work, keep, &d, &k) < 0) return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = -1;
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue; /* ".", "..", dirs, links, fifos: not kept */
        /* Nothing of the job runs now (the compiler and its children are dead), so no race. */
        if (fchownat(dirfd(d), e->d_name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(dirfd(d), e->d_name, st.st_mode & 0555, 0) < 0 ||
            linkat(dirfd(d), e->d_name, k, e->d_name, 0) < 0)
            rc = -1;
    }
    closedir(d);
    close(k);
    return rc;
}

int envrun_restore_dir(const char *keep, const char *work) {
    DIR *d;
    int w;
    if (open_dir_pair(keep, work, &d, &w) < 0) return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (linkat(dirfd(d), e->d_name, w, e->d_name, 0) < 0) rc = -1;
    }
    closedir(d);
    close(w);
    return rc;
}

int envrun_mount_tmpfs(const char *dir, long long size_bytes, long long inodes, uid_t uid, gid_t gid) {
    char opts[160];
    snprintf(opts, sizeof opts, "size=%lld,nr_inodes=%lld,mode=0700,uid=%u,gid=%u", size_bytes, inodes,
             (unsigned)uid, (unsigned)gid);
    return mount("envrun-slot", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

int envrun_umount(const char *dir) { return umount2(dir, MNT_DETACH); }

int envrun_write_file(const char *path, const char *data, size_t length, uid_t uid, gid_t gid, int mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < length) {
        ssize_t w = write(fd, data + off, length - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, (mode_t)mode) < 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

int envrun_count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

int envrun_send_fds(int sock, const void *data, size_t length, const int *fds, int nfds) {
    if (nfds < 0 || nfds > 3) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {(void *)data, length};
    union {
        char buf[CMSG_SPACE(3 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)length ? 0 : -1;
}

/* Forks a throwaway child that unshares the given namespaces; 1 when it worked. */
int envrun_probe_namespaces(int ns_flags, char *err, size_t errlen) {
    int flags = 0;
    if (ns_flags & ENVRUN_NS_USER) flags |= CLONE_NEWUSER;
    if (ns_flags & ENVRUN_NS_PID) flags |= CLONE_NEWPID;
    if (ns_flags & ENVRUN_NS_NET) flags |= CLONE_NEWNET;
    if (ns_flags & ENVRUN_NS_MOUNT) flags |= CLONE_NEWNS;
    if (ns_flags & ENVRUN_NS_IPC) flags |= CLONE_NEWIPC;
    if (ns_flags & ENVRUN_NS_UTS) flags |= CLONE_NEWUTS;
    pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0) syscall(SYS_exit, 0);
    if (pid < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return 0;
    }
    int st;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
    return 1;
}

struct netns_req {
    int fd;
    int err_no;
};

static void *netns_thread(void *arg) {
    struct netns_req *r = arg;
    /* unshare(CLONE_NEWNET) moves only this thread, which ends right after: the namespace lives on
     * through the fd. */
    if (unshare(CLONE_NEWNET) < 0 || (r->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        r->err_no = errno;
    return NULL;
}

int envrun_netns_create(char *err, size_t errlen) {
    struct netns_req r = {-1, 0};
    pthread_t t;
    int rc = pthread_create(&t, NULL, netns_thread, &r);
    if (rc != 0) {
        snprintf(err, errlen, "pthread_create: %s", strerror(rc));
        return -1;
    }
    pthread_join(t, NULL);
    if (r.fd < 0) snprintf(err, errlen, "new network namespace: %s", strerror(r.err_no));
    return r.fd;
}

void envrun_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int envrun_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int envrun_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

long envrun_recv(int sock, void *buf, size_t length) {
    ssize_t n;
    do n = recv(sock, buf, length, 0);
    while (n < 0 && errno == EINTR);
    return (long)n;
}

int envrun_write_all(int fd, const char *data, size_t length) {
    size_t off = 0;
    while (off < length) {
        ssize_t w = write(fd, data + off, length - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

long envrun_recv_timeout(int sock, void *buf, size_t length, int timeout_ms) {
    struct pollfd p = {sock, POLLIN, 0};
    int r;
    do r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        if (r == 0) errno = ETIMEDOUT;
        return -1;
    }
    return envrun_recv(sock, buf, length);
}
/* The file from offset 0 into buf as a C string (at most cap - 1 bytes); length, or -1. */
static ssize_t pread_text(int fd, char *buf, size_t cap) {
    ssize_t n;
    do n = pread(fd, buf, cap - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0) buf[n] = 0;
    return n;
}

long long envrun_read_int(int fd, const char *key) {
    char buf[4096];
    if (pread_text(fd, buf, sizeof buf) <= 0) return -1;
    const char *p = buf;
    if (key) {
        size_t k = strlen(key);
        for (;;) {
            if (!strncmp(p, key, k) && p[k] == ' ') {
                p += k + 1;
                break;
            }
            p = strchr(p, '\n');
            if (!p) return -1;
            p++;
        }
    }
    if (*p < '0' || *p > '9') return -1;
    long long v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    return v;
}

int envrun_read_ids(int fd, int *ids, int cap) {
    char buf[8192];
    if (pread_text(fd, buf, sizeof buf) < 0) return -1;
    int count = 0;
    for (const char *p = buf; *p && count < cap;) {
        if (*p < '0' || *p > '9') {
            p++;
            continue;
        }
        int v = 0;
        while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
        ids[count++] = v;
    }
    return count;
}

int envrun_gettid(void) { return (int)syscall(SYS_gettid); }

void envrun_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
