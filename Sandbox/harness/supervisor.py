"""The supervisor T: entry point of the assert-test harness, bundled last (see README.md).

Reads only the program, forks U, then reads the tests, rewrites every `assert` so it records pass/fail and
continues, runs set-up and tests here with the program's names bound to proxies, and prints one verdict line
`ENVRUN-JUDGE <nonce> <json>` on its own stdout, which U never holds."""
import ast, builtins, importlib, json, keyword, os, select, signal, socket, sys, time, traceback

VERDICT_PREFIX = "ENVRUN-JUDGE"
# Standard modules the program imported are visible to the tests (as in a concatenated script), as T's own copy.
SHARED_MODULES = frozenset(
    "array bisect calendar cmath collections copy datetime decimal fractions functools hashlib heapq itertools "
    "json math numbers operator random re statistics string struct sys textwrap typing unicodedata".split())


class Source:
    """Source text with its lines split once: `ast.get_source_segment` splits the whole text on every call."""

    def __init__(self, text):
        self.text = text
        split = getattr(ast, "_splitlines_no_ff", None)
        self.lines = split(text) if split is not None else None

    def segment(self, node):
        if self.lines is None:
            return ast.get_source_segment(self.text, node)
        try:
            first, last = node.lineno - 1, node.end_lineno - 1
            start, end = node.col_offset, node.end_col_offset
        except (AttributeError, TypeError):
            return None
        if end is None or not 0 <= first <= last < len(self.lines):
            return None
        if first == last:
            return self.lines[first].encode()[start:end].decode()
        return "".join([self.lines[first].encode()[start:].decode()] + self.lines[first + 1:last]
                       + [self.lines[last].encode()[:end].decode()])


class Asserts(ast.NodeTransformer):
    """Rewrites `assert test` into a try that calls _envrun_record(index, ok, error, has_left, left)."""

    def __init__(self, source):
        self.source, self.items = source, []

    def visit_Assert(self, node):
        index = len(self.items)
        self.items.append(self.source.segment(node) or "assert (line %d)" % node.lineno)
        # Every new node gets the statement's location (cheaper than ast.fix_missing_locations on the tree).
        at = {"lineno": node.lineno, "col_offset": node.col_offset, "end_lineno": node.end_lineno,
              "end_col_offset": node.end_col_offset}

        def name(id, store=False):
            return ast.Name(id, ast.Store() if store else ast.Load(), **at)

        def const(value):
            return ast.Constant(value, **at)

        test = node.test
        body, has_left = [], False
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            body.append(ast.Assign([name("_envrun_left", True)], test.left, **at))
            test = ast.Compare(name("_envrun_left"), test.ops, test.comparators, **at)
            has_left = True
        body.append(ast.Assign([name("_envrun_ok", True)], ast.Call(name("bool"), [test], [], **at), **at))

        def record(ok, err, left):
            return ast.Expr(ast.Call(name("_envrun_record"), [const(index), ok, err, const(has_left), left], [],
                                     **at), **at)

        handlers = [
            ast.ExceptHandler(name("_envrun_Deadline"), "_envrun_error",
                              [record(const(False), name("_envrun_error"), const(None)), ast.Raise(**at)], **at),
            ast.ExceptHandler(name("BaseException"), "_envrun_error",
                              [record(const(False), name("_envrun_error"), const(None))], **at),
        ]
        left = name("_envrun_left") if has_left else const(None)
        orelse = [record(name("_envrun_ok"), const(None), left)]
        return ast.Try(body, handlers, orelse, [], **at)


