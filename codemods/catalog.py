"""The catalog: which callables block the event loop, and how each one is fixed.

This module is data. Adding a blocking callable is one line in ``CATALOG`` (a function,
by qualified name) or in ``TYPES`` (a method of objects made by a known constructor);
the machinery that finds and rewrites calls never names a callable itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Iterable, Mapping

# The codes are the catalog's too (each entry's category decides its code).
from codemods.codes import ASYNC_CODES as ASYNC_CODES, CATEGORIES as CATEGORIES, CODES as CODES
from codemods.codes import TITLES as TITLES, normalize_code as normalize_code


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
class IOArgument:
    """The argument naming what a call reads, writes or connects to (``Image.open(fp)``,
    ``smtplib.SMTP(host)``): the call does no I/O when that argument is an in-memory
    buffer made by one of ``in_memory`` (``Image.open(io.BytesIO(data))``, inline or a
    local bound only that way), nor, with ``optional``, when it is not given
    (``smtplib.SMTP()`` connects only when given a host).
    """

    index: int
    keyword: str
    in_memory: tuple[str, ...] = ()
    optional: bool = False


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
    #: Every argument may take a mutable object: SDK methods whose parameters are not listed
    #: (``collection.insert_one(doc)`` adds ``_id`` to ``doc``; boto3's ``Body=``), callables
    #: declared in ``[tool.loopsafe] blocking``; ``positional`` and ``mutable`` are unused.
    every: bool = False

    def takes_object(self, position: int | None, keyword: str | None) -> bool:
        """Whether the argument at ``position`` (or given as ``keyword``) may be a mutable object."""
        return self.every or self.name(position, keyword) in self.mutable

    def name(self, position: int | None, keyword: str | None) -> str | None:
        if keyword is not None:
            return keyword
        return self.positional[position] if position is not None and position < len(self.positional) else None


#: Parameters not listed, any of which may take a mutable object.
EVERY_ARGUMENT = Shares((), frozenset(), every=True)
#: A method pattern (``BlockingType.methods``, ``report``...) covering every public name.
PUBLIC_METHODS = "[!_]*"


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
    #: Not blocking when this argument is an in-memory buffer (or, if optional, not given).
    io_argument: IOArgument | None = None

    @property
    def code(self) -> str:
        """The finding code, which the category decides (``CATEGORIES``)."""
        return CATEGORIES[self.category][0]


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

IMPORT = (
    "the module's code runs when it is first imported (or reloaded): in a worker thread it would run while other "
    "tasks run, and module code may need the event loop's thread (asyncio.get_event_loop(), signal.signal) or "
    "change process-wide state; import it at startup, or call this in a function run with asyncio.to_thread if "
    "the module is known to import safely in a thread (it is a cheap lookup once the module is imported)"
)
MEMBER_FILE = (
    "it returns a file object for a member of the archive, whose reads block too; read the member in one "
    "function run with asyncio.to_thread"
)
#: Reasons of the database and service client entries.
SERVER_CURSOR = (
    "it returns a cursor that fetches its results from the server as it is iterated, on the event loop; run the "
    "query and the loop over it in one function with asyncio.to_thread"
)
PAGES = ("it returns an iterator that fetches its pages from the service as it is iterated, on the event loop; run "
         "the call and the loop over it in one function with asyncio.to_thread")
CALLS_BACK = ("it calls the functions it is given (consumer callbacks, a transaction function) in the thread that "
              "runs it, while other tasks run; move the work into one function run with asyncio.to_thread")
CHANNEL_FILES = (
    "it returns the command's stdin, stdout and stderr as channel files whose reads block until the command "
    "writes or ends; run the command and the reads in one function with asyncio.to_thread"
)


def _entries(category: str, qualnames: Iterable[str], **kwargs: object) -> list[BlockingCall]:
    return [BlockingCall(name, category, **kwargs) for name in qualnames]  # type: ignore[arg-type]


def _names(prefix: str, members: str) -> list[str]:
    return [f"{prefix}.{member}" for member in members.split()]


_HTTP_VERBS = "get post put patch delete head options request"
_BUFFERS = ("io.BytesIO",)
_IN_MEMORY_FP = IOArgument(0, "fp", _BUFFERS)
_COMPRESSED_FILES = ("gzip.GzipFile", "bz2.BZ2File", "lzma.LZMAFile")
_DNN_READERS = tuple(_names("cv2.dnn", "readNet readNetFromCaffe readNetFromDarknet readNetFromONNX "
                                      "readNetFromTensorflow readNetFromTorch readNetFromTFLite"))
_SMTP = tuple(_names("smtplib", "SMTP SMTP_SSL LMTP"))
_FTP = tuple(_names("ftplib", "FTP FTP_TLS"))
_IMAP = tuple(_names("imaplib", "IMAP4 IMAP4_SSL"))
_POP = tuple(_names("poplib", "POP3 POP3_SSL"))
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
    # -- media, documents, archives, imports ----------------------------------------------
    # Pillow opens the file and reads the header (the pixels later, on load()); of an
    # in-memory buffer it only parses the header. Fonts: FreeType reads the file.
    *_entries("media", ["PIL.Image.open"], io_argument=_IN_MEMORY_FP, shares=shares("fp", "fp")),
    *_entries("media", ["PIL.ImageFont.truetype"], io_argument=IOArgument(0, "font", _BUFFERS),
              shares=shares("font", "font")),
    # OpenCV: files and devices. Its per-pixel filters (cvtColor, GaussianBlur, resize)
    # take milliseconds: not listed; model loading and inference (dnn, cascades) are.
    *_entries("media", _names("cv2", "imread imreadmulti")),
    *_entries("media", ["cv2.imwrite"], shares=shares("filename img", "img")),  # a numpy array
    *_entries("media", ["cv2.VideoCapture"], io_argument=IOArgument(0, "filename", optional=True)),
    *_entries("media", ["cv2.VideoWriter"], io_argument=IOArgument(0, "filename", optional=True)),
    *_entries("media", ["cv2.CascadeClassifier"], io_argument=IOArgument(0, "filename", optional=True)),
    *_entries("media", _DNN_READERS),
    # Documents: a reader of a path reads the file (pypdf reads it whole); of a buffer it
    # parses the trailer only. python-docx and openpyxl parse the whole package, from a
    # buffer too; docx.Document() without a file reads only its small built-in template.
    *_entries("media", ["pypdf.PdfReader", "PyPDF2.PdfReader", "PyPDF2.PdfFileReader"],
              io_argument=IOArgument(0, "stream", _BUFFERS), shares=shares("stream", "stream")),
    *_entries("media", ["docx.Document", "docx.api.Document"], io_argument=IOArgument(0, "docx", optional=True),
              shares=shares("docx", "docx")),
    *_entries("media", ["openpyxl.load_workbook", "openpyxl.reader.excel.load_workbook"],
              shares=shares("filename", "filename")),
    # Archives: the constructor opens the file and reads its directory (of a buffer: memory only).
    *_entries("archive", ["zipfile.ZipFile", "zipfile.PyZipFile"], io_argument=IOArgument(0, "file", _BUFFERS),
              shares=shares("file", "file")),
    *_entries("archive", ["tarfile.open", "tarfile.TarFile.open", "tarfile.TarFile"],
              io_argument=IOArgument(2, "fileobj", _BUFFERS), shares=shares("name mode fileobj", "fileobj")),
    *_entries("archive", ["shelve.open", "dbm.open", "dbm.dumb.open", "dbm.gnu.open", "dbm.ndbm.open"]),
    *_entries("archive", ["wave.open"], io_argument=IOArgument(0, "f", _BUFFERS), shares=shares("f", "f")),
    # The classes behind gzip/bz2/lzma.open and io.open: files like theirs (LS230), and
    # their ``with`` blocks move the same way. Over an in-memory ``fileobj`` they only (de)compress.
    *_entries("open", ["gzip.GzipFile"], strategy=Strategy.REPORT, reason=FILE_OBJECT, opens_file=True,
              io_argument=IOArgument(3, "fileobj", _BUFFERS)),
    *_entries("open", ["bz2.BZ2File", "lzma.LZMAFile"], strategy=Strategy.REPORT, reason=FILE_OBJECT,
              opens_file=True, io_argument=IOArgument(0, "filename", _BUFFERS)),
    *_entries("open", ["io.FileIO"], strategy=Strategy.REPORT, reason=FILE_OBJECT, opens_file=True),
    *_entries("import", ["importlib.import_module", "importlib.reload"], strategy=Strategy.REPORT, reason=IMPORT),
    # ssl: a default context loads the system's CA bundle from disk on every call.
    *_entries("network", ["ssl.create_default_context"]),
    # Mail and FTP clients connect in the constructor when given a host (IMAP4 and POP3 always).
    *_entries("network", [*_SMTP, *_FTP],
              io_argument=IOArgument(0, "host", optional=True)),
    *_entries("network", [*_IMAP, *_POP]),
    *_entries("network", ["websocket.create_connection"]),
    # -- databases and service clients ---------------------------------------------------
    # Connecting: a network round trip (the connections are typed: ``TYPES``).
    *_entries("database", ["psycopg2.connect", "psycopg.connect", "psycopg.Connection.connect", "pymysql.connect",
                           "pymysql.Connect", "pymysql.Connection", "pymysql.connections.Connection",
                           "mysql.connector.connect", "oracledb.connect", "pyodbc.connect"]),
    *_entries("service", ["boto3.client", "boto3.resource",  # read the service's model files
                          "docker.from_env", "docker.client.from_env", "docker.DockerClient",  # ask the daemon's
                          "docker.client.DockerClient", "docker.DockerClient.from_env",        # API version
                          "paramiko.SFTPClient.from_transport", "paramiko.sftp_client.SFTPClient.from_transport",
                          "pika.BlockingConnection", "pika.adapters.blocking_connection.BlockingConnection",
                          "kafka.KafkaProducer", "kafka.KafkaConsumer",  # connect to the bootstrap servers
                          "kubernetes.config.load_kube_config", "kubernetes.config.load_incluster_config",
                          "git.Repo.clone_from", "git.repo.base.Repo.clone_from", "git.Repo.init",
                          "git.repo.base.Repo.init"]),
    # openai < 1.0: module functions; >= 1.0: the module's own client (``openai.chat.completions.create``).
    *_entries("service", [*_names("openai", "ChatCompletion.create Completion.create Embedding.create Image.create "
                                            "Image.create_edit Image.create_variation Moderation.create "
                                            "Audio.transcribe Audio.translate Edit.create"),
                          *_names("openai", "chat.completions.create completions.create embeddings.create "
                                            "images.generate images.edit images.create_variation moderations.create "
                                            "audio.transcriptions.create audio.translations.create "
                                            "audio.speech.create responses.create")],
              streams_if=_STREAM, shares=EVERY_ARGUMENT),
    # The client (thread-safe) is not among the arguments that may be shared.
    *_entries("service", ["elasticsearch.helpers.bulk"], shares=shares("client actions", "actions")),
    *_entries("service", ["elasticsearch.helpers.reindex"],
              shares=shares("client source_index target_index query", "query")),
    *_entries("service", _names("elasticsearch.helpers", "scan parallel_bulk streaming_bulk"),
              strategy=Strategy.REPORT, reason=LAZY),
)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per type
class BlockingType:
    """Objects made by a blocking constructor, and which of their methods block.

    A method called on such an object (bound in the same coroutine by ``x = Ctor(...)``,
    by ``with Ctor(...) as x``, annotated as the type, or made inline ``Ctor(...).m()``)
    is found like a catalog function; methods not listed are pure and left alone.

    A method is named by a pattern (``fnmatch``, one per dotted part): ``execute``; a path
    through attributes, ``chat.completions.create`` (``client.chat.completions.create()``);
    ``[!_]*``, any public name, less those ``pure`` lists (SDK clients made from service
    models, whose methods are API calls).
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
    #: Methods with parameters that may take mutable objects (by the pattern in ``methods``).
    shares: Mapping[str, Shares] = field(default_factory=dict)
    #: Names a pattern of ``methods`` or ``returns`` covers that do not block (``get_paginator``).
    pure: tuple[str, ...] = ()
    #: Methods and attributes (patterns) that give a new object of another type without
    #: blocking (``conn.cursor()``, ``redis.pipeline()``): ``cur = conn.cursor()`` is typed.
    returns: Mapping[str, BlockingType] = field(default_factory=dict)
    #: Whether one object may be used from a worker thread while other threads use it (a
    #: DB-API connection of a driver whose ``threadsafety`` is 2 or more, an ``httpx.Client``).
    #: A method run in a thread hands its object to the thread, and other tasks run
    #: meanwhile: on an object of a type that is not, it is offloaded only when the coroutine
    #: owns the object (made it, handed it to no one); else it is reported, with ``shared_reason``.
    thread_safe: bool = False
    #: Why one object of the type may not be used by two threads at once.
    shared_reason: str = ""
    #: Methods that may run in a thread while other threads use the object, on a type that
    #: is not thread-safe as a whole (``Popen.wait`` takes the object's own lock).
    thread_safe_methods: tuple[str, ...] = ()
    #: The type of the objects made over an in-memory buffer (the constructor's
    #: ``io_argument``): what of theirs still touches files (a zip written into
    #: ``io.BytesIO()`` compresses in memory, but extracts to disk).
    over_buffer: BlockingType | None = None
    #: Methods that open a file (``p.open()``): reported as ``open()`` is (``FILE_OBJECT``),
    #: their result is a file, and a ``with`` block over them may be moved to a thread.
    opens: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return CATEGORIES[self.category][0]

    @property
    def sharing(self) -> str:
        """The reason a shared object's method is reported, finishing "...; "."""
        return self.shared_reason or f"{self.name} objects are not documented as safe to use from two threads at once"


