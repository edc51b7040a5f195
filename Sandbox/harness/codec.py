"""Strict tagged-JSON codec and length-prefixed framing shared by both sides of the harness (see README.md)."""
import base64, collections, json, os, re, socket, struct, time



def process_started():
    """time.monotonic() at this process's exec: the budget must cover the interpreter's start-up, which takes
    a second or more on a loaded machine (both clocks count from boot; /proc's is in clock ticks)."""
    now = time.monotonic()
    try:
        fd = os.open("/proc/self/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            stat = os.read(fd, 4096)
        finally:
            os.close(fd)
        ticks = int(stat.rsplit(b")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return now - min(max(0.0, age), 30.0)
    except (OSError, ValueError, IndexError):
        return now


MAGIC = b"ENVRUN-HARNESS 1\n"
MAX_INPUT = 64 << 20        # bytes of one stdin frame
MAX_FRAME = 16 << 20        # bytes of one RPC message
MAX_DEPTH = 64              # nesting of one value
MAX_NODES = 1 << 20         # items in one value
MAX_INT_HEX = 8192          # hex digits of one int
OUTPUT_CAP = 16 << 10       # bytes of U's stdout/stderr kept for feedback
TEXT = 400                  # characters of one piece of feedback
HEX_INT = re.compile(r"-?[0-9a-f]+")
# Builtin types travel as values (`remove_datatype(xs, int)`), by name, resolved to the receiver's own type.
BUILTIN_TYPES = {t.__name__: t for t in (int, float, str, bool, bytes, complex, list, tuple, dict, set, frozenset)}
# Standard dict subclasses travel as plain dicts: they compare equal to dicts anyway.
DICT_LIKE = (dict, collections.Counter, collections.defaultdict, collections.OrderedDict)


# ----------------------------------------------------------------------------------------------- strict codec
class CodecError(Exception):
    pass


def encode(value, ref_of=None):
    """Tagged JSON of exact builtin types; `ref_of(obj) -> int` handles other objects, or they fail."""
    budget = [MAX_NODES]

    def enc(v, depth):
        budget[0] -= 1
        if depth > MAX_DEPTH or budget[0] < 0:
            raise CodecError("value too large or too deeply nested")
        t = type(v)
        if v is None:
            return ["n"]
        if t is bool:
            return ["b", v]
        if t is int:
            h = format(v, "x")
            if len(h) > MAX_INT_HEX:
                raise CodecError("int too large")
            return ["i", h]
        if t is float:
            return ["f", v.hex()]
        if t is str:
            return ["s", v]
        if t is bytes:
            return ["y", base64.b64encode(v).decode("ascii")]
        if t is complex:
            return ["c", v.real.hex(), v.imag.hex()]
        tag = {list: "l", tuple: "t", set: "S", frozenset: "F"}.get(t)
        if tag is not None:
            return [tag, [enc(x, depth + 1) for x in v]]
        if t in DICT_LIKE:
            return ["d", [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]]
        if t is type and BUILTIN_TYPES.get(v.__name__) is v:
            return ["T", v.__name__]
        if ref_of is not None:
            return ["r", ref_of(v)]
        raise CodecError("%s is not transferable" % t.__name__)

    return enc(value, 0)


def decode(doc, make_ref=None):
    """Inverse of `encode`, accepting nothing else: exact tags, exact payload types, bounded size."""
    budget = [MAX_NODES]

    def dec(x, depth):
        budget[0] -= 1
        if depth > MAX_DEPTH or budget[0] < 0:
            raise CodecError("value too large or too deeply nested")
        if type(x) is not list or not x or type(x[0]) is not str:
            raise CodecError("malformed value")
        tag, n = x[0], len(x)
        p = x[1] if n > 1 else None
        if tag == "n" and n == 1:
            return None
        if tag == "b" and n == 2 and type(p) is bool:
            return p
        if tag == "i" and n == 2 and type(p) is str and len(p) <= MAX_INT_HEX + 1 and HEX_INT.fullmatch(p):
            return int(p, 16)
        if tag == "f" and n == 2 and type(p) is str and len(p) < 40:
            return float.fromhex(p)
        if tag == "s" and n == 2 and type(p) is str:
            return p
        if tag == "y" and n == 2 and type(p) is str:
            return base64.b64decode(p.encode("ascii"), validate=True)
        if tag == "c" and n == 3 and type(p) is str and type(x[2]) is str and len(p) < 40 and len(x[2]) < 40:
            return complex(float.fromhex(p), float.fromhex(x[2]))
        if tag in ("l", "t", "S", "F") and n == 2 and type(p) is list:
            items = [dec(y, depth + 1) for y in p]
            return {"l": list, "t": tuple, "S": set, "F": frozenset}[tag](items)
        if tag == "d" and n == 2 and type(p) is list:
            out = {}
            for pair in p:
                if type(pair) is not list or len(pair) != 2:
                    raise CodecError("malformed dict item")
                out[dec(pair[0], depth + 1)] = dec(pair[1], depth + 1)
            return out
        if tag == "T" and n == 2 and type(p) is str and p in BUILTIN_TYPES:
            return BUILTIN_TYPES[p]
        if tag == "r" and n == 2 and type(p) is int and make_ref is not None:
            return make_ref(p)
        raise CodecError("malformed value")

    try:
        return dec(doc, 0)
    except CodecError:
        raise
    except Exception as e:  # unhashable keys, bad base64, bad float text, recursion...
        raise CodecError("malformed value (%s)" % type(e).__name__)


class Timeout(Exception):
    pass


class PeerGone(Exception):
    pass


def send_frame(sock, obj):
    data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_FRAME:
        raise CodecError("message too large")
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_exact(sock, n, deadline, waiter=None):
    """`n` bytes from `sock`; Timeout past `deadline`. `waiter(deadline)`, when given, returns once the socket is
    readable (T's waits keep U's output pipe drained meanwhile)."""
    chunks, got = [], 0
    while got < n:
        if waiter is not None:
            waiter(deadline)
        elif deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            sock.settimeout(left)
        try:
            b = sock.recv(min(n - got, 1 << 20))
        except socket.timeout:
            raise Timeout()
        except OSError:
            raise PeerGone()
        if not b:
            raise PeerGone()
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def recv_frame(sock, deadline, waiter=None):
    (n,) = struct.unpack(">I", recv_exact(sock, 4, deadline, waiter))
    if n > MAX_FRAME:
        raise CodecError("message too large")
    try:
        return json.loads(recv_exact(sock, n, deadline, waiter).decode("utf-8"))
    except (ValueError, RecursionError, MemoryError) as e:
        raise CodecError("malformed message (%s)" % type(e).__name__)


def read_exact_fd(fd, n):
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, n - got)  # os.read never reads ahead: the tests stay in the pipe until T wants them
        if not b:
            raise EOFError("stdin ended early")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_frame_fd(fd):
    line = b""
    while not line.endswith(b"\n"):
        if len(line) > 20:
            raise ValueError("bad frame length")
        line += read_exact_fd(fd, 1)
    n = int(line)
    if n < 0 or n > MAX_INPUT:
        raise ValueError("frame too large")
    return read_exact_fd(fd, n).decode("utf-8")


def clip(s, n=TEXT):
    s = str(s)
    return s if len(s) <= n else s[:n] + "…[%d more chars]" % (len(s) - n)


