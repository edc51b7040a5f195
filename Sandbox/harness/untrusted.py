"""The untrusted process U: runs the program as module `solution` and answers calls (see README.md).
Bundled after codec.py."""
import os, signal, socket, sys, traceback, types


# ----------------------------------------------------------------------------------------------- U: untrusted
def run_untrusted(program, sock_fd, out_fd):
    """The child U. Never returns. Holds only the program, its socket and its output pipe."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
    except OSError:
        null = None
        os.close(0)
    os.dup2(sock_fd, 3)
    os.closerange(4, 1 << 16)
    for sig in (signal.SIGINT,):
        signal.signal(sig, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    if os.geteuid() == 0:  # unsandboxed runs as root: drop to nobody so /proc of T stays closed to U
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
        except OSError:
            pass
    sock = socket.socket(fileno=3)
    sys.stdin = open(0, "r", closefd=False) if null is not None else None
    sys.argv = ["solution.py"]
    mod = types.ModuleType("solution")
    mod.__file__ = "solution.py"
    sys.modules["solution"] = mod
    try:
        exec(compile(program, "solution.py", "exec"), mod.__dict__)
        names = [[k, "module", v.__name__] if isinstance(v, types.ModuleType)
                 else [k, "class" if isinstance(v, type) else "function", ""]
                 for k, v in list(mod.__dict__.items())
                 if type(k) is str and (callable(v) or isinstance(v, types.ModuleType))]
        hello = {"ok": True, "names": names}
    except BaseException as e:
        hello = {"ok": False, "error": type(e).__name__, "trace": program_trace(e)}
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        send_frame(sock, hello)
    except BaseException:
        os._exit(1)
    if not hello["ok"]:
        os._exit(1)
    serve(sock, mod)


def program_trace(e):
    """The traceback without the harness's own frame (only the program's frames interest the model)."""
    try:
        return clip("".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next)), 1500)
    except BaseException:
        return type(e).__name__


def serve(sock, mod):
    table, by_id = {}, {}

    def ref_of(obj):
        r = by_id.get(id(obj))
        if r is None:
            r = len(table) + 1
            table[r], by_id[id(obj)] = obj, r
        return r

    while True:
        try:
            msg = recv_frame(sock, None)
        except BaseException:
            os._exit(0)
        try:
            op = msg["op"]
            if op == "call":
                fn = mod.__dict__[msg["name"]]
                args = decode(msg["args"], table.__getitem__)
                kwargs = decode(msg["kwargs"], table.__getitem__)
                value = encode(fn(*args, **kwargs), ref_of if isinstance(fn, type) else None)
            elif op == "getattr":
                value = encode(getattr(table[msg["ref"]], msg["name"]), ref_of)
            elif op == "setattr":
                setattr(table[msg["ref"]], msg["name"], decode(msg["value"], table.__getitem__))
                value = ["n"]
            else:
                raise ValueError("unknown op")
            reply = {"id": msg["id"], "ok": True, "value": value}
        except BaseException as e:
            name = "UntransferableResult" if type(e) is CodecError else type(e).__name__
            try:
                text = str(e)
            except BaseException:
                text = "?"
            reply = {"id": msg.get("id"), "ok": False, "error": clip(name, 100), "message": clip(text),
                     "trace": "" if type(e) is CodecError else program_trace(e)}
        try:
            sys.stdout.flush()
            send_frame(sock, reply)
        except BaseException:
            os._exit(0)