def _matches(path: str, pattern: str) -> bool:
    parts, patterns = path.split("."), pattern.split(".")
    return len(parts) == len(patterns) and all(fnmatchcase(p, q) for p, q in zip(parts, patterns))


def _matching(path: str, patterns: Iterable[str], pure: tuple[str, ...] = ()) -> str | None:
    """The pattern ``path`` (``chat.completions.create``) matches: itself if listed, else the
    first that covers it, unless ``pure`` names its last part."""
    listed = tuple(patterns)
    if path in listed:
        return path
    if path.rsplit(".", 1)[-1] in pure:
        return None
    return next((p for p in listed if _matches(path, p)), None)


def returned_type(kind: BlockingType, attribute: str) -> BlockingType | None:
    """The type of ``obj.attribute`` or ``obj.attribute(...)`` for an object of ``kind``."""
    pattern = _matching(attribute, kind.returns, kind.pure)
    return None if pattern is None else kind.returns[pattern]


def derives(kind: BlockingType, attribute: str) -> bool:
    """``obj.attribute`` (or a call of it) gives another object of ``kind``."""
    return _matching(attribute, kind.derives, kind.pure) is not None


_OPEN_FAMILY = ("builtins.open", "io.open", "io.open_code", "codecs.open", "gzip.open", "bz2.open", "lzma.open", "os.fdopen",
                *_COMPRESSED_FILES, "io.FileIO")
_PATHS = ("pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath")
_IMAGES_FROM_IMAGES = ("convert", "resize", "reduce", "rotate", "transpose", "transform", "filter", "quantize",
                       "crop", "copy")