def describe(exc):
    if isinstance(exc, Deadline):
        return "the time limit was reached"
    if isinstance(exc, (ProgramGone, ProgramError)):
        return clip(str(exc))
    return clip("%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__)


class Tally:
    """One entry per assert statement: passed when it ran at least once and never failed."""

    def __init__(self, items):
        self.items, self.state, self.first = items, [None] * len(items), None

    def record(self, index, ok, error, has_left, left):
        if ok:
            if self.state[index] is None:
                self.state[index] = True
            return
        self.state[index] = False
        if self.first is None:
            why = describe(error) if error is not None else "AssertionError"
            if error is None and has_left:
                why += " (left side was %s)" % clip(repr(left), 300)
            self.first = "failed: %s\n  -> %s" % (clip(self.items[index], 300), why)

    def crash(self, where, exc):
        if self.first is None:
            self.first = "failed: %s\n  -> %s" % (clip(where, 300), describe(exc))

    @property
    def passed(self):
        return sum(1 for s in self.state if s is True)


def build_namespace(prog, names, tally, entry):
    """The tests' globals: the program's top-level callables as proxies. A program name that shadows a builtin
    is bound only when it is the declared entry point, so the program cannot replace `abs` or `sorted` for
    the tests."""
    ns = {"__name__": "__envrun_tests__", "__builtins__": builtins, "_envrun_record": tally.record,
          "_envrun_Deadline": Deadline}
    for name, kind, module in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("__") \
                or name.startswith("_envrun") or (hasattr(builtins, name) and name != entry):
            continue
        if kind == "module":
            if module in SHARED_MODULES:
                ns[name] = importlib.import_module(module)
        else:
            ns[name] = RemoteCallable(prog, name)
    return ns


def task_prelude(prelude, entry):
    """The task's own code (a HumanEval prompt) without the entry point's definition: its helpers
    (`encode_cyclic`, `poly`) are defined here, in T, over the proxies of the same names, so the
    tests use the task's versions and never the program's."""
    if not prelude or not prelude.strip():
        return None
    try:
        tree = ast.parse(prelude, "<task>")
    except SyntaxError:
        return None
    tree.body = [s for s in tree.body
                 if not (isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == entry)]
    return tree


def run_statements(tree, source, filename, ns, tally):
    source = Source(source)
    for stmt in tree.body:
        code = compile(ast.Module([stmt], []), filename, "exec")
        try:
            exec(code, ns)
        except Deadline:
            raise
        except BaseException as e:
            tally.crash(source.segment(stmt) or filename, e)


def run_tests(prog, names, spec, tree, tally):
    entry = spec.get("entry_point")
    ns = build_namespace(prog, names, tally, entry)
    prelude_tree = task_prelude(spec.get("prelude"), entry)
    if prelude_tree is not None:
        run_statements(prelude_tree, spec["prelude"], "<task>", ns, tally)
    setup = spec.get("setup") or ""
    if setup.strip():
        run_statements(ast.parse(setup, "<setup>"), setup, "<setup>", ns, tally)
    run_statements(tree, spec["tests"], "<tests>", ns, tally)
    defines_check = any(isinstance(s, ast.FunctionDef) and s.name == "check" for s in tree.body)
    calls_check = any(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                      and isinstance(s.value.func, ast.Name) and s.value.func.id == "check" for s in tree.body)
    if entry and defines_check and not calls_check:
        try:
            ns["check"](RemoteCallable(prog, entry))
        except Deadline:
            raise
        except BaseException as e:
            tally.crash("check(%s)" % entry, e)


class Drain:
    """Keeps the first OUTPUT_CAP bytes U writes to its stdout/stderr, for feedback. Read while T waits for U
    (`wait`), so U never blocks on a full pipe while T waits for its reply; no thread (starting one cost T
    about a millisecond per item)."""

    def __init__(self, fd, sock_fd):
        os.set_blocking(fd, False)  # T's end only: U's end of the pipe stays blocking
        self.fd, self.sock_fd, self.buf, self.total, self.open = fd, sock_fd, bytearray(), 0, True
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN)
        self.poller.register(sock_fd, select.POLLIN)

    def pump(self, reads=64):
        """Reads what U has written so far, without blocking, in at most `reads` reads (a U that writes without
        end must not keep T here)."""
        for _ in range(reads):
            if not self.open:
                return
            try:
                b = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                b = b""
            if not b:
                self.open = False
                self.poller.unregister(self.fd)
                return
            self.total += len(b)
            if len(self.buf) < OUTPUT_CAP:
                self.buf += b[:OUTPUT_CAP - len(self.buf)]

    def wait(self, deadline):
        """Returns once U's socket is readable (or closed), draining U's output meanwhile; Timeout at `deadline`."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            ready = self.poller.poll(max(1, int(left * 1000) + 1))
            for fd, _ in ready:
                if fd == self.fd:
                    self.pump(reads=1)
            if any(fd == self.sock_fd for fd, _ in ready):
                return

    def text(self):
        s = bytes(self.buf).decode("utf-8", "replace")
        return s + ("…[%d bytes in all]" % self.total if self.total > len(self.buf) else "")


def harden():
    """T refuses to run unless U cannot read its memory or its stdin through /proc."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    # U has T's uid, so it may signal T: every signal T does not use is ignored (the faults a
    # signal can stand for - SEGV, BUS, FPE, ILL, SYS from seccomp - still end T when they are
    # real: the kernel forces those; RLIMIT_CPU ends T with SIGKILL, its soft and hard are equal).
    # SIGALRM too, until judge() installs the deadline's handler (U may send one early).
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
            continue
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    # Imports done by the tests must not find modules U could write (the work dir, /tmp).
    here = {os.getcwd(), os.path.dirname(os.path.abspath((sys.argv or ["."])[0] or "."))}
    sys.path[:] = [p for p in sys.path if p and os.path.isabs(p) and p not in here and not p.startswith("/tmp")]


