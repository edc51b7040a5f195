/* Reading what pid 1 reports, reaping, and the wait-status macros Swift cannot see. */
#define _GNU_SOURCE
#include "envrun_child.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>


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