_PATH_FACTORIES = ("pathlib.Path.cwd", "pathlib.Path.home")

# -- databases and service clients: the objects, made before ``TYPES`` lists them -----------
# DB-API drivers say in ``threadsafety`` how far an object may be shared: 1 the module only,
# 2 connections too (cursors never, below 3).
_DBAPI_CURSOR = ("execute", "executemany", "callproc", "fetchone", "fetchmany", "fetchall")
_DBAPI_SHARES = {"execute": shares("operation parameters", "parameters"),
                 "executemany": shares("operation seq_of_parameters", "seq_of_parameters")}


def _dbapi(driver: str, connection: str, cursor: str, connections: tuple[str, ...], cursors: tuple[str, ...],
           threadsafety: int, connect: tuple[str, ...], connection_methods: str = "commit rollback close",
           cursor_methods: tuple[str, ...] = ()) -> tuple[BlockingType, BlockingType]:
    """A driver's connection and cursor types, shared as its ``threadsafety`` says."""
    level = f"{driver}.threadsafety is {threadsafety}"
    cursor_type = BlockingType(
        cursor, (), "database", (*_DBAPI_CURSOR, *cursor_methods), annotations=cursors, shares=_DBAPI_SHARES,
        shared_reason=f"a {driver} cursor may not be used by two threads at once ({level})")
    methods = tuple(connection_methods.split())
    connection_type = BlockingType(
        connection, connect, "database", methods, annotations=connections,
        shares=_DBAPI_SHARES if "execute" in methods else {},
        returns={"cursor": cursor_type, **({"execute": cursor_type} if "execute" in methods else {})},
        thread_safe=threadsafety >= 2,
        shared_reason=f"a {driver} connection may not be used by two threads at once ({level}): use one "
                      "connection per task (a pool), or do all the work in one function run with asyncio.to_thread")
    return connection_type, cursor_type


_PSYCOPG2 = _dbapi("psycopg2", "psycopg2.extensions.connection", "psycopg2.extensions.cursor",
                   ("psycopg2.extensions.connection",), ("psycopg2.extensions.cursor", "psycopg2.extras.DictCursor",
                                                         "psycopg2.extras.RealDictCursor"),
                   2, ("psycopg2.connect",), cursor_methods=("copy_from", "copy_to", "copy_expert"))
_PSYCOPG = _dbapi("psycopg", "psycopg.Connection", "psycopg.Cursor", ("psycopg.Connection",),
                  ("psycopg.Cursor", "psycopg.ServerCursor", "psycopg.ClientCursor"),
                  2, ("psycopg.connect", "psycopg.Connection.connect"), "execute commit rollback close")
_PYMYSQL = _dbapi("pymysql", "pymysql.connections.Connection", "pymysql.cursors.Cursor",
                  ("pymysql.connections.Connection", "pymysql.Connection"),
                  ("pymysql.cursors.Cursor", "pymysql.cursors.DictCursor", "pymysql.cursors.SSCursor",
                   "pymysql.cursors.SSDictCursor"),
                  1, ("pymysql.connect", "pymysql.Connect", "pymysql.Connection", "pymysql.connections.Connection"),
                  "commit rollback close ping select_db begin")
_MYSQL_CONNECTOR = _dbapi("mysql.connector", "mysql.connector.connection.MySQLConnection",
                          "mysql.connector.cursor.MySQLCursor",
                          ("mysql.connector.connection.MySQLConnection", "mysql.connector.MySQLConnection",
                           "mysql.connector.connection_cext.CMySQLConnection"),
                          ("mysql.connector.cursor.MySQLCursor", "mysql.connector.cursor_cext.CMySQLCursor"),
                          1, ("mysql.connector.connect",), "commit rollback close ping")
_ORACLEDB = _dbapi("oracledb", "oracledb.Connection", "oracledb.Cursor", ("oracledb.Connection",),
                   ("oracledb.Cursor",), 2, ("oracledb.connect",), "commit rollback close ping",
                   cursor_methods=("callfunc",))
_PYODBC = _dbapi("pyodbc", "pyodbc.Connection", "pyodbc.Cursor", ("pyodbc.Connection",), ("pyodbc.Cursor",),
                 1, ("pyodbc.connect",), "execute commit rollback close", cursor_methods=("fetchval",))

_MONGO_COLLECTION_METHODS = (
    "bulk_write", "count_documents", "create_index", "create_indexes", "create_search_index",
    "create_search_indexes", "delete_many", "delete_one", "distinct", "drop", "drop_index", "drop_indexes",
    "drop_search_index", "estimated_document_count", "find_one", "find_one_and_delete", "find_one_and_replace",
    "find_one_and_update", "index_information", "insert_many", "insert_one", "rename", "replace_one",
    "update_many", "update_one", "update_search_index")
_MONGO_CURSORS = ("find", "find_raw_batches", "aggregate", "aggregate_raw_batches", "list_indexes",
                  "list_search_indexes", "watch")
_MONGO_COLLECTION = BlockingType(
    "pymongo.collection.Collection", (), "database", _MONGO_COLLECTION_METHODS,
    report=dict.fromkeys(_MONGO_CURSORS, SERVER_CURSOR),
    annotations=("pymongo.collection.Collection", "pymongo.synchronous.collection.Collection"),
    derives=(PUBLIC_METHODS,),  # ``db.logs.errors``: a sub-collection
    pure=(*_MONGO_COLLECTION_METHODS, *_MONGO_CURSORS, "with_options", "database", "name", "full_name", "options",
          "codec_options", "read_preference", "write_concern", "read_concern"),
    # ``insert_one(doc)`` adds ``_id`` to ``doc``; filters and updates are read in the thread.
    shares=dict.fromkeys(_MONGO_COLLECTION_METHODS, EVERY_ARGUMENT),
    thread_safe=True)  # pymongo: "MongoClient is thread-safe"; databases and collections are views of it
_MONGO_DATABASE = BlockingType(
    "pymongo.database.Database", (), "database",
    ("command", "create_collection", "drop_collection", "list_collection_names", "validate_collection",
     "dereference"),
    report=dict.fromkeys(("aggregate", "list_collections", "cursor_command", "watch"), SERVER_CURSOR),
    annotations=("pymongo.database.Database", "pymongo.synchronous.database.Database"),
    returns={"get_collection": _MONGO_COLLECTION, PUBLIC_METHODS: _MONGO_COLLECTION},
    pure=("with_options", "client", "name", "command", "create_collection", "drop_collection",
          "list_collection_names", "validate_collection", "dereference", "aggregate", "list_collections",
          "cursor_command", "watch", "codec_options", "read_preference", "write_concern", "read_concern"),
    thread_safe=True)
_MONGO_CLIENT = BlockingType(
    "pymongo.MongoClient", ("pymongo.MongoClient", "pymongo.mongo_client.MongoClient",
                            "pymongo.synchronous.mongo_client.MongoClient"), "database",
    ("list_database_names", "drop_database", "server_info", "bulk_write"),
    report=dict.fromkeys(("list_databases", "watch"), SERVER_CURSOR),
    annotations=("pymongo.MongoClient", "pymongo.mongo_client.MongoClient"),
    returns={"get_database": _MONGO_DATABASE, "get_default_database": _MONGO_DATABASE, PUBLIC_METHODS: _MONGO_DATABASE},
    pure=("list_database_names", "drop_database", "server_info", "bulk_write", "list_databases", "watch", "close",
          "start_session", "options", "address", "nodes", "topology_description", "primary", "secondaries",
          "arbiters", "is_primary", "is_mongos", "codec_options", "read_preference", "write_concern",
          "read_concern"),
    thread_safe=True)

