# The warm worker ("zygote") of one slot. envrun starts it once, inside the full sandbox of the
# slot (namespaces, slot uid, seccomp filter of the language: every child inherits that filter),
# with an empty environment and nothing but a control socket on fd 3.
#
# Per job it receives a tiny JSON message plus three fds (stdin, stdout, stderr) over SCM_RIGHTS.
# It never reads the job's stdin: the job child gets the pipe itself, as a stream. The source is
# /work/main.py, written by envrun into the slot's work dir, exactly as for a cold run.
# The child applies the job's rlimits, restores a fresh interpreter's signal state and runs the
# program as __main__; the zygote waits for it, kills whatever it left behind (kill(-1) from
# pid 1 reaches every other process of the namespace), reaps, and reports the wait status.
import atexit
import ctypes
import gc
import json
import os
import resource
import signal
import socket
import sys
import types
from importlib.machinery import SourceFileLoader

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_DUMPABLE = 4
# Other processes of the slot uid (the jobs) may not read this process's memory or fds.
libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
# As pid 1 only signals with a handler reach us from inside the namespace: keep none.
signal.signal(signal.SIGINT, signal.SIG_DFL)

# The assert-test harness (Sandbox/harness/, bundled as one program), when envrun passes it as our argument:
# loaded once here, so that a harness job forks the loaded supervisor instead of compiling it and importing its
# modules again (most of a judged item's cost). It holds no job's data: the supervisor reads the program and then
# the tests from the job's stdin, in the job's child, as in a cold run.
HARNESS = None
if len(sys.argv) > 1:
    HARNESS = {"__name__": "envrun_harness", "__builtins__": __builtins__}
    exec(compile(sys.argv[1], "/work/main.py", "exec"), HARNESS)
    import typing  # noqa: F401  (HumanEval's prompts import it, in the program and in the tests)

LIMITS = {
    "cpu_sec": resource.RLIMIT_CPU, "as_bytes": resource.RLIMIT_AS,
    "fsize_bytes": resource.RLIMIT_FSIZE, "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC, "stack_bytes": resource.RLIMIT_STACK,
    "core_bytes": resource.RLIMIT_CORE,
}


def run_job(job, fds):
    """In the forked child: become the job. Never returns."""
    code = 1
    try:
        for i in range(3):
            os.dup2(fds[i], i)
        os.closerange(3, 1 << 16)
        for name, res in LIMITS.items():
            value = job.get(name, -1)
            if value >= 0:
                resource.setrlimit(res, (value, value))
        # (The harness's supervisor makes itself undumpable again before it reads anything of the job.)
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        # When the memory cgroup runs out, the OOM killer should take the job, not the worker:
        # memory no RSS shows (memfd, SysV shm, tmpfs) leaves the two about the same size.
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        os.write(fd, b"1000")
        os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir("/work")
        sys.argv = [job["file"]]
        if job.get("harness") is True and HARNESS is not None:
            HARNESS["main"]()  # never returns: the supervisor prints its verdict and ends with os._exit
        path = "/work/" + job["file"]
        with open(path, "rb") as f:
            source = f.read()
        # The worker runs isolated (-I: no cwd on its path, so nothing a job leaves in /work is
        # ever imported by the worker); the job gets the script's directory, as in a cold run.
        sys.path.insert(0, "/work")
        main = types.ModuleType("__main__")
        main.__file__ = path
        main.__cached__ = None
        main.__builtins__ = __builtins__
        sys.modules["__main__"] = main
        main.__loader__ = SourceFileLoader("__main__", path)
        compiled = compile(source, path, "exec")
    except BaseException as e:  # our own failure before the job started
        try:
            os.write(2, ("envrun zygote: %r\n" % (e,)).encode())
        finally:
            os._exit(71)
    try:
        exec(compiled, main.__dict__)
        code = 0
    except SystemExit as e:
        code = exit_code(e)
    except BaseException:
        etype, value, tb = sys.exc_info()
        # Drop our own frame so the traceback reads as it does in a cold run.
        sys.excepthook(etype, value, tb.tb_next if tb is not None else None)
        code = 1
    code = finish(code)
    os._exit(code)


def exit_code(e):
    c = e.code
    if c is None:
        return 0
    if isinstance(c, int):
        return c & 0xFF
    try:
        sys.stderr.write(str(c) + "\n")
    except BaseException:
        pass
    return 1


