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
 * Built by envrun with the system's C compiler (gcc -static) into its state directory; the C shim
 * execs it by fd (execveat), so it needs no path inside the sandbox root.
 *
 * argv: envrun-init <job pid> <uid> <gid> <userns 0|1>
 * fds:  4 report pipe to envrun (records, layout below), 5 read end that reaches EOF when the job
 *       has exec'd (or died), 6 read end on which the job asks (one byte) once it is ready to exec
 *       and has made its user namespace, 7 write end of the answer (maps written, go).
 *
 * It writes the job's maps (the job made its user namespace itself, as the slot uid, so the
 * namespace's kernel quotas are charged to that uid and not to root), says "started" once the job
 * has exec'd, reaps every process that ends up as its child, and when the job is reaped kills what
 * is left in the pid namespace, removes the run's SysV IPC objects, reports the job's status and
 * rusage, and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

/* Must match `struct record` in Sources/CEnvrunSandbox/envrun_child.h. */
enum { REC_STATUS = 1, REC_FAIL = 2, REC_STARTED = 3 };
struct record {
    int kind;
    int status;
    long long utime_us, stime_us, maxrss_kb;
    int err_no;
    char step[48];
};

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
    if (step) strncpy(r.step, step, sizeof r.step - 1);
    ssize_t n;
    do n = write(FD_REPORT, &r, sizeof r);
    while (n < 0 && errno == EINTR);
}

/* Removes every SysV object of the run's IPC namespace. The namespace itself is freed by the
 * kernel after we exit, on a work queue: until then a job's segments and queues would still be
 * charged to the slot's memory cgroup when the slot's next run starts. Removed here, they are
 * gone before the report. */
static void clear_sysv(void) {
    struct shm_info si;
    int max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&si);
    for (int i = 0; i <= max; i++) {
        struct shmid_ds ds;
        int id = shmctl(i, SHM_STAT, &ds);
        if (id >= 0) shmctl(id, IPC_RMID, NULL);
    }
    struct msginfo mi;
    max = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&mi);
    for (int i = 0; i <= max; i++) {
        struct msqid_ds ds;
        int id = msgctl(i, MSG_STAT, &ds);
        if (id >= 0) msgctl(id, IPC_RMID, NULL);
    }
    struct seminfo sm;
    max = semctl(0, 0, SEM_INFO, &sm);
    for (int i = 0; i <= max; i++) {
        struct semid_ds ds;
        int id = semctl(i, 0, SEM_STAT, &ds);
        if (id >= 0) semctl(id, 0, IPC_RMID);
    }
}

static void kill_all_and_exit(void) {
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR) {}
    _exit(0);
}

static void fail(const char *step) {
    send_record(REC_FAIL, 0, NULL, step, errno);
    kill_all_and_exit();
}

static long parse(const char *s) {
    long v = 0;
    if (!s || !*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int write_map(pid_t job, const char *leaf, long id) {
    char path[64], map[64];
    int n = 0;
    /* snprintf is fine here: this is an ordinary process with its own memory. */
    n = snprintf(path, sizeof path, "/proc/%d/%s", (int)job, leaf);
    if (n <= 0 || n >= (int)sizeof path) return -1;
    n = snprintf(map, sizeof map, "%ld %ld 1\n", id, id);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t w = write(fd, map, (size_t)n);
    close(fd);
    return w == n ? 0 : -1;
}

static int read_byte(int fd, char *c) {
    ssize_t n;
    do n = read(fd, c, 1);
    while (n < 0 && errno == EINTR);
    return (int)n;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        errno = EINVAL;
        fail("init-args");
    }
    pid_t job = (pid_t)parse(argv[1]);
    long uid = parse(argv[2]), gid = parse(argv[3]), userns = parse(argv[4]);
    if (job <= 0 || uid < 0 || gid < 0 || userns < 0) {
        errno = EINVAL;
        fail("init-args");
    }
    /* Never the memory cgroup's victim: the OOM killer is to pick among the job's processes
     * (killing us would end the run without a status). Root with our own memory now, so this
     * changes nobody else's score. Without a /proc it stays as it was. */
    int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (adj >= 0) {
        (void)!write(adj, "-1000", 5);
        close(adj);
    }
    /* The job asks once it is ready to exec (and, with a user namespace, has made it); EOF: it
     * failed before asking (it reported why) or died. Our answer comes after our own exec, so the
     * job never runs while pid 1 still shares envrun's memory. */
    char ask;
    if (read_byte(FD_MAPS_REQ, &ask) == 1) {
        if (userns == 1 && write_map(job, "uid_map", uid) < 0) fail("uid_map");
        if (userns == 1 && write_map(job, "gid_map", gid) < 0) fail("gid_map");
        if (write(FD_MAPS_DONE, "m", 1) != 1) fail("maps-done");
    }
    close(FD_MAPS_REQ);
    close(FD_MAPS_DONE);
    /* EOF: the job has exec'd (its end was close-on-exec) or died after reporting a failure. */
    char c;
    while (read_byte(FD_EXEC, &c) > 0) {}
    close(FD_EXEC);
    /* The job has its own memory now: make it the memory cgroup's choice whatever score envrun
     * runs with (a service manager may give envrun a negative one, which the job would inherit).
     * Written by root, so the job cannot lower it again. Children it forked in the moment before
     * this keep the inherited score; with envrun at the default 0 that changes nothing. */
    char path[64];
    if (snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)job) < (int)sizeof path) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)!write(fd, "1000", 4);
            close(fd);
        }
    }
    send_record(REC_STARTED, 0, NULL, "started", 0);
    for (;;) {
        int st;
        struct rusage ru;
        pid_t r = wait4(-1, &st, __WALL, &ru);
        if (r == job) {
            /* Kill and reap what the job left, then report: the report is envrun's "done", so
             * the slow part of our exit (namespace teardown) is off its path. */
            kill(-1, SIGKILL);
            while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR) {}
            clear_sysv();
            send_record(REC_STATUS, st, &ru, NULL, 0);
            _exit(0);
        }
        if (r < 0 && errno != EINTR) break;
    }
    /* No child left and the job never reaped: nothing to report (envrun sees EOF). */
    kill_all_and_exit();
    return 0;
}