_REDIS_PIPELINE = BlockingType(
    "redis.client.Pipeline", (), "database", ("execute", "watch", "unwatch"),
    annotations=("redis.client.Pipeline",),
    shared_reason="a redis pipeline queues the commands of whoever uses it and may not be used by two threads at "
                  "once (redis-py: pipelines are not thread-safe)")
_REDIS = BlockingType(
    "redis.Redis", ("redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis",
                    "redis.from_url", "redis.utils.from_url", "redis.Redis.from_url", "redis.StrictRedis.from_url",
                    "redis.client.Redis.from_url"), "database",
    (PUBLIC_METHODS,),  # every public method is a command sent to the server, less these
    report={**dict.fromkeys(("scan_iter", "sscan_iter", "hscan_iter", "zscan_iter"), LAZY), "transaction": CALLS_BACK},
    annotations=("redis.Redis", "redis.StrictRedis", "redis.client.Redis"),
    pure=("from_url", "from_pool", "get_encoder", "get_connection_kwargs", "get_retry", "set_retry",
          "set_response_callback", "load_external_module", "pipeline", "lock", "pubsub", "monitor", "client",
          "register_script", "get_cache", "keyspace_notifications", "himport_registry", "close"),
    derives=("client",),  # a client on the same connection pool
    returns={"pipeline": _REDIS_PIPELINE},
    shares={PUBLIC_METHODS: EVERY_ARGUMENT},
    thread_safe=True)  # redis-py: "Redis client instances can safely be shared between threads"

_BOTO3_WAITER = BlockingType("botocore.waiter.Waiter", (), "service", ("wait",), shares={"wait": EVERY_ARGUMENT},
                             thread_safe=True)
_BOTO3_PAGINATOR = BlockingType("botocore.paginate.Paginator", (), "service", (), report={"paginate": PAGES},
                                thread_safe=True)
_BOTO3_CLIENT = BlockingType(
    "botocore.client.BaseClient", ("boto3.client",), "service",
    (PUBLIC_METHODS,),  # the service's operations (``put_object``), and S3's upload_file and download_file
    annotations=("botocore.client.BaseClient",),
    pure=("get_paginator", "can_paginate", "get_waiter", "generate_presigned_url", "generate_presigned_post",
          "close", "meta", "exceptions", "waiter_names"),
    returns={"get_paginator": _BOTO3_PAGINATOR, "get_waiter": _BOTO3_WAITER},
    shares={PUBLIC_METHODS: EVERY_ARGUMENT},
    thread_safe=True)  # boto3 docs: "Low-level clients are thread safe"
_BOTO3_RESOURCE = BlockingType(
    "boto3.resources.base.ServiceResource", ("boto3.resource",), "service",
    ("[!_A-Z]*",),  # actions (``put_item``, ``upload_file``, ``load``); capitalised names make sub-resources
    annotations=("boto3.resources.base.ServiceResource",),
    derives=("[A-Z]*",),  # ``s3.Bucket(name)``, ``bucket.Object(key)``: no request
    pure=("meta", "get_available_subresources", "batch_writer"),
    shares={"[!_A-Z]*": EVERY_ARGUMENT},
    shared_reason="boto3 resources are not thread-safe (boto3 docs: \"Resource instances are not thread safe and "
                  "should not be shared across threads\")")
_BOTO3_SESSION = BlockingType(
    "boto3.session.Session", ("boto3.Session", "boto3.session.Session"), "service", ("client", "resource"),
    annotations=("boto3.Session", "boto3.session.Session"),
    returns={"client": _BOTO3_CLIENT, "resource": _BOTO3_RESOURCE},
    shared_reason="boto3 sessions are not thread-safe (boto3 docs: create a new Session object for each thread)")


def _paths(prefixes: str, methods: str) -> tuple[str, ...]:
    """``_paths("chat.completions completions", "create")``: each method under each attribute path."""
    return tuple(f"{prefix}.{method}" for prefix in prefixes.split() for method in methods.split())


_LLM_THREADS = ("its state between calls is its options and an httpx.Client, which is thread-safe")
_OPENAI = BlockingType(
    "openai.OpenAI", ("openai.OpenAI", "openai.Client", "openai.AzureOpenAI", "openai.lib.azure.AzureOpenAI",
                      "openai._client.OpenAI"), "service",
    (*_paths("chat.completions completions embeddings moderations responses audio.transcriptions "
             "audio.translations audio.speech batches", "create"),
     *_paths("images", "generate edit create_variation"), *_paths("chat.completions beta.chat.completions", "parse"),
     *_paths("files", "create retrieve content delete"), *_paths("models", "retrieve"),
     *_paths("responses batches", "retrieve")),
    report={path: CONTEXT_MANAGER for path in _paths("chat.completions beta.chat.completions responses", "stream")},
    annotations=("openai.OpenAI", "openai.AzureOpenAI", "openai._client.OpenAI"),
    derives=("with_options", "copy"),  # a copy with other options: ``client.with_options(timeout=5)``
    streams_if=dict.fromkeys(_paths("chat.completions completions responses", "create"), _STREAM),
    shares={path: EVERY_ARGUMENT for path in (*_paths("chat.completions completions embeddings moderations responses "
                                                      "audio.transcriptions audio.translations audio.speech batches",
                                                      "create"),
                                              *_paths("images", "generate edit create_variation"),
                                              *_paths("chat.completions beta.chat.completions", "parse"),
                                              "files.create")},
    thread_safe=True)  # _LLM_THREADS
_ANTHROPIC = BlockingType(
    "anthropic.Anthropic", ("anthropic.Anthropic", "anthropic.Client", "anthropic._client.Anthropic"), "service",
    (*_paths("messages completions beta.messages messages.batches", "create"),
     *_paths("messages beta.messages", "count_tokens"), *_paths("models messages.batches", "retrieve")),
    report={path: CONTEXT_MANAGER for path in _paths("messages beta.messages", "stream")},
    annotations=("anthropic.Anthropic", "anthropic._client.Anthropic"),
    derives=("with_options", "copy"),
    streams_if=dict.fromkeys(_paths("messages completions beta.messages", "create"), _STREAM),
    shares={path: EVERY_ARGUMENT for path in (*_paths("messages completions beta.messages messages.batches",
                                                      "create"), *_paths("messages beta.messages", "count_tokens"))},
    thread_safe=True)  # _LLM_THREADS

_YOUTUBE_DLS = tuple(
    BlockingType(
        f"{package}.YoutubeDL", (f"{package}.YoutubeDL", f"{package}.YoutubeDL.YoutubeDL"), "service",
        ("extract_info", "download", "download_with_info_file", "process_ie_result", "process_info", "urlopen"),
        annotations=(f"{package}.YoutubeDL", f"{package}.YoutubeDL.YoutubeDL"),
        shares={"extract_info": shares("url download ie_key extra_info", "extra_info"),
                "download": shares("url_list", "", "url_list"), "process_ie_result": EVERY_ARGUMENT,
                "process_info": EVERY_ARGUMENT},
        shared_reason="a YoutubeDL object keeps the state of the download it runs (its progress, its archive, its "
                      "cookies) and is not documented as safe to use from two threads at once")
    for package in ("yt_dlp", "youtube_dl")
)

_SFTP = BlockingType(
    "paramiko.SFTPClient", ("paramiko.SFTPClient.from_transport", "paramiko.sftp_client.SFTPClient.from_transport"),
    "service",
    ("get", "put", "getfo", "putfo", "listdir", "listdir_attr", "remove", "unlink", "rename", "posix_rename", "mkdir",
     "rmdir", "stat", "lstat", "symlink", "chmod", "chown", "utime", "truncate", "readlink", "normalize", "chdir",
     "close"),
    report={"open": FILE_OBJECT, "file": FILE_OBJECT, "listdir_iter": LAZY},
    annotations=("paramiko.SFTPClient", "paramiko.sftp_client.SFTPClient"),
    shares={"getfo": shares("remotepath fl callback", "fl callback"), "putfo": shares("fl remotepath", "fl callback"),
            "get": shares("remotepath localpath callback", "callback"),
            "put": shares("localpath remotepath callback", "callback")},
    shared_reason="a paramiko SFTPClient keeps its current directory and request state for one user at a time")
