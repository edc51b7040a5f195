/* Private to the C shim: records on the report pipe and the async-signal-safe helpers the
 * child uses (shared by envrun_spawn.c and envrun_rootfs.c). Not part of the public header. */
#ifndef ENVRUN_CHILD_H
#define ENVRUN_CHILD_H
#include "envrun_sandbox.h"
#include <stddef.h>

enum { REC_FAIL = 2, REC_STARTED = 3, REC_STATUS = 1, REC_MAPS = 4 };

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

#define ENVRUN_HIDDEN __attribute__((visibility("hidden")))

/* Each sandbox gets two stacks of this size (pid 1 and the job), mmap'd by the parent. */
#define STACK_SIZE (256 * 1024)

ENVRUN_HIDDEN size_t envrun_s_len(const char *s);
ENVRUN_HIDDEN void envrun_s_join(char *dst, size_t cap, const char *a, const char *b);
/* Builds the fresh root (tmpfs, read-only binds, /dev, /proc, /work, /tmp) and pivots into it.
 * Returns NULL, or the name of the failing step (errno set). */
ENVRUN_HIDDEN const char *envrun_build_root(const envrun_spawn_config *cfg);
ENVRUN_HIDDEN int envrun_write_str(const char *path, const char *s);
ENVRUN_HIDDEN void envrun_fmt_map(char *buf, unsigned id);
/* Decimal digits of v into buf (at least 11 bytes), without printf. */
ENVRUN_HIDDEN void envrun_fmt_uint(char *buf, unsigned v);
ENVRUN_HIDDEN void envrun_fmt_proc(char *buf, int pid, const char *leaf);
ENVRUN_HIDDEN long envrun_raw_syscall4(long n, long a, long b, long c, long d);
#endif