def finish(code):
    """What interpreter shutdown does: join threads (when the job imported threading, as
    Py_Finalize does), run atexit, flush."""
    threading = sys.modules.get("threading")
    try:
        if threading is not None:
            threading._shutdown()
    except BaseException:
        pass
    try:
        atexit._run_exitfuncs()
    except SystemExit as e:
        code = exit_code(e)
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            if stream is sys.stdout:
                code = 120
    return code


# SysV IPC objects outlive every process, and all jobs of this worker share its IPC namespace: what
# one job creates must be gone before the next starts. (POSIX message queues are ENOSYS in the
# seccomp policy.) The counts come from one *_INFO call per kind; the job's uid is the only one
# mapped in its user namespace, so it cannot give an object away: we, the same uid, remove it.
IPC_RMID, SHM_INFO, MSG_INFO, SEM_INFO = 0, 14, 12, 19
IPC_KINDS = (  # name, count call, index of the in-use count in its info struct, remove call
    ("shm", lambda buf: libc.shmctl(0, SHM_INFO, buf), 0, lambda i: libc.shmctl(i, IPC_RMID, None)),
    ("msg", lambda buf: libc.msgctl(0, MSG_INFO, buf), 0, lambda i: libc.msgctl(i, IPC_RMID, None)),
    ("sem", lambda buf: libc.semctl(0, 0, SEM_INFO, buf), 7, lambda i: libc.semctl(i, 0, IPC_RMID)),
)
IPC_INFO_BUF = (ctypes.c_int * 64)()


def clear_ipc():
    """Removes every SysV IPC object of the namespace; False if one is left."""
    clean = True
    for name, count, field, remove in IPC_KINDS:
        if count(IPC_INFO_BUF) < 0 or IPC_INFO_BUF[field] == 0:
            continue
        with open("/proc/sysvipc/" + name) as f:
            ids = [int(line.split()[1]) for line in f.read().splitlines()[1:] if line.strip()]
        for i in ids:
            remove(i)
        clean = clean and count(IPC_INFO_BUF) >= 0 and IPC_INFO_BUF[field] == 0
    return clean


ALL_RLIMITS = [getattr(resource, n) for n in dir(resource) if n.startswith("RLIMIT_")]


def own_state():
    """What a job must not be able to change about this process (seccomp allows rlimits,
    priority and affinity changes on the caller only; this is the second line), and the nice of
    the session's scheduler autogroup, which every job of this worker shares and may raise
    (/proc/self/autogroup; a new session per job would break os.setsid() in the job): compared
    after every job, and a worker that finds a difference retires."""
    return (
        tuple(resource.getrlimit(r) for r in ALL_RLIMITS),
        os.getpriority(os.PRIO_PROCESS, 0),
        os.sched_getaffinity(0),
        os.sched_getscheduler(0),
        autogroup_nice(),
    )


AUTOGROUP = [None]  # an fd of /proc/self/autogroup, opened once (a pread per job)


def autogroup_nice():
    try:
        if AUTOGROUP[0] is None:
            AUTOGROUP[0] = os.open("/proc/self/autogroup", os.O_RDONLY | os.O_CLOEXEC)
        return os.pread(AUTOGROUP[0], 128, 0).split()[-1]
    except OSError:
        return None


def main():
    ctl = socket.socket(fileno=3)
    baseline = own_state()
    # Cost per job is mostly copy-on-write page faults in the forked child (~2 us each here).
    # Two things keep their number down: this process never imports threading (its after-fork
    # hook runs Python code in every child: +0.3 ms and ~140 faults per job, measured), and
    # gc.freeze() keeps the child's collections off the zygote's own objects.
    gc.freeze()
    ctl.send(b'{"ready": true}')
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 65536, 3)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        job = json.loads(msg)
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            ctl.send(("error expected 3 fds, got %d" % len(fds)).encode())
            continue
        try:
            pid = os.fork()
        except OSError as e:
            for fd in fds:
                os.close(fd)
            ctl.send(("error fork: %s" % e).encode())
            continue
        if pid == 0:
            run_job(job, fds)
        for fd in fds:
            os.close(fd)
        _, status, ru = os.wait4(pid, 0)
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
        try:
            clean = clear_ipc() and own_state() == baseline
        except Exception:
            clean = False
        # "done <wait status> <cpu us> <maxrss kb> <retire>"
        ctl.send(b"done %d %d %d %d" % (
            status, int((ru.ru_utime + ru.ru_stime) * 1e6), ru.ru_maxrss, 0 if clean else 1))
        if not clean:
            os._exit(0)  # envrun replaces a worker that retires (SysV objects left, or its state changed)


main()