_SSH = BlockingType(
    "paramiko.SSHClient", ("paramiko.SSHClient", "paramiko.client.SSHClient"), "service",
    ("connect", "open_sftp", "close", "load_system_host_keys", "load_host_keys", "save_host_keys"),
    report={"exec_command": CHANNEL_FILES, "invoke_shell": CHANNEL_FILES},
    annotations=("paramiko.SSHClient", "paramiko.client.SSHClient"),
    returns={"open_sftp": _SFTP},
    shared_reason="a paramiko SSHClient is not documented as safe to use from two threads at once")

_DOCKER_SESSION = ("docker's clients are requests Sessions (docker.APIClient), which are not documented as "
                   "thread-safe")
_DOCKER_CONTAINER = BlockingType(
    "docker.models.containers.Container", (), "service",
    ("commit", "diff", "exec_run", "kill", "pause", "put_archive", "reload", "remove", "rename", "resize",
     "restart", "start", "stop", "top", "unpause", "update", "wait", "logs"),
    report={"export": LAZY, "get_archive": LAZY},
    annotations=("docker.models.containers.Container",),
    streams_if={"logs": _STREAM, "exec_run": _STREAM}, shares={"put_archive": EVERY_ARGUMENT},
    shared_reason=_DOCKER_SESSION)
_DOCKER_CONTAINERS = BlockingType(
    "docker.models.containers.ContainerCollection", (), "service", ("run", "create", "get", "list", "prune"),
    annotations=("docker.models.containers.ContainerCollection",),
    returns=dict.fromkeys(("run", "create", "get"), _DOCKER_CONTAINER),
    streams_if={"run": _STREAM}, shares=dict.fromkeys(("run", "create"), EVERY_ARGUMENT),
    shared_reason=_DOCKER_SESSION)
_DOCKER_COLLECTIONS = tuple(
    BlockingType(f"docker.models.{module}.{name}", (), "service", (*"create get list prune".split(), *more),
                 annotations=(f"docker.models.{module}.{name}",), shares={"create": EVERY_ARGUMENT},
                 shared_reason=_DOCKER_SESSION)
    for module, name, more in (("images", "ImageCollection", ("pull", "push", "build", "remove", "load", "search")),
                               ("volumes", "VolumeCollection", ()), ("networks", "NetworkCollection", ()))
)
_DOCKER = BlockingType(
    "docker.DockerClient", ("docker.from_env", "docker.client.from_env", "docker.DockerClient",
                            "docker.client.DockerClient", "docker.DockerClient.from_env"), "service",
    ("ping", "info", "version", "df", "login"), report={"events": LAZY},
    annotations=("docker.DockerClient", "docker.client.DockerClient"),
    returns={"containers": _DOCKER_CONTAINERS, "images": _DOCKER_COLLECTIONS[0], "volumes": _DOCKER_COLLECTIONS[1],
             "networks": _DOCKER_COLLECTIONS[2]},
    shared_reason=_DOCKER_SESSION)

_KUBERNETES_CALLS = ("list_*", "read_*", "create_*", "delete_*", "patch_*", "replace_*", "get_*")  # generated
_KUBERNETES = tuple(
    BlockingType(
        f"kubernetes.client.{api}", (f"kubernetes.client.{api}",), "service", _KUBERNETES_CALLS,
        annotations=(f"kubernetes.client.{api}",),
        streams_if=dict.fromkeys(_KUBERNETES_CALLS, StreamingArg("_preload_content", off=True)),
        shares=dict.fromkeys(_KUBERNETES_CALLS, EVERY_ARGUMENT),
        shared_reason="a kubernetes API object's ApiClient is not documented as thread-safe")
    for api in ("CoreV1Api", "AppsV1Api", "BatchV1Api", "NetworkingV1Api", "CustomObjectsApi")
)

_GCS_SESSION = ("google-cloud-storage objects send their requests through a requests Session (google.auth's "
                "AuthorizedSession), which is not documented as thread-safe, and keep the properties a request "
                "loads")
_GCS_BLOB = BlockingType(
    "google.cloud.storage.Blob", ("google.cloud.storage.Blob", "google.cloud.storage.blob.Blob",
                                  "google.cloud.storage.Blob.from_string", "google.cloud.storage.Blob.from_uri"),
    "service",
    ("exists", "delete", "reload", "patch", "update", "download_to_file", "download_to_filename",
     "download_as_bytes", "download_as_string", "download_as_text", "upload_from_file", "upload_from_filename",
     "upload_from_string", "create_resumable_upload_session", "get_iam_policy", "set_iam_policy",
     "test_iam_permissions", "make_public", "make_private", "compose", "rewrite", "update_storage_class"),
    report={"open": FILE_OBJECT},
    annotations=("google.cloud.storage.Blob", "google.cloud.storage.blob.Blob"),
    shares=dict.fromkeys(("download_to_file", "upload_from_file", "compose", "rewrite", "set_iam_policy"),
                         EVERY_ARGUMENT),
    shared_reason=_GCS_SESSION)
_GCS_BUCKET = BlockingType(
    "google.cloud.storage.Bucket", ("google.cloud.storage.Bucket", "google.cloud.storage.bucket.Bucket"), "service",
    ("exists", "create", "update", "reload", "patch", "delete", "get_blob", "delete_blob", "delete_blobs",
     "copy_blob", "rename_blob", "move_blob", "restore_blob", "make_public", "make_private", "get_iam_policy",
     "set_iam_policy", "test_iam_permissions", "lock_retention_policy"),
    report={"list_blobs": PAGES, "list_notifications": PAGES},
    annotations=("google.cloud.storage.Bucket", "google.cloud.storage.bucket.Bucket"),
    returns={"blob": _GCS_BLOB, "get_blob": _GCS_BLOB},
    shares=dict.fromkeys(("delete_blobs", "copy_blob", "set_iam_policy"), EVERY_ARGUMENT),
    shared_reason=_GCS_SESSION)
_GCS = BlockingType(
    "google.cloud.storage.Client", ("google.cloud.storage.Client", "google.cloud.storage.client.Client"), "service",
    ("get_bucket", "lookup_bucket", "create_bucket", "download_blob_to_file", "get_service_account_email",
     "restore_bucket"),
    report={"list_blobs": PAGES, "list_buckets": PAGES},
    annotations=("google.cloud.storage.Client", "google.cloud.storage.client.Client"),
    returns=dict.fromkeys(("bucket", "get_bucket", "lookup_bucket", "create_bucket"), _GCS_BUCKET),
    shares={"download_blob_to_file": EVERY_ARGUMENT},
    shared_reason=_GCS_SESSION)

_ELASTICSEARCH_NAMESPACES = "indices cluster cat ingest snapshot tasks nodes"
_ELASTICSEARCH = BlockingType(
    "elasticsearch.Elasticsearch", ("elasticsearch.Elasticsearch", "elasticsearch.client.Elasticsearch",
                                    "elasticsearch._sync.client.Elasticsearch"), "service",
    (PUBLIC_METHODS, *_paths(_ELASTICSEARCH_NAMESPACES, PUBLIC_METHODS)),  # every public method is a request
    annotations=("elasticsearch.Elasticsearch",),
    derives=("options",),  # ``es.options(request_timeout=5).search(...)``: a copy with other options
    pure=("options", "close", "transport", *_ELASTICSEARCH_NAMESPACES.split()),
    shares={PUBLIC_METHODS: EVERY_ARGUMENT} | dict.fromkeys(_paths(_ELASTICSEARCH_NAMESPACES, PUBLIC_METHODS), EVERY_ARGUMENT),
    thread_safe=True)  # elasticsearch-py: the client is thread safe

