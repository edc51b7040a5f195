/*
 * envrun_supervise: feed stdin, drain stdout/stderr while the job runs (no deadlock on full
 * pipes), enforce the wall clock and the output cap. One blocking call per run, made from a
 * dedicated thread; it waits with poll() on a pidfd (or the warm worker's control socket).
 */
#define _GNU_SOURCE
#include "envrun_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int buf_append(envrun_buffer *b, const char *data, size_t n, size_t cap, int *truncated) {
    size_t room = b->length < cap ? cap - b->length : 0;
    if (n > room) {
        *truncated = 1;
        n = room;
    }
    if (n == 0) return 0;
    if (b->length + n > b->capacity) {
        size_t c = b->capacity ? b->capacity : 4096;
        while (c < b->length + n) c *= 2;
        char *p = realloc(b->data, c);
        if (!p) return -1;
        b->data = p;
        b->capacity = c;
    }
    memcpy(b->data + b->length, data, n);
    b->length += n;
    return 0;
}

void envrun_buffer_free(envrun_buffer *b) {
    free(b->data);
    b->data = NULL;
    b->length = b->capacity = 0;
}

int envrun_supervise(envrun_supervise_io *io) {
    double start = now_ms();
    double deadline = start + (double)io->wall_ms;
    double drain_deadline = 0;
    int done = 0, killed = 0;
    int fds[4] = {io->done_fd, io->stdout_fd, io->stderr_fd, io->stdin_fd};
    size_t written = 0;
    char chunk[65536];
    io->end = ENVRUN_END_EXITED;
    io->truncated = 0;
    io->wall_elapsed_ms = 0;
    if (fds[3] >= 0) {
        if (io->stdin_length == 0) {
            close(fds[3]);
            fds[3] = -1;
        } else {
            fcntl(fds[3], F_SETFL, fcntl(fds[3], F_GETFL) | O_NONBLOCK);
        }
    }
    for (;;) {
        if (done && fds[1] < 0 && fds[2] < 0) break;
        struct pollfd p[4];
        int idx[4], n = 0;
        for (int i = 0; i < 4; i++) {
            if (fds[i] < 0 || (i == 0 && done)) continue;
            p[n].fd = fds[i];
            p[n].events = i == 3 ? POLLOUT : POLLIN;
            p[n].revents = 0;
            idx[n++] = i;
        }
        double t = now_ms();
        double limit = done ? drain_deadline : (killed ? t + 5000 : deadline);
        int timeout = limit - t > 0 ? (int)(limit - t) + 1 : 0;
        int r = poll(p, (nfds_t)n, timeout);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) {
            if (done) break; /* a descendant kept a pipe open past the end: stop waiting */
            if (!killed) {
                kill(io->kill_pid, SIGKILL);
                killed = 1;
                io->end = ENVRUN_END_WALL;
                continue;
            }
            return -1; /* killed 5 s ago and still not over */
        }
        for (int k = 0; k < n; k++) {
            int i = idx[k];
            if (!p[k].revents) continue;
            if (i == 0) {
                done = 1;
                io->wall_elapsed_ms = now_ms() - start;
                drain_deadline = now_ms() + 2000;
            } else if (i == 3) {
                ssize_t w = write(fds[3], io->stdin_data + written, io->stdin_length - written);
                if (w > 0) written += (size_t)w;
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == io->stdin_length) {
                    close(fds[3]);
                    fds[3] = -1;
                }
            } else {
                ssize_t got = read(fds[i], chunk, sizeof chunk);
                if (got > 0) {
                    envrun_buffer *b = i == 1 ? &io->out : &io->err;
                    int before = io->truncated;
                    if (buf_append(b, chunk, (size_t)got, io->output_cap, &io->truncated) < 0) return -1;
                    if (io->truncated && !before && !killed) {
                        kill(io->kill_pid, SIGKILL);
                        killed = 1;
                        io->end = ENVRUN_END_OUTPUT;
                    }
                } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                    close(fds[i]);
                    fds[i] = -1;
                }
            }
        }
    }
    for (int i = 1; i < 4; i++)
        if (fds[i] >= 0) close(fds[i]);
    if (!done) io->wall_elapsed_ms = now_ms() - start;
    return 0;
}
