"""T's side of the calls into U: proxies, remote objects, and U's fate (see README.md).
Bundled after codec.py and untrusted.py."""
import builtins, os, signal, time


# ----------------------------------------------------------------------------------------------- T: trusted
class Deadline(BaseException):
    """The run's time budget is spent (SIGALRM in T)."""


SANDBOXED = [False]  # set from the spec: the job runs in envrun's sandbox (own pid namespace and uid)


def kill_escapees():
    """A process of U's tree that left its process group (setpgid) outlives killpg: in envrun's
    sandbox kill(-1) reaches every process T may signal but T itself and pid 1, i.e. all of U's.
    Never outside it (as an ordinary user it would reach the user's other processes)."""
    if SANDBOXED[0] and os.getuid() != 0:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass


class ProgramGone(Exception):
    """U is dead, stopped or out of time: this and every later call fails."""


class ProgramError(Exception):
    """The program raised, or returned something that is not transferable, during a call."""


class RemoteObject:
    """An object living in U (an instance of a program class). Identity only: no truth value, no ordering,
    no value equality, no hashing by value; attributes are read and written through U."""
    __slots__ = ("_envrun_prog", "_envrun_ref")

    def __init__(self, prog, ref):
        object.__setattr__(self, "_envrun_prog", prog)
        object.__setattr__(self, "_envrun_ref", ref)

    def __getattr__(self, name):
        if name.startswith("__") or name.startswith("_envrun"):
            raise AttributeError(name)
        return self._envrun_prog.request({"op": "getattr", "ref": self._envrun_ref, "name": name})

    def __setattr__(self, name, value):
        if name.startswith("__") or name.startswith("_envrun"):
            raise AttributeError(name)
        prog = self._envrun_prog
        prog.request({"op": "setattr", "ref": self._envrun_ref, "name": name, "value": prog.encode(value)})

    def __bool__(self):
        raise TypeError("an object of the program has no truth value in the tests")

    def __repr__(self):
        return "<program object #%d>" % self._envrun_ref


class RemoteCallable:
    """A top-level function or class of the program, called in U."""
    __slots__ = ("_envrun_prog", "_envrun_name")

    def __init__(self, prog, name):
        self._envrun_prog, self._envrun_name = prog, name

    def __call__(self, *args, **kwargs):
        prog = self._envrun_prog
        return prog.request({"op": "call", "name": self._envrun_name, "args": prog.encode(list(args)),
                             "kwargs": prog.encode(kwargs)})

    def __repr__(self):
        return "<program function %s>" % self._envrun_name


def wait_status(status, rusage, cpu_limit, when):
    """(verdict, time_limit_kind, text) for how U ended."""
    if os.WIFEXITED(status):
        return "runtime_error", None, "the program exited with status %d %s" % (os.WEXITSTATUS(status), when)
    sig = os.WTERMSIG(status)
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = "signal %d" % sig
    cpu = rusage.ru_utime + rusage.ru_stime
    # RLIMIT_CPU with soft = hard ends in SIGKILL, and rusage under-reports CPU on a VM (0.93 s seen for a
    # 1 s limit): like the executor, a SIGKILL after at least half the CPU limit is the CPU limit.
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_limit and cpu >= 0.5 * cpu_limit):
        return "time_limit", "cpu", "the program ran out of CPU time %s" % when
    if sig == signal.SIGSYS:
        return "security_violation", None, "the program made a forbidden system call %s" % when
    return "runtime_error", None, "the program was killed by %s %s (after %.2f s of CPU)" % (name, when, cpu)