_KAFKA_PRODUCER = BlockingType(
    "kafka.KafkaProducer", ("kafka.KafkaProducer",), "service", ("send", "flush", "close", "partitions_for"),
    annotations=("kafka.KafkaProducer",),
    shares={"send": shares("topic value key headers", "value key headers")},
    thread_safe=True)  # kafka-python: "The producer is thread safe"
_KAFKA_CONSUMER = BlockingType(
    "kafka.KafkaConsumer", ("kafka.KafkaConsumer",), "service",
    ("poll", "commit", "committed", "close", "position", "topics", "partitions_for_topic", "beginning_offsets",
     "end_offsets", "offsets_for_times"),
    annotations=("kafka.KafkaConsumer",),
    shares=dict.fromkeys(("commit", "beginning_offsets", "end_offsets", "offsets_for_times"), EVERY_ARGUMENT),
    shared_reason="a KafkaConsumer may not be used by two threads at once (kafka-python: \"The consumer is not "
                  "thread safe\")")

_PIKA_REASON = ("pika's BlockingConnection and its channels may not be used by two threads at once (pika: use "
                "add_callback_threadsafe from other threads)")
_PIKA_CHANNEL = BlockingType(
    "pika.adapters.blocking_connection.BlockingChannel", (), "service",
    ("basic_publish", "basic_get", "basic_ack", "basic_nack", "basic_reject", "basic_qos", "basic_recover",
     "basic_consume", "basic_cancel", "queue_declare", "queue_bind", "queue_unbind", "queue_delete", "queue_purge",
     "exchange_declare", "exchange_bind", "exchange_unbind", "exchange_delete", "confirm_delivery", "close", "flow",
     "tx_select", "tx_commit", "tx_rollback", "cancel"),
    report={"start_consuming": CALLS_BACK, "consume": LAZY},
    annotations=("pika.adapters.blocking_connection.BlockingChannel",),
    shares={"basic_publish": shares("exchange routing_key body properties mandatory", "body properties"),
            "basic_consume": EVERY_ARGUMENT},
    shared_reason=_PIKA_REASON)
_PIKA = BlockingType(
    "pika.BlockingConnection", ("pika.BlockingConnection", "pika.adapters.blocking_connection.BlockingConnection"),
    "service", ("channel", "close", "process_data_events", "sleep"),
    annotations=("pika.BlockingConnection", "pika.adapters.blocking_connection.BlockingConnection"),
    returns={"channel": _PIKA_CHANNEL},
    shared_reason=_PIKA_REASON)

# GitPython runs a git process for each command: LS272 with the other clients of remote
# services (fetch, pull, push, clone talk to a remote), not LS221, whose entries are the
# standard library's process calls.
_GIT_REASON = ("a GitPython Repo is not documented as thread-safe, and two git commands run at once on one "
               "repository contend for its lock files (index.lock)")
_GIT_REMOTE = BlockingType(
    "git.Remote", (), "service", ("fetch", "pull", "push", "update"),
    annotations=("git.Remote", "git.remote.Remote"), shared_reason=_GIT_REASON)
_GIT_REPO = BlockingType(
    "git.Repo", ("git.Repo", "git.repo.base.Repo", "git.Repo.clone_from", "git.repo.base.Repo.clone_from",
                 "git.Repo.init", "git.repo.base.Repo.init"), "service",
    ("git.[!_]*",  # ``repo.git.status()``: any git command
     *_paths("remotes.[!_]*", "fetch pull push update"),  # ``repo.remotes.origin.pull()``
     "is_dirty", "clone", "archive"),
    report={"iter_commits": LAZY},
    annotations=("git.Repo", "git.repo.base.Repo"),
    pure=("clear_cache", "set_persistent_git_options", "update_environment", "custom_environment", "refresh"),
    returns={"remote": _GIT_REMOTE, "create_remote": _GIT_REMOTE},
    shares={"archive": shares("ostream", "ostream")},
    shared_reason=_GIT_REASON)