def judge(pid, sock, output, spec, start):
    tests = spec["tests"]
    rewriter = Asserts(Source(tests))
    tree = rewriter.visit(ast.parse(tests, "<tests>"))
    if not rewriter.items:
        return {"status": "harness_error", "detail": "the tests contain no assert statement"}
    if spec.get("setup"):
        ast.parse(spec["setup"], "<setup>")
    tally = Tally(rewriter.items)
    cpu_limit = None
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_CPU)[0]
        cpu_limit = None if soft == resource.RLIM_INFINITY else soft
    except (ImportError, OSError):
        pass
    deadline = start + spec["budget_ms"] / 1000.0
    prog = Program(pid, sock, deadline, cpu_limit, output.wait)

    armed = [True]

    def alarm(signum, frame):
        # Only T's own timer ends the run: a SIGALRM that U sends early changes nothing. And only once, and
        # only inside the try below: a Deadline raised anywhere else (a second one while T handles the first,
        # from U's SIGALRMs or T's timer; one as the tests end) escaped judge() as a harness_error, a masked
        # sandbox_error that a timed-out program could pick instead of its time_limit.
        if armed[0] and time.monotonic() >= deadline:
            armed[0] = False
            raise Deadline()

    saved = sys.stdout, sys.stderr
    try:
        signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.monotonic() + 0.05))
        names = prog.hello()
        if names is not None:
            sys.stdout = sys.stderr = open(os.devnull, "w")
            run_tests(prog, names, spec, tree, tally)
        armed[0] = False
    except Deadline:
        prog.timed_out()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = saved
    prog.stop("the tests finished", reap=False)
    output.pump()
    verdict, kind, text = prog.event or ("ok", None, None)
    parts = [tally.first] if tally.first else []
    if text:
        head, _, rest = text.partition("\n")
        parts.append(rest if tally.first and head.strip() in tally.first else text)
    parts = [p for p in parts if p.strip()]
    if prog.event is not None and output.buf:
        parts.append("program output:\n" + clip(output.text(), 600))
    return {"status": "ok", "passed": tally.passed, "total": len(tally.items), "verdict": verdict,
            "time_limit_kind": kind, "feedback": clip("\n".join(parts), 2000) if parts else None}


def printable(value):
    """The result with every string made valid UTF-8: text from the program may hold lone
    surrogates ("\\ud800"), which json.dumps writes as escapes that strict JSON readers reject."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    return value


def main():
    started = process_started()  # the time budget counts from this process's start (exec, or fork when warm)
    nonce, result, pid = None, None, None
    try:
        harden()
        if read_exact_fd(0, len(MAGIC)) != MAGIC:
            raise ValueError("stdin does not start with the harness header")
        program = read_frame_fd(0)
        sock_t, sock_u = socket.socketpair()
        out_r, out_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                sock_t.close()
                os.close(out_r)
                run_untrusted(program, sock_u.detach(), out_w)
            finally:
                os._exit(1)
        sock_u.close()
        os.close(out_w)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        output = Drain(out_r, sock_t.fileno())
        spec = json.loads(read_frame_fd(0))  # only now: U's memory never held the tests or the nonce
        nonce = spec["nonce"]
        SANDBOXED[0] = spec.get("sandboxed") is True
        if type(nonce) is not str or not nonce.isalnum():
            raise ValueError("bad nonce")
        result = judge(pid, sock_t, output, spec, started)
    except BaseException:
        detail = traceback.format_exc()
        sys.stderr.write(detail)
        result = {"status": "harness_error", "detail": clip(detail, 2000)}
        if pid:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            kill_escapees()
    if nonce is not None:
        line = ("%s %s %s\n" % (VERDICT_PREFIX, nonce, json.dumps(printable(result)))).encode("utf-8")
        while line:
            line = line[os.write(1, line):]
    os._exit(0)


if __name__ == "__main__":  # the bundle run as a job's program; a warm worker loads it and calls main() per job
    main()