class Program:
    """T's handle on U: requests over the socket, U's fate, and the first abnormal event."""

    def __init__(self, pid, sock, deadline, cpu_limit, waiter=None):
        self.pid, self.sock, self.deadline, self.cpu_limit, self.waiter = pid, sock, deadline, cpu_limit, waiter
        self.gone = None     # why U no longer answers
        self.event = None    # (verdict, time_limit_kind, text) of the first abnormal event
        self.refs = {}
        self.next_id = 0

    def note(self, verdict, text, kind=None):
        if self.event is None:
            self.event = (verdict, kind, text)

    def stop(self, why="the program was stopped", reap=True):
        """Kills U's tree. `reap=False` (the tests are over) leaves U's exit to the job's pid 1: waiting for
        the kernel to tear U's memory down cost T most of a millisecond per item."""
        if self.pid is not None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
            kill_escapees()
            if reap:
                try:
                    os.waitpid(self.pid, 0)
                except ChildProcessError:
                    pass
            self.pid = None
        if self.gone is None:
            self.gone = why

    def lost(self, when):
        """The socket broke: learn how U ended (it may still run, having closed its socket), then stop it."""
        for _ in range(100):
            try:
                pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                verdict, kind, text = wait_status(status, rusage, self.cpu_limit, when)
                self.note(verdict, text, kind)
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.pid, self.gone = None, text
                return
            time.sleep(0.002)
        self.note("runtime_error", "the program closed its connection to the judge %s" % when)
        self.stop("the program closed its connection to the judge")

    def timed_out(self):
        self.note("time_limit", "the program ran out of time", "wall")
        self.stop("the time limit was reached")

    def hello(self):
        """Wait for U to load the program; its top-level callables, or None when it failed."""
        try:
            msg = recv_frame(self.sock, self.deadline, self.waiter)
        except Timeout:
            self.timed_out()
            return None
        except (PeerGone, CodecError):
            self.lost("while loading")
            return None
        if type(msg) is not dict or type(msg.get("ok")) is not bool:
            self.note("runtime_error", "the program sent a malformed message")
            self.stop()
            return None
        if not msg["ok"]:
            self.note("runtime_error", "the program failed while loading: %s" % clip(msg.get("trace"), 1500))
            self.stop("the program failed while loading")
            return None
        names = msg.get("names")
        if type(names) is not list:
            names = []
        return [tuple(n) for n in names[:100000]
                if type(n) is list and len(n) == 3 and all(type(x) is str and len(x) < 256 for x in n)]

    def encode(self, value):
        def ref_of(obj):
            if type(obj) is RemoteObject and obj._envrun_prog is self:
                return obj._envrun_ref
            raise CodecError("%s is not transferable to the program" % type(obj).__name__)
        try:
            return encode(value, ref_of)
        except CodecError as e:
            raise TypeError(str(e))

    def make_ref(self, ref):
        obj = self.refs.get(ref)
        if obj is None:
            obj = self.refs[ref] = RemoteObject(self, ref)
        return obj

    def request(self, msg):
        if self.gone is None and time.monotonic() >= self.deadline:
            self.timed_out()
        if self.gone is not None:
            raise ProgramGone(self.gone)
        self.next_id += 1
        msg["id"] = self.next_id
        try:
            send_frame(self.sock, msg)
            reply = recv_frame(self.sock, self.deadline, self.waiter)
        except Timeout:
            self.timed_out()
            raise ProgramGone(self.gone)
        except (PeerGone, OSError):
            self.lost("before the tests finished")
            raise ProgramGone(self.gone)
        except CodecError:
            reply = None
        if type(reply) is not dict or reply.get("id") != msg["id"] or type(reply.get("ok")) is not bool:
            self.note("runtime_error", "the program sent a malformed message")
            self.stop("the program sent a malformed message")
            raise ProgramGone(self.gone)
        if reply["ok"]:
            try:
                return decode(reply.get("value"), self.make_ref)
            except CodecError as e:
                self.note("runtime_error", "the program returned a value that is not transferable: %s" % e)
                raise ProgramError("returned a value that is not transferable: %s" % e)
        name, message = str(reply.get("error"))[:100], clip(reply.get("message"))
        self.note("memory_limit" if name == "MemoryError" else "runtime_error",
                  "%s: %s\n%s" % (name, message, clip(reply.get("trace"), 1500)))
        cls = getattr(builtins, name, None) if name.isidentifier() else None
        if isinstance(cls, type) and issubclass(cls, Exception) and not issubclass(cls, StopIteration):
            try:
                exc = cls(message)
            except Exception:
                exc = None
            if exc is not None:
                raise exc
        raise ProgramError("%s: %s" % (name, message))