TYPES: tuple[BlockingType, ...] = (
    BlockingType("requests.Session", ("requests.Session", "requests.session", "requests.sessions.Session"),
                 "http-client", (*_HTTP_VERBS.split(), "send"),
                 annotations=("requests.Session", "requests.sessions.Session"),
                 streams_if=dict.fromkeys((*_HTTP_VERBS.split(), "send"), _STREAM),
                 shares={verb: shares(names, _REQUESTS_OBJECTS, _HEADERS) for verb, names in _REQUESTS_POSITIONAL.items()}
                 | {"send": shares("request", "request")},
                 # Not documented as thread-safe (psf/requests#2766; the maintainers advise one Session per
                 # thread), and it is not: a request copies the cookie jar by iterating it without its lock,
                 # while another thread's response adds cookies to it.
                 shared_reason="a requests.Session is not documented as thread-safe (psf/requests#2766): a request "
                               "iterates its cookie jar while another thread's response may add to it"),
    BlockingType("httpx.Client", ("httpx.Client",), "http-client", (*_HTTP_VERBS.split(), "send"),
                 report={"stream": CONTEXT_MANAGER}, annotations=("httpx.Client",), streams_if={"send": _STREAM},
                 shares={verb: shares(names, _HTTPX_OBJECTS, _HEADERS) for verb, names in _HTTPX_POSITIONAL.items()}
                 | {"send": shares("request", "request")},
                 thread_safe=True),  # its docstring: "can be shared between threads" (encode/httpx#2380)
    BlockingType("urllib3.PoolManager",
                 ("urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.HTTPConnectionPool",
                  "urllib3.HTTPSConnectionPool", "urllib3.connection_from_url"),
                 "http-client", ("request", "request_encode_url", "request_encode_body", "urlopen"),
                 annotations=("urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.HTTPConnectionPool",
                              "urllib3.HTTPSConnectionPool"),
                 streams_if=dict.fromkeys(("request", "request_encode_url", "request_encode_body", "urlopen"),
                                          _NO_PRELOAD),
                 shares=dict.fromkeys(("request", "request_encode_url", "request_encode_body", "urlopen"),
                                      shares("method url", _URLLIB3_OBJECTS, "headers")),
                 thread_safe=True),  # urllib3: PoolManager and connection pools are thread-safe
    BlockingType("file", _OPEN_FAMILY, "file",
                 ("read", "read1", "readinto", "readline", "readlines", "write", "writelines", "flush", "truncate", "close"),
                 annotations=("io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.BufferedRandom",
                              "io.FileIO", "typing.TextIO", "typing.BinaryIO"),
                 shares={"readinto": shares("buffer", "buffer"), "write": shares("data", "data"),  # bytearray
                         "writelines": shares("lines", "", "lines")},
                 shared_reason="a text file is not thread-safe (io.TextIOWrapper), and reads and writes of one "
                               "file from two threads interleave in no set order"),
    BlockingType("pathlib.Path", (*_PATHS, *_PATH_FACTORIES), "path",
                 ("read_text", "read_bytes", "write_text", "write_bytes", "exists", "is_file", "is_dir",
                  "is_symlink", "is_mount", "is_socket", "is_fifo", "is_block_device", "is_char_device",
                  "mkdir", "unlink", "rmdir", "rename", "replace", "stat", "lstat", "touch", "resolve",
                  "chmod", "lchmod", "samefile", "owner", "group", "readlink", "symlink_to", "hardlink_to",
                  "absolute", "expanduser", "link_to", "cwd", "home"),
                 report={"iterdir": LAZY, "glob": LAZY, "rglob": LAZY, "walk": LAZY},
                 annotations=_PATHS, joins=True, opens=("open",),
                 derives=("parent", "with_name", "with_stem", "with_suffix", "joinpath", "relative_to",
                          "resolve", "absolute", "expanduser"),  # the last three block, and give a path
                 thread_safe=True),  # immutable
    BlockingType("http.client.HTTPResponse", ("urllib.request.urlopen",), "http-client",
                 ("read", "read1", "readinto", "readline", "readlines", "peek"),
                 annotations=("http.client.HTTPResponse",),
                 shared_reason="an HTTP response is a stream that two threads cannot read at once"),
    BlockingType("http.client.HTTPConnection", ("http.client.HTTPConnection", "http.client.HTTPSConnection"),
                 "http-client", ("request", "getresponse", "connect", "send", "endheaders"),
                 annotations=("http.client.HTTPConnection", "http.client.HTTPSConnection"),
                 shared_reason="an http.client connection holds one request at a time and is not thread-safe"),
    BlockingType("socket.socket", ("socket.socket", "socket.create_connection", "socket.create_server"), "network",
                 (), report={m: SOCKET for m in "connect accept send sendall sendto sendfile recv recv_into "
                                                "recvfrom recvfrom_into recvmsg".split()},
                 annotations=("socket.socket",)),
    BlockingType("sqlite3.Connection", ("sqlite3.connect",), "database", (),
                 report={m: SQLITE for m in "execute executemany executescript commit rollback cursor".split()},
                 annotations=("sqlite3.Connection",)),
    # -- media, documents, archives, imports ----------------------------------------------
    # Shared with other tasks, none of these objects may be used from a worker thread
    # (images, archives, shelves, files, mail and FTP sessions, contexts being loaded keep
    # unlocked state). websocket-client's WebSocket is the exception in part: with
    # enable_multithread (its default) sends and receives take a lock, connect and close do not.
    # Pillow: what decodes the pixels (load(), and every method that needs them, reads the
    # file of a lazily opened image) or encodes them, or works on all of them; show() saves
    # a temporary file and starts a viewer. crop/copy/paste/getpixel are cheap once loaded:
    # not listed (they give images, so what follows them is still found).
    BlockingType("PIL.Image.Image", tuple(_names("PIL.Image", "open new frombytes frombuffer fromarray merge "
                                                          "linear_gradient radial_gradient blend composite alpha_composite")),
                 "media",
                 ("load", "verify", "save", "convert", "resize", "reduce", "thumbnail", "rotate", "transpose",
                  "transform", "filter", "quantize", "show"),
                 annotations=("PIL.Image.Image", "PIL.ImageFile.ImageFile"),
                 derives=_IMAGES_FROM_IMAGES, shares={"save": shares("fp", "fp")}),
    BlockingType("cv2.VideoCapture", ("cv2.VideoCapture",), "media", ("open", "read", "grab", "retrieve"),
                 annotations=("cv2.VideoCapture",)),
    BlockingType("cv2.VideoWriter", ("cv2.VideoWriter",), "media", ("open", "write", "release"),
                 annotations=("cv2.VideoWriter",), shares={"write": shares("image", "image")}),
    BlockingType("cv2.dnn.Net", _DNN_READERS, "media", ("forward",), annotations=("cv2.dnn.Net",)),
    BlockingType("cv2.CascadeClassifier", ("cv2.CascadeClassifier",), "media", ("load", "detectMultiScale"),
                 annotations=("cv2.CascadeClassifier",), shares={"detectMultiScale": shares("image", "image")}),
    BlockingType("pypdf.PdfWriter", ("pypdf.PdfWriter", "PyPDF2.PdfWriter", "PyPDF2.PdfFileWriter", "PyPDF2.PdfMerger",
                                     "PyPDF2.PdfFileMerger"), "media", ("write", "append", "merge"),
                 annotations=("pypdf.PdfWriter", "PyPDF2.PdfWriter", "PyPDF2.PdfMerger"),
                 shares={"write": shares("stream", "stream"), "append": shares("fileobj", "fileobj"),
                         "merge": shares("position fileobj", "fileobj")}),
    BlockingType("docx.document.Document", ("docx.Document", "docx.api.Document"), "media", ("save",),
                 annotations=("docx.document.Document",), shares={"save": shares("path_or_stream", "path_or_stream")}),
    BlockingType("openpyxl.Workbook", ("openpyxl.Workbook", "openpyxl.workbook.workbook.Workbook",
                                       "openpyxl.load_workbook", "openpyxl.reader.excel.load_workbook"),
                 "media", ("save",), annotations=("openpyxl.Workbook", "openpyxl.workbook.workbook.Workbook"),
                 shares={"save": shares("filename", "filename")}),
    # Archives: the directory of a zip is in memory once opened (namelist, infolist,
    # getinfo are pure); a tar has none, so listing it reads the archive.
    BlockingType("zipfile.ZipFile", ("zipfile.ZipFile", "zipfile.PyZipFile"), "archive",
                 ("read", "extract", "extractall", "write", "writestr", "mkdir", "testzip", "close", "writepy"),
                 report={"open": MEMBER_FILE}, annotations=("zipfile.ZipFile",),
                 over_buffer=BlockingType("zipfile.ZipFile", (), "archive", ("extract", "extractall"),
                                          shares={"extractall": shares("path members pwd", "members", "members")}),
                 shares={"extractall": shares("path members pwd", "members", "members")}),
    BlockingType("tarfile.TarFile", ("tarfile.open", "tarfile.TarFile.open", "tarfile.TarFile"), "archive",
                 ("getmembers", "getnames", "getmember", "next", "list", "extract", "extractall", "add", "addfile",
                  "close"),
                 report={"extractfile": MEMBER_FILE}, annotations=("tarfile.TarFile",),
                 over_buffer=BlockingType("tarfile.TarFile", (), "archive", ("extract", "extractall"),
                                          shares={"extract": shares("member path", "member"),
                                                  "extractall": shares("path members", "members", "members")}),
                 shares={"extract": shares("member path", "member"), "extractall": shares("path members", "members", "members"),
                         "addfile": shares("tarinfo fileobj", "tarinfo fileobj")}),
    # A shelf (dbm underneath) reads and writes its file on each access.
    BlockingType("shelve.Shelf", ("shelve.open",), "archive",
                 ("get", "pop", "setdefault", "update", "clear", "sync", "close", "popitem"),
                 annotations=("shelve.Shelf", "shelve.DbfilenameShelf"),
                 shares={"update": shares("other", "other"), "setdefault": shares("key default", "default")}),
    BlockingType("dbm_file", ("dbm.open", "dbm.dumb.open", "dbm.gnu.open", "dbm.ndbm.open"), "archive",
                 ("get", "keys", "setdefault", "sync", "reorganize", "close", "firstkey", "nextkey", "clear")),
    BlockingType("wave_file", ("wave.open",), "archive",
                 ("readframes", "writeframes", "writeframesraw", "setpos", "rewind", "close"),
                 annotations=("wave.Wave_read", "wave.Wave_write"),
                 over_buffer=BlockingType("wave_file", (), "archive", ()),
                 shares={"writeframes": shares("data", "data"), "writeframesraw": shares("data", "data")}),
    # ssl: loading certificates and keys reads files (a context in use is not changed by it).
    BlockingType("ssl.SSLContext", ("ssl.create_default_context", "ssl.SSLContext"), "network",
                 ("load_verify_locations", "load_cert_chain", "load_default_certs", "set_default_verify_paths",
                  "load_dh_params"),
                 annotations=("ssl.SSLContext",)),
    BlockingType("smtplib.SMTP", _SMTP, "network",
                 ("connect", "helo", "ehlo", "ehlo_or_helo_if_needed", "starttls", "login", "auth", "sendmail",
                  "send_message", "mail", "rcpt", "data", "rset", "noop", "verify", "expn", "docmd", "quit"),
                 annotations=_SMTP,
                 shares={"sendmail": shares("from_addr to_addrs msg", "to_addrs", "to_addrs"),
                         "send_message": shares("msg from_addr to_addrs", "msg to_addrs")}),
    BlockingType("ftplib.FTP", _FTP, "network",
                 ("connect", "login", "cwd", "pwd", "nlst", "dir", "size", "delete", "rename", "mkd", "rmd",
                  "retrbinary", "retrlines", "storbinary", "storlines", "sendcmd", "voidcmd", "quit", "prot_p",
                  "auth", "abort"),
                 report={"mlsd": LAZY}, annotations=_FTP,
                 shares={"retrbinary": shares("cmd callback", "callback"), "retrlines": shares("cmd callback", "callback"),
                         "storbinary": shares("cmd fp blocksize callback", "fp callback"),
                         "storlines": shares("cmd fp callback", "fp callback")}),
    BlockingType("imaplib.IMAP4", _IMAP, "network",
                 ("login", "login_cram_md5", "authenticate", "starttls", "select", "examine", "search", "fetch",
                  "store", "copy", "move", "append", "expunge", "list", "lsub", "status", "uid", "noop", "close",
                  "logout", "create", "delete", "rename", "subscribe", "unsubscribe", "check", "idle"),
                 annotations=_IMAP),
    BlockingType("poplib.POP3", _POP, "network",
                 ("user", "pass_", "apop", "rpop", "stat", "list", "retr", "dele", "noop", "rset", "quit", "top",
                  "uidl", "stls", "capa", "utf8"),
                 annotations=_POP),
    BlockingType("websocket.WebSocket", ("websocket.create_connection", "websocket.WebSocket"), "network",
                 ("connect", "send", "send_text", "send_bytes", "send_binary", "send_frame", "send_close", "recv",
                  "recv_data", "recv_data_frame", "recv_frame", "ping", "pong", "close"),
                 annotations=("websocket.WebSocket",)),
    # -- databases and service clients ---------------------------------------------------
    *_PSYCOPG2, *_PSYCOPG, *_PYMYSQL, *_MYSQL_CONNECTOR, *_ORACLEDB, *_PYODBC,
    _MONGO_CLIENT, _MONGO_DATABASE, _MONGO_COLLECTION, _REDIS, _REDIS_PIPELINE,
    _BOTO3_SESSION, _BOTO3_CLIENT, _BOTO3_RESOURCE, _BOTO3_PAGINATOR, _BOTO3_WAITER, _OPENAI, _ANTHROPIC, *_YOUTUBE_DLS,
    _SSH, _SFTP, _DOCKER, _DOCKER_CONTAINERS, *_DOCKER_COLLECTIONS, _DOCKER_CONTAINER, *_KUBERNETES, _GCS, _GCS_BUCKET,
    _GCS_BLOB, _ELASTICSEARCH, _KAFKA_PRODUCER, _KAFKA_CONSUMER, _PIKA, _PIKA_CHANNEL, _GIT_REPO, _GIT_REMOTE,
    # ``subprocess.Popen(...)`` itself is reported (``STARTS_PROCESS``); what blocks is the wait.
    # ``wait`` takes the object's ``_waitpid_lock``: two threads may wait at once; ``communicate``
    # reads and closes the pipes without one.
    BlockingType("subprocess.Popen", ("subprocess.Popen",), "process-wait", ("wait", "communicate"),
                 annotations=("subprocess.Popen",), shares={"communicate": shares("input timeout", "input")},
                 thread_safe_methods=("wait",),
                 shared_reason="a Popen's communicate() reads and closes its pipes, which two threads may not do at once"),
)


