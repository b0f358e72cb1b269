"""The catalog: which callables block the event loop, and how each one is fixed.

This module is data. Adding a blocking callable is one line in ``CATALOG`` (a function,
by qualified name) or in ``TYPES`` (a method of objects made by a known constructor);
the machinery that finds and rewrites calls never names a callable itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Mapping


class Framework(enum.Enum):
    """The async libraries a module may be written for: they decide how a call is offloaded."""

    ASYNCIO = "asyncio"
    ANYIO = "anyio"
    TRIO = "trio"


#: The function that runs ``f(*args)`` in a worker thread, per framework:
#: ``await runner(f, *args)`` gives what ``f(*args)`` does.
THREAD_RUNNERS: Mapping[Framework, str] = {
    Framework.ASYNCIO: "asyncio.to_thread",
    Framework.ANYIO: "anyio.to_thread.run_sync",
    Framework.TRIO: "trio.to_thread.run_sync",
}
THREAD_RUNNER_NAMES: frozenset[str] = frozenset(THREAD_RUNNERS.values())


class Strategy(enum.Enum):
    """How a blocking call is made safe."""

    #: ``await asyncio.to_thread(f, *args, **kwargs)``: exact, runs ``f`` in a worker thread.
    TO_THREAD = "to_thread"
    #: An exact asyncio-native equivalent, described by ``BlockingCall.native``.
    NATIVE = "native"
    #: No safe automatic rewrite: the call is reported for a human to fix.
    REPORT = "report"


@dataclass(frozen=True)
class Native:
    """An asyncio equivalent: ``asyncio.<function>(...)``, or a method of the running loop.

    ``keyword_only`` names the parameters after ``positional`` that the native form takes
    by keyword only (``loop.getaddrinfo(host, port, *, family=0, ...)``).
    """

    function: str
    on_running_loop: bool = False
    positional: int = 1
    keyword_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArgCondition:
    """A call whose blocking depends on one argument: ``os.spawnv(os.P_NOWAIT, ...)``."""

    index: int
    keyword: str
    #: The qualified name the argument must resolve to.
    value: str


@dataclass(frozen=True)
class StreamingArg:
    """A keyword that makes an HTTP call return before the body is read (``stream=True``).

    The body is then read later by the response (``iter_content()``, ``.content``,
    ``.read()``), on the loop: offloading the call alone would leave those reads blocking.
    """

    keyword: str
    #: The value that means "read the body now" (the default).
    off: bool


@dataclass(frozen=True)
class Shares:
    """Which parameters of a callable may take a mutable object that the call reads or
    changes while it runs (``requests.post(url, json=state)`` serialises ``state``): run in
    a thread, such an argument must be one no other task can touch meanwhile
    (``codemods.analysis.confinement``). Parameters not named take only immutable values.
    """

    #: The parameters that may be given by position, in order (as far as needed).
    positional: tuple[str, ...]
    #: Those (positional or keyword) that may take a mutable object.
    mutable: frozenset[str]
    #: Those of ``mutable`` that take a container of immutable items (``subprocess.run``'s
    #: args list, ``env``): the container must be the coroutine's, its items may come from anywhere.
    shallow: frozenset[str] = frozenset()

    def takes_object(self, position: int | None, keyword: str | None) -> bool:
        """Whether the argument at ``position`` (or given as ``keyword``) may be a mutable object."""
        return self.name(position, keyword) in self.mutable

    def name(self, position: int | None, keyword: str | None) -> str | None:
        if keyword is not None:
            return keyword
        return self.positional[position] if position is not None and position < len(self.positional) else None


def shares(positional: str, mutable: str, shallow: str = "") -> Shares:
    """``shares("url data json", "data json files", shallow="headers")``: one line of data per callable."""
    return Shares(tuple(positional.split()), frozenset(mutable.split()) | frozenset(shallow.split()),
                  frozenset(shallow.split()))


@dataclass(frozen=True)
class BlockingCall:
    """One blocking callable, by its fully qualified name."""

    qualname: str
    category: str
    strategy: Strategy = Strategy.TO_THREAD
    native: Native | None = None
    #: Why there is no automatic rewrite (``Strategy.REPORT``), shown to the user.
    reason: str | None = None
    #: Only blocking when this argument is given (e.g. ``os.P_WAIT``); else reported.
    blocks_only_if: ArgCondition | None = None
    #: Not blocking at all when this argument is given (e.g. ``os.WNOHANG``).
    nonblocking_if: ArgCondition | None = None
    #: For ``open()``-like callables: a ``with`` block over them may be moved to a thread.
    opens_file: bool = False
    #: Reported instead of rewritten when this argument may stream the response.
    streams_if: StreamingArg | None = None
    #: Parameters that may take mutable objects, read or changed in the thread.
    shares: Shares | None = None

    @property
    def code(self) -> str:
        """The finding code, which the category decides (``CATEGORIES``)."""
        return CATEGORIES[self.category][0]


#: Codes, one per category, with the nearest ruff / flake8-async rule (README maps them).
CATEGORIES: Mapping[str, tuple[str, str]] = {
    # category: (code, matching ASYNC code or "")
    "user": ("LS200", "ASYNC200"),
    "http": ("LS210", "ASYNC210"),
    "http-client": ("LS212", "ASYNC212"),
    "process-start": ("LS220", "ASYNC220"),
    "process": ("LS221", "ASYNC221"),
    "process-wait": ("LS222", "ASYNC222"),
    "open": ("LS230", "ASYNC230"),
    "fdopen": ("LS231", "ASYNC231"),
    "file": ("LS232", "ASYNC232"),
    "archive": ("LS233", ""),
    "path": ("LS240", "ASYNC240"),
    "input": ("LS250", "ASYNC250"),
    "sleep": ("LS251", "ASYNC251"),
    "os": ("LS260", ""),
    "shutil": ("LS261", ""),
    "media": ("LS262", ""),
    "import": ("LS263", ""),
    "network": ("LS270", ""),
    "database": ("LS271", ""),
    "service": ("LS272", ""),
    # Not a call: a loop in a coroutine that polls an object without ever awaiting.
    "busy-wait": ("LS280", ""),
    # Not a catalog entry: a sync function of the module that reaches one (codemods.analysis.helpers).
    "helper": ("LS301", ""),
}

#: What each code is about, in a few words (rule descriptions in SARIF output).
TITLES: Mapping[str, str] = {
    "LS200": "a blocking callable of the project's configuration in a coroutine",
    "LS210": "a blocking HTTP request in a coroutine",
    "LS212": "a blocking HTTP client method in a coroutine",
    "LS220": "a process started from a coroutine",
    "LS221": "a blocking process run in a coroutine",
    "LS222": "a blocking wait for a process in a coroutine",
    "LS230": "a file opened in a coroutine",
    "LS231": "a file descriptor opened as a file in a coroutine",
    "LS232": "blocking file I/O in a coroutine",
    "LS233": "blocking archive or compressed-file I/O in a coroutine",
    "LS240": "a blocking path or file system query in a coroutine",
    "LS250": "blocking console input in a coroutine",
    "LS251": "a blocking sleep in a coroutine",
    "LS260": "a blocking os call in a coroutine",
    "LS261": "a blocking shutil call in a coroutine",
    "LS262": "blocking image, media or document processing in a coroutine",
    "LS263": "a module imported or reloaded in a coroutine",
    "LS270": "blocking network I/O in a coroutine",
    "LS271": "a blocking database call in a coroutine",
    "LS272": "a blocking call of a synchronous service client (cloud, LLM, VCS, message queue) in a coroutine",
    "LS280": "a busy-wait loop in a coroutine: it polls an object without awaiting, so nothing else runs",
    "LS301": "a call in a coroutine of the module's own sync function, which blocks",
}

# Reasons for report-only entries, shown after "not fixed automatically: ".
LAZY = "it returns a lazy iterator that blocks as it is consumed; move the whole loop into a function run with asyncio.to_thread"
FILE_OBJECT = (
    "it returns a file object whose reads and writes block too; move the work into a "
    "function run with asyncio.to_thread (loopsafe does this for simple `with open(...)` blocks)"
)
STARTS_PROCESS = "it starts a process without waiting; what blocks is the later wait/communicate/read: use asyncio.create_subprocess_exec"
SQLITE = "a sqlite3 connection is bound to the thread that made it (check_same_thread): use aiosqlite, or do all the work in one function run with asyncio.to_thread"
SOCKET = "blocking socket I/O: use asyncio streams (asyncio.open_connection) or loop.sock_*() on a non-blocking socket"
CONTEXT_MANAGER = "it is a context manager that keeps blocking inside the block; use the library's async client"
TEMPORARY = (
    "it makes a file or directory on disk and removes it when closed or at the end of a with block, whose "
    "reads and writes block too; move the work into a function run with asyncio.to_thread"
)


def _entries(category: str, qualnames: Iterable[str], **kwargs: object) -> list[BlockingCall]:
    return [BlockingCall(name, category, **kwargs) for name in qualnames]  # type: ignore[arg-type]


def _names(prefix: str, members: str) -> list[str]:
    return [f"{prefix}.{member}" for member in members.split()]


_HTTP_VERBS = "get post put patch delete head options request"
_STREAM = StreamingArg("stream", off=False)
_NO_PRELOAD = StreamingArg("preload_content", off=True)
_P_WAIT = ArgCondition(0, "mode", "os.P_WAIT")
_WNOHANG_WAITPID = ArgCondition(1, "options", "os.WNOHANG")

# Parameters that may take mutable objects (dicts, lists, files, iterators), per callable.
_REQUESTS_OBJECTS = "params data json cookies files auth hooks"
_HTTPX_OBJECTS = "params content data files json cookies auth"
_HEADERS = "headers proxies"  # dicts of str
_URLLIB3_OBJECTS = "body fields json"
_PROCESS = shares("args", "stdin stdout stderr", shallow="args env pass_fds")


def _verbs(module: str, positional: Mapping[str, str], objects: str, **kwargs: object) -> list[BlockingCall]:
    """HTTP verb functions, each with its own positional parameters (``post(url, data, json)``)."""
    return [
        BlockingCall(f"{module}.{verb}", "http", shares=shares(names, objects, _HEADERS), **kwargs)  # type: ignore[arg-type]
        for verb, names in positional.items()
    ]


_REQUESTS_POSITIONAL = {"get": "url params", "post": "url data json", "put": "url data", "patch": "url data",
                        "delete": "url", "head": "url", "options": "url", "request": "method url"}
_HTTPX_POSITIONAL = {verb: "url" for verb in _HTTP_VERBS.split()} | {"request": "method url"}

CATALOG: tuple[BlockingCall, ...] = (
    # -- sleep and input --------------------------------------------------------------
    *_entries("sleep", ["time.sleep"], strategy=Strategy.NATIVE, native=Native("sleep")),
    *_entries("input", ["builtins.input", *_names("sys.stdin", "read readline readlines"),
                        *_names("sys.stdin.buffer", "read read1 readline readlines")]),
    # -- HTTP ------------------------------------------------------------------------
    *_verbs("requests", _REQUESTS_POSITIONAL, _REQUESTS_OBJECTS, streams_if=_STREAM),
    *_verbs("requests.api", _REQUESTS_POSITIONAL, _REQUESTS_OBJECTS, streams_if=_STREAM),
    *_verbs("httpx", _HTTPX_POSITIONAL, _HTTPX_OBJECTS),
    *_entries("http", ["httpx.stream"], strategy=Strategy.REPORT, reason=CONTEXT_MANAGER),
    *_entries("http", ["urllib.request.urlopen"], shares=shares("url data", "data")),
    *_entries("http", ["urllib.request.urlretrieve"], shares=shares("url filename reporthook data", "reporthook data")),
    *_entries("http", ["urllib3.request"], streams_if=_NO_PRELOAD, shares=shares("method url", _URLLIB3_OBJECTS, "headers")),
    # -- processes -------------------------------------------------------------------
    *_entries("process", _names("subprocess", "run call check_call check_output"), shares=_PROCESS),
    *_entries("process", _names("subprocess", "getoutput getstatusoutput")),
    *_entries("process", ["os.system"]),
    *_entries("process", _names("os", "spawnl spawnle spawnlp spawnlpe spawnv spawnve spawnvp spawnvpe"),
              blocks_only_if=_P_WAIT),
    *_entries("process-start", ["subprocess.Popen", "os.popen", "os.posix_spawn", "os.posix_spawnp"],
              strategy=Strategy.REPORT, reason=STARTS_PROCESS),
    *_entries("process-wait", ["os.waitpid"], nonblocking_if=_WNOHANG_WAITPID),
    *_entries("process-wait", ["os.wait3"], nonblocking_if=ArgCondition(0, "options", "os.WNOHANG")),
    *_entries("process-wait", ["os.wait4"], nonblocking_if=_WNOHANG_WAITPID),
    *_entries("process-wait", ["os.waitid"], nonblocking_if=ArgCondition(2, "options", "os.WNOHANG")),
    *_entries("process-wait", ["os.wait"]),
    # -- files -----------------------------------------------------------------------
    *_entries("open", ["builtins.open", "io.open", "io.open_code", "codecs.open", "gzip.open", "bz2.open", "lzma.open"],
              strategy=Strategy.REPORT, reason=FILE_OBJECT, opens_file=True),
    *_entries("fdopen", ["os.fdopen"], strategy=Strategy.REPORT, reason=FILE_OBJECT, opens_file=True),
    *_entries("path", _names("os.path", "exists isfile isdir islink lexists ismount getatime getctime getmtime "
                                        "getsize samefile sameopenfile realpath relpath abspath expanduser")),
    *_entries("path", _names("pathlib.Path", "cwd home")),
    *_entries("os", _names("os", "stat lstat listdir mkdir makedirs rename renames replace remove unlink rmdir "
                                 "removedirs link symlink readlink access chmod chown lchown truncate utime "
                                 "statvfs getcwd sendfile open read fsync fdatasync")),
    *_entries("os", ["os.write"], shares=shares("fd data", "data")),  # a bytearray or memoryview
    *_entries("os", ["os.scandir", "os.walk", "os.fwalk", "glob.iglob"], strategy=Strategy.REPORT, reason=LAZY),
    *_entries("os", ["glob.glob", "tempfile.mkstemp", "tempfile.mkdtemp"]),
    *_entries("os", _names("tempfile", "TemporaryDirectory NamedTemporaryFile TemporaryFile SpooledTemporaryFile"),
              strategy=Strategy.REPORT, reason=TEMPORARY),
    *_entries("shutil", _names("shutil", "copy copy2 copyfile copymode copystat rmtree move "
                                         "chown disk_usage make_archive unpack_archive which")),
    *_entries("shutil", ["shutil.copyfileobj"], shares=shares("fsrc fdst", "fsrc fdst")),  # files
    *_entries("shutil", ["shutil.copytree"], shares=shares("src dst symlinks ignore copy_function", "ignore copy_function")),
    # -- network and databases -------------------------------------------------------
    *_entries("network", ["socket.getaddrinfo"], strategy=Strategy.NATIVE,
              native=Native("getaddrinfo", on_running_loop=True, positional=2,
                            keyword_only=("family", "type", "proto", "flags"))),
    *_entries("network", ["socket.getnameinfo"], strategy=Strategy.NATIVE,
              native=Native("getnameinfo", on_running_loop=True, positional=2)),
    *_entries("network", _names("socket", "gethostbyname gethostbyname_ex gethostbyaddr getfqdn create_connection")),
    *_entries("database", ["sqlite3.connect"], strategy=Strategy.REPORT, reason=SQLITE),
)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per type
class BlockingType:
    """Objects made by a blocking constructor, and which of their methods block.

    A method called on such an object (bound in the same coroutine by ``x = Ctor(...)``,
    by ``with Ctor(...) as x``, annotated as the type, or made inline ``Ctor(...).m()``)
    is found like a catalog function; methods not listed are pure and left alone.
    """

    name: str
    constructors: tuple[str, ...]
    category: str
    methods: tuple[str, ...]
    #: Methods that block but have no safe rewrite, with the reason.
    report: Mapping[str, str] = field(default_factory=dict)
    #: Classes that name this type in an annotation (``session: requests.Session``).
    annotations: tuple[str, ...] = ()
    #: ``obj / "name"`` gives another object of this type (paths).
    joins: bool = False
    #: Pure attributes and methods that give another object of this type (``p.parent``).
    derives: tuple[str, ...] = ()
    #: Methods that may stream the response (reported when they do).
    streams_if: Mapping[str, StreamingArg] = field(default_factory=dict)
    #: Methods with parameters that may take mutable objects.
    shares: Mapping[str, Shares] = field(default_factory=dict)
    #: Methods that open a file (``p.open()``): reported as ``open()`` is (``FILE_OBJECT``),
    #: their result is a file, and a ``with`` block over them may be moved to a thread.
    opens: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return CATEGORIES[self.category][0]


_OPEN_FAMILY = ("builtins.open", "io.open", "io.open_code", "codecs.open", "gzip.open", "bz2.open", "lzma.open", "os.fdopen")
_PATHS = ("pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath")
_PATH_FACTORIES = ("pathlib.Path.cwd", "pathlib.Path.home")

TYPES: tuple[BlockingType, ...] = (
    BlockingType("requests.Session", ("requests.Session", "requests.session", "requests.sessions.Session"),
                 "http-client", (*_HTTP_VERBS.split(), "send"),
                 annotations=("requests.Session", "requests.sessions.Session"),
                 streams_if=dict.fromkeys((*_HTTP_VERBS.split(), "send"), _STREAM),
                 shares={verb: shares(names, _REQUESTS_OBJECTS, _HEADERS) for verb, names in _REQUESTS_POSITIONAL.items()}
                 | {"send": shares("request", "request")}),
    BlockingType("httpx.Client", ("httpx.Client",), "http-client", (*_HTTP_VERBS.split(), "send"),
                 report={"stream": CONTEXT_MANAGER}, annotations=("httpx.Client",), streams_if={"send": _STREAM},
                 shares={verb: shares(names, _HTTPX_OBJECTS, _HEADERS) for verb, names in _HTTPX_POSITIONAL.items()}
                 | {"send": shares("request", "request")}),
    BlockingType("urllib3.PoolManager",
                 ("urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.HTTPConnectionPool",
                  "urllib3.HTTPSConnectionPool", "urllib3.connection_from_url"),
                 "http-client", ("request", "request_encode_url", "request_encode_body", "urlopen"),
                 annotations=("urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.HTTPConnectionPool",
                              "urllib3.HTTPSConnectionPool"),
                 streams_if=dict.fromkeys(("request", "request_encode_url", "request_encode_body", "urlopen"),
                                          _NO_PRELOAD),
                 shares=dict.fromkeys(("request", "request_encode_url", "request_encode_body", "urlopen"),
                                      shares("method url", _URLLIB3_OBJECTS, "headers"))),
    BlockingType("file", _OPEN_FAMILY, "file",
                 ("read", "read1", "readinto", "readline", "readlines", "write", "writelines", "flush", "truncate", "close"),
                 annotations=("io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.BufferedRandom",
                              "io.FileIO", "typing.TextIO", "typing.BinaryIO"),
                 shares={"readinto": shares("buffer", "buffer"), "write": shares("data", "data"),  # bytearray
                         "writelines": shares("lines", "", "lines")}),
    BlockingType("pathlib.Path", (*_PATHS, *_PATH_FACTORIES), "path",
                 ("read_text", "read_bytes", "write_text", "write_bytes", "exists", "is_file", "is_dir",
                  "is_symlink", "is_mount", "is_socket", "is_fifo", "is_block_device", "is_char_device",
                  "mkdir", "unlink", "rmdir", "rename", "replace", "stat", "lstat", "touch", "resolve",
                  "chmod", "lchmod", "samefile", "owner", "group", "readlink", "symlink_to", "hardlink_to",
                  "absolute", "expanduser", "link_to", "cwd", "home"),
                 report={"iterdir": LAZY, "glob": LAZY, "rglob": LAZY, "walk": LAZY},
                 annotations=_PATHS, joins=True, opens=("open",),
                 derives=("parent", "with_name", "with_stem", "with_suffix", "joinpath", "relative_to",
                          "resolve", "absolute", "expanduser")),  # the last three block, and give a path
    BlockingType("http.client.HTTPResponse", ("urllib.request.urlopen",), "http-client",
                 ("read", "read1", "readinto", "readline", "readlines", "peek"),
                 annotations=("http.client.HTTPResponse",)),
    BlockingType("http.client.HTTPConnection", ("http.client.HTTPConnection", "http.client.HTTPSConnection"),
                 "http-client", ("request", "getresponse", "connect", "send", "endheaders"),
                 annotations=("http.client.HTTPConnection", "http.client.HTTPSConnection")),
    BlockingType("socket.socket", ("socket.socket", "socket.create_connection", "socket.create_server"), "network",
                 (), report={m: SOCKET for m in "connect accept send sendall sendto sendfile recv recv_into "
                                                "recvfrom recvfrom_into recvmsg".split()},
                 annotations=("socket.socket",)),
    BlockingType("sqlite3.Connection", ("sqlite3.connect",), "database", (),
                 report={m: SQLITE for m in "execute executemany executescript commit rollback cursor".split()},
                 annotations=("sqlite3.Connection",)),
    # ``subprocess.Popen(...)`` itself is reported (``STARTS_PROCESS``); what blocks is the wait.
    BlockingType("subprocess.Popen", ("subprocess.Popen",), "process-wait", ("wait", "communicate"),
                 annotations=("subprocess.Popen",), shares={"communicate": shares("input timeout", "input")}),
)


def method_entry(kind: BlockingType, method: str) -> BlockingCall | None:
    """The catalog entry for ``<kind object>.<method>(...)``, if it blocks."""
    qualname = f"{kind.name}.{method}"
    if method in kind.methods:
        return BlockingCall(qualname, kind.category, streams_if=kind.streams_if.get(method), shares=kind.shares.get(method))
    if method in kind.report:
        return BlockingCall(qualname, kind.category, Strategy.REPORT, reason=kind.report[method])
    if method in kind.opens:
        return BlockingCall(qualname, kind.category, Strategy.REPORT, reason=FILE_OBJECT, opens_file=True)
    return None


def build_index(
    extra: Iterable[BlockingCall] = (), ignore: Iterable[str] = ()
) -> dict[str, BlockingCall]:
    """The catalog keyed by qualified name, with user entries added and ignored names
    dropped (codes are selected on findings: ``Settings.allows``)."""
    index = {entry.qualname: entry for entry in CATALOG}
    index.update({entry.qualname: entry for entry in extra})
    for name in ignore:
        index.pop(name, None)
    return index


#: ``ASYNC251`` -> ``LS251``: the flake8-async / ruff codes users may already write.
ASYNC_CODES: Mapping[str, str] = {async_code: code for code, async_code in CATEGORIES.values() if async_code}
CODES: frozenset[str] = frozenset(code for code, _ in CATEGORIES.values())


def normalize_code(text: str) -> str | None:
    """``LS251`` or ``ASYNC251`` (any case) -> ``LS251``; ``None`` if it is not a code of ours."""
    upper = text.strip().upper()
    if upper in CODES:
        return upper
    return ASYNC_CODES.get(upper)


def catalog_names(extra: Iterable[BlockingCall] = ()) -> frozenset[str]:
    """Every name ``ignore`` may list: functions, types and their methods."""
    names = {entry.qualname for entry in CATALOG} | {entry.qualname for entry in extra}
    for kind in TYPES:
        names.add(kind.name)
        names.update(f"{kind.name}.{method}" for method in (*kind.methods, *kind.report, *kind.opens))
    return frozenset(names)


def build_constructor_index(ignore: Iterable[str] = ()) -> dict[str, BlockingType]:
    """Constructor qualified name -> the type of object it makes."""
    ignored = set(ignore)
    return {ctor: kind for kind in TYPES if kind.name not in ignored for ctor in kind.constructors}


def build_annotation_index(ignore: Iterable[str] = ()) -> dict[str, BlockingType]:
    """Class qualified name (as used in annotations) -> the type it names."""
    ignored = set(ignore)
    return {cls: kind for kind in TYPES if kind.name not in ignored for cls in kind.annotations}


def user_entry(qualname: str, strategy: str = "to_thread") -> BlockingCall:
    """An entry from ``[tool.loopsafe.blocking]``; raises ``ValueError`` on bad input."""
    if not qualname or any(not part.isidentifier() for part in qualname.split(".")):
        raise ValueError(f"not a dotted name: {qualname!r}")
    try:
        parsed = Strategy(strategy)
    except ValueError:
        choices = ", ".join(s.value for s in Strategy if s is not Strategy.NATIVE)
        raise ValueError(f"unknown strategy {strategy!r} for {qualname} (use {choices})") from None
    if parsed is Strategy.NATIVE:
        raise ValueError(f"strategy 'native' is only available for built-in entries ({qualname})")
    reason = "configured as report-only in [tool.loopsafe]" if parsed is Strategy.REPORT else None
    return BlockingCall(qualname, "user", parsed, reason=reason)


# -- what may run in a worker thread (moved ``with`` blocks) -----------------------------

#: Callables a moved ``with open(...)`` block may call besides the catalog above: pure
#: computation, or I/O on their arguments, with no event loop, frame or shared state.
#: ``module.*`` covers every function of a module. Calls of anything else (project code,
#: unknown libraries) keep the block on the loop, reported.
THREAD_SAFE: tuple[str, ...] = (
    *_names("builtins", "abs all any ascii bin bool bytearray bytes callable chr complex dict divmod enumerate "
                        "filter float format frozenset getattr hasattr hash hex id int isinstance issubclass iter "
                        "len list map max min oct ord pow print range repr reversed round set slice sorted str sum "
                        "tuple type zip memoryview"),
    "json.*", "csv.*", "pickle.*", "marshal.*", "tomllib.*", "tomli.*", "toml.*", "orjson.*", "ujson.*",
    "yaml.safe_load", "yaml.safe_dump", "yaml.safe_load_all", "yaml.safe_dump_all", "yaml.load", "yaml.dump", "base64.*", "binascii.*", "hashlib.*", "hmac.*", "zlib.*",
    "struct.*", "re.*", "string.*", "textwrap.*", "fnmatch.*", "glob.*", "os.path.*", "posixpath.*", "ntpath.*",
    "os.fspath", "os.fsencode", "os.fsdecode", "os.getenv", "os.environ.get", "os.getpid", "io.StringIO",
    "io.BytesIO", "datetime.*", "time.time", "time.monotonic", "time.perf_counter", "time.strftime",
    "time.localtime", "time.gmtime", "math.*", "itertools.*", "operator.*", "collections.*", "copy.*", "uuid.*",
    "decimal.Decimal", "fractions.Fraction", "functools.reduce", "unicodedata.*", "html.escape", "html.unescape",
    "urllib.parse.*", "mimetypes.guess_type", "gzip.compress", "gzip.decompress", "zipfile.*", "tarfile.*",
    "tempfile.*", "shutil.*", "logging.debug", "logging.info", "logging.warning", "logging.error",
    "logging.critical", "logging.log", "logging.getLogger",
)

#: Callables whose result a moved block may call methods on (values of builtin types,
#: files, readers and writers), besides those of ``THREAD_SAFE`` that make plain data.
FILE_LIKE: tuple[str, ...] = ("io.StringIO", "io.BytesIO", "csv.reader", "csv.writer", "csv.DictReader",
                              "csv.DictWriter", "zipfile.ZipFile", "tarfile.open")

#: Methods of loggers (``logging.getLogger(...)``) a moved block may call.
LOGGER_METHODS: tuple[str, ...] = ("debug", "info", "warning", "warn", "error", "critical", "log", "exception")

#: Callables that can't run in a worker thread, and why (finishing "the block ...").
THREAD_BOUND: Mapping[str, str] = {
    "builtins.super": "calls super() without arguments, which needs the method's own frame",
    "builtins.locals": "calls locals(), which would see the function it moves into",
    "builtins.vars": "calls vars() without arguments, which would see the function it moves into",
    "builtins.globals": "calls globals()",
    "builtins.exec": "runs code with exec(), which may use the event loop or the coroutine's variables",
    "builtins.eval": "runs code with eval(), which may use the event loop or the coroutine's variables",
    "builtins.compile": "compiles code",
    "builtins.__import__": "imports modules, whose code would run in the worker thread",
    "builtins.breakpoint": "calls breakpoint()",
    "sys._getframe": "calls sys._getframe(), which would see the function it moves into",
    "inspect.currentframe": "calls inspect.currentframe(), which would see the function it moves into",
    "inspect.stack": "calls inspect.stack(), which would see the worker thread's stack",
    "importlib.import_module": "imports modules, whose code would run in the worker thread",
    "importlib.reload": "imports modules, whose code would run in the worker thread",
    "threading.local": "uses threading.local, whose values differ per thread",
}

#: Callables that read the exception being handled: a worker thread has none.
CURRENT_EXCEPTION: tuple[str, ...] = ("sys.exc_info", "sys.exception", "traceback.format_exc", "traceback.print_exc",
                                      "logging.exception")

#: Modules that belong to the event loop: nothing of theirs may run in a worker thread.
EVENT_LOOP_MODULES: tuple[str, ...] = ("asyncio", "anyio", "trio", "uvloop")

# -- where a new await may not go (sync ``with`` statements) -----------------------------

#: Context managers that hold process-wide state while their block runs: an await in the
#: block lets every other task run inside it (a lock held across an await deadlocks the
#: tasks that take it; a redirected stdout captures their prints). Found by constructor,
#: and on objects made by these constructors (``lock = threading.Lock()``).
HOLDS_PROCESS_STATE: frozenset[str] = frozenset({
    "threading.Lock", "threading.RLock", "threading.Semaphore", "threading.BoundedSemaphore",
    "threading.Condition", "multiprocessing.Lock", "multiprocessing.RLock",
    "contextlib.redirect_stdout", "contextlib.redirect_stderr", "contextlib.chdir",
    "decimal.localcontext", "warnings.catch_warnings", "unittest.mock.patch", "unittest.mock.patch.object",
})

#: Exceptions whose handlers (or ``contextlib.suppress``) also catch a task's cancellation
#: (``concurrent.futures.CancelledError`` is an ``Exception`` apart from asyncio's since 3.8).
CANCELLATION: frozenset[str] = frozenset({
    "builtins.BaseException", "asyncio.CancelledError", "asyncio.exceptions.CancelledError", "trio.Cancelled",
})

#: Functions that call the functions they are given on the spot, in the caller's thread:
#: a blocking function passed to one in a coroutine (``max(paths, key=os.path.getmtime)``)
#: blocks the loop (reported). A ``.sort(key=...)`` method is taken as ``list.sort``.
CALLS_ITS_CALLBACKS: frozenset[str] = frozenset({
    "builtins.max", "builtins.min", "builtins.sorted", "builtins.map", "builtins.filter", "functools.reduce",
    "itertools.filterfalse", "itertools.takewhile", "itertools.dropwhile", "itertools.groupby",
    "itertools.starmap", "itertools.accumulate", "heapq.nlargest", "heapq.nsmallest",
})

#: Context managers known to hold nothing an await could disturb: files and clients of the
#: catalog (their constructors), and these.
SAFE_CONTEXT_MANAGERS: tuple[str, ...] = (
    "contextlib.nullcontext", "contextlib.closing", "tempfile.TemporaryDirectory", "tempfile.NamedTemporaryFile",
    "tempfile.TemporaryFile", "tempfile.SpooledTemporaryFile", "zipfile.ZipFile", "tarfile.open", "os.scandir",
    "io.StringIO", "io.BytesIO", "concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor",
)


# -- what a worker thread may be handed (``codemods.analysis.confinement``) --------------

#: Callables whose result is immutable (str, bytes, numbers, bool, paths), whatever their
#: arguments: handed to a thread, no other task can change it. ``module.*`` covers a module.
IMMUTABLE_RESULTS: tuple[str, ...] = (
    *_names("builtins", "str int float bool bytes complex len repr ascii format hash id ord chr hex oct bin "
                        "round abs divmod isinstance issubclass callable hasattr any all sum"),
    "os.path.*", "posixpath.*", "ntpath.*", "os.fspath", "os.fsencode", "os.fsdecode", "os.getenv", "os.getcwd",
    "os.getpid", "os.environ.get", "json.dumps", "pickle.dumps", "marshal.dumps", "base64.*", "binascii.*",
    "time.time", "time.monotonic", "time.perf_counter", "time.strftime", "datetime.*",
    "uuid.*", "math.*", "decimal.Decimal", "fractions.Fraction", "textwrap.*", "html.escape", "html.unescape",
    "urllib.parse.quote", "urllib.parse.unquote", "urllib.parse.urlencode", "urllib.parse.urljoin",
    "shlex.quote", "shlex.join", "re.escape", "re.sub", "string.*", "unicodedata.*", "traceback.format_exc",
    "socket.gethostname",
    *_PATHS, *_PATH_FACTORIES, "pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath",
)
#: Callables whose result is one of the items of their first argument (checked like the items).
ITEM_RESULTS: tuple[str, ...] = tuple(_names("builtins", "min max next"))

#: Callables that return a new container holding the items of their arguments (a shallow
#: copy): the container is the coroutine's, the items are those of the arguments.
COPIES: tuple[str, ...] = (
    *_names("builtins", "list dict set frozenset tuple sorted bytearray"), "copy.copy", "collections.*",
)

#: Callables whose result is a new object nothing else holds (a deep copy, a parsed document).
FRESH_RESULTS: tuple[str, ...] = (
    "copy.deepcopy", "json.loads", "json.load", "pickle.loads", "pickle.load", "marshal.loads", "tomllib.loads",
    "tomllib.load", "io.StringIO", "io.BytesIO", "builtins.object", "shlex.split", *_OPEN_FAMILY,
)

#: Lazy views: iterating them later, in the thread, reads their arguments then.
LAZY_VIEWS: tuple[str, ...] = tuple(_names("builtins", "enumerate zip map filter reversed iter"))
#: Callables that return a lazy view of their iterable arguments, and which arguments (a
#: slice): a loop over one reads the container as it goes (no await in its body).
LAZY_VIEW_ARGUMENTS: Mapping[str, tuple[int, int | None]] = {
    "builtins.enumerate": (0, 1), "builtins.zip": (0, None), "builtins.map": (1, None), "builtins.filter": (1, 2),
    "builtins.reversed": (0, 1), "itertools.chain": (0, None), "itertools.islice": (0, 1),
    "itertools.zip_longest": (0, None), "itertools.starmap": (1, 2),
    "builtins.iter": (0, 1),  # ``iter(f, sentinel)`` calls f instead: not a view
}
#: Methods that give a lazy view of their object (``d.items()``).
VIEW_METHODS: tuple[str, ...] = ("items", "keys", "values")

#: Annotations of values that are immutable.
IMMUTABLE_ANNOTATIONS: tuple[str, ...] = (
    *_names("builtins", "str bytes int float complex bool"), *_PATHS, "pathlib.PurePath", "typing.Literal",
    "datetime.datetime", "datetime.date", "datetime.timedelta", "uuid.UUID", "decimal.Decimal",
)

#: Objects bound to a thread or to the event loop, by constructor or annotation: never
#: handed to a worker thread, whoever made them (finishing "its argument `x` is ...").
_SQLITE = "a sqlite3 object, which refuses use from any thread but the one that made it (check_same_thread)"
_ASYNCIO = ("an asyncio object, which is not thread-safe: its methods (set_result, put_nowait, set, ...) must "
            "run on the event loop's thread")
_LOOP = "the event loop, which is not thread-safe: only call_soon_threadsafe may be used from another thread"
_LOCK = ("a threading lock, which the loop's thread may hold: taken in the worker it blocks it, or deadlocks "
         "(RLock re-entrancy is per thread)")
THREAD_AFFINE: Mapping[str, str] = {
    **dict.fromkeys(("sqlite3.connect", "sqlite3.Connection", "sqlite3.Cursor", "sqlite3.Connection.cursor"), _SQLITE),
    **dict.fromkeys(_names("asyncio", "Future Queue LifoQueue PriorityQueue Event Lock Condition Semaphore "
                                      "BoundedSemaphore Task create_task ensure_future"), _ASYNCIO),
    **dict.fromkeys(_names("asyncio.queues", "Queue LifoQueue PriorityQueue"), _ASYNCIO),
    **dict.fromkeys(("asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.new_event_loop",
                     "asyncio.AbstractEventLoop", "asyncio.BaseEventLoop"), _LOOP),
    **dict.fromkeys(_names("threading", "Lock RLock Condition Semaphore BoundedSemaphore"), _LOCK),
}
#: Methods of the event loop that make loop-bound objects (``loop.create_future()``).
LOOP_FACTORIES: tuple[str, ...] = ("create_future", "create_task")

#: Attributes of standard modules that are process-wide state other tasks may change;
#: the standard library's other module attributes are constants, functions and classes.
SHARED_MODULE_STATE: tuple[str, ...] = ("os.environ", "sys.path", "sys.modules", "sys.argv", "sys.meta_path")