def method_entry(kind: BlockingType, method: str) -> BlockingCall | None:
    """The catalog entry for ``<kind object>.<method>(...)``, if it blocks (``method`` may
    be a path: ``chat.completions.create``)."""
    qualname = f"{kind.name}.{method}"
    reported = _matching(method, kind.report, kind.pure)
    if reported is not None and reported == method:
        return BlockingCall(qualname, kind.category, Strategy.REPORT, reason=kind.report[reported])
    fixed = _matching(method, kind.methods, kind.pure)
    if fixed is not None:
        return BlockingCall(qualname, kind.category, streams_if=kind.streams_if.get(fixed), shares=kind.shares.get(fixed))
    if reported is not None:
        return BlockingCall(qualname, kind.category, Strategy.REPORT, reason=kind.report[reported])
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


def catalog_names(extra: Iterable[BlockingCall] = ()) -> frozenset[str]:
    """Every name ``ignore`` may list: functions, types and their methods."""
    names = {entry.qualname for entry in CATALOG} | {entry.qualname for entry in extra}
    for kind in TYPES:
        names.add(kind.name)
        names.update(f"{kind.name}.{method}" for method in (*kind.methods, *kind.report, *kind.opens))
    return frozenset(names)


def names_method(name: str) -> bool:
    """``redis.Redis.hgetall``: a method a type's pattern covers (``[!_]*``), which ``ignore`` may list."""
    return any(name.startswith(f"{kind.name}.") and method_entry(kind, name[len(kind.name) + 1:]) is not None
               for kind in TYPES)


def build_constructor_index(ignore: Iterable[str] = ()) -> dict[str, BlockingType]:
    """Constructor qualified name -> the type of object it makes."""
    ignored = set(ignore)
    return {ctor: kind for kind in TYPES if kind.name not in ignored for ctor in kind.constructors}


def build_annotation_index(ignore: Iterable[str] = ()) -> dict[str, BlockingType]:
    """Class qualified name (as used in annotations) -> the type it names."""
    ignored = set(ignore)
    return {cls: kind for kind in TYPES if kind.name not in ignored for cls in kind.annotations}


def user_entry(qualname: str, strategy: str = "to_thread") -> BlockingCall:
    """An entry of ``[tool.loopsafe] blocking`` (an exact name, or one a pattern covers:
    ``codemods.declared``); raises ``ValueError`` on bad input."""
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
    # loopsafe knows nothing of its parameters: any argument may be shared with other tasks.
    return BlockingCall(qualname, "user", parsed, reason=reason, shares=EVERY_ARGUMENT)


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

# -- busy-wait loops (LS280, ``codemods.analysis.busy_wait``) ------------------------------

#: Methods that answer a question about an object's state at once, without waiting and
#: without consuming anything (``fut.done()``, ``proc.poll()``, ``q.empty()``): a loop
#: that calls only these and never awaits polls. Predicate names (``BUSY_WAIT_PREDICATES``)
#: count too.
STATE_QUERIES: frozenset[str] = frozenset({
    "done", "ready", "running", "cancelled", "finished", "poll", "empty", "full", "qsize", "locked",
})
#: A method named ``is_...``/``has_...`` or ``isX...``/``hasX...`` asks a question
#: (``is_alive``, ``isFinished``, ``is_set``, ``has_result``).
BUSY_WAIT_PREDICATES: tuple[str, ...] = ("is", "has")
#: Clocks a polling loop may read for its deadline (they poll nothing another thread changes).
CLOCKS: frozenset[str] = frozenset({
    "time.time", "time.monotonic", "time.perf_counter", "time.time_ns", "time.monotonic_ns", "time.perf_counter_ns",
})

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
    "cv2.imread", "cv2.imdecode", *_names("email.message", "EmailMessage Message"),
    "email.mime.text.MIMEText", "email.mime.multipart.MIMEMultipart",
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
