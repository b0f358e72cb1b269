"""The recorder of ``loopsafe record``, inside the recorded process: where its event loops
stalled.

``boot/sitecustomize.py`` loads this file by path (as ``_loopsafe_record_agent``) when the
process's first event loop starts to run, and calls ``loop_started`` / ``loop_stopped``
when a loop built on asyncio's ``BaseEventLoop`` sets itself as the thread's running loop
and unsets itself (``asyncio.events._set_running_loop``).
Standard library only, Python 3.9 syntax, and no import of ``codemods``: the recorded
program may run on another Python than loopsafe's, without its dependencies. It never
changes what the program does: no output, every error swallowed, no thread left once no
loop has run for 50 ms, nothing written but its own file. (One thing shows: on Python
3.12+, a process that calls ``os.fork()`` while a loop runs, or within 50 ms of its end,
has the watchdog thread, and Python warns that forking a process with threads may
deadlock the child; a DeprecationWarning, hidden by the default filters outside
``__main__``.)

How a stall is seen. Each running loop gets a heartbeat, a callback
``loop.call_later(BEAT, beat)`` that notes the time and schedules itself again
(BEAT = threshold / 4), from when the loop has run for BEAT (the watchdog asks for the
first beat with ``call_soon_threadsafe``; until it runs, the loop's start stands for it). One watchdog thread per process (a ``_thread`` thread, invisible
to ``threading.enumerate()``) sleeps until the next beat of a loop is EARLY (= BEAT)
overdue. Then the loop thread is stuck: in one step, or in a long
iteration of short ones. The watchdog samples that thread's stack (``sys._current_frames()``)
every PERIOD (5 ms, or threshold / 4 if smaller) until the beat runs again. Consecutive
samples under the same ``asyncio.events.Handle._run`` frame are one step (a callback, or
one step of a task). A step is a stall when it lasted the threshold or more, and it was
seen twice or more or alone in its late period (a long iteration of short steps, each
seen once, is none). Time the loop thread spent outside any step (waiting in ``select``
for a CPU, or a loop clock that is not the monotonic clock) is no stall. A thread the loop handed work to (``asyncio.to_thread``, executors)
is never sampled: while it runs, the loop thread is free and the beat is on time.

How long a step lasted, and the error. The step in progress at the first sample (at S)
began after the beat last ran (at B). When it was the only step seen in the late period,
and seen twice or more, it is taken to have begun at B + BEAT / 2: within +-BEAT / 2 of
its start when it began within the beat interval (after idle time, say); otherwise at
the later of B + BEAT / 2 and S - PERIOD, so that a step behind other steps of a busy
loop iteration is not charged with their time (one that had run long before it was
first seen, the watchdog waiting for the GIL or a CPU, is then undercounted by the wait). A step that follows another in the same late period began between the last sample
of the one before and its own first sample (the middle is taken: within PERIOD / 2, and
the wait for the GIL). A step ends when the beat runs again (the rest of that loop
iteration is counted with it, usually microseconds), when the next step is seen, or when
the loop stops running. So a step a little longer than the threshold may be missed; one
much shorter is never recorded.

What is written: one file per process in $LOOPSAFE_RECORD_DIR, ``<pid>-<nanoseconds>.jsonl``.
The first line when the process's watchdog first starts (or its first loop stops),
``{"process": {"pid", "python",
"executable", "cwd", "prefixes", "threshold_ms"}}``; then one line per stall, appended when
the stall ends (a process that ends with ``os._exit`` keeps the stalls that ended before):
``{"seconds": 0.105, "samples": 19, "stacks": [[count, [frame, ...], weight], ...]}``,
each distinct stack with the number of samples that saw it and their weight: the time
since the sample before in the step (a sample waits for the GIL while the loop thread
runs Python code, up to the switch interval, and comes later than one taken while the
loop thread waits in C: weighing by time keeps CPU-bound code from being undercounted).
Each frame is
``[filename, module, qualname, line, positions, async, op]`` innermost first, down to the
step's outermost frame (the loop's own frames, and this file's, left out): ``module`` is
the frame's ``__name__``, ``qualname`` the code's (its name before 3.11), ``positions``
``[line, end_line, col, end_col]`` of the instruction in progress (3.11+, else null),
``async`` true for a coroutine or an async generator, ``op`` the name of the instruction
in progress (``CALL``, ``SEND``, ``FOR_ITER``...: whether the frame was in a call).
``codemods.recording.attribution`` reads these files.
"""

from __future__ import annotations

import _thread
import itertools
import os
import sys
import time
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, Optional, Tuple  # asyncio imported typing already

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop, Handle

#: One sampled frame: its code, line, last instruction and module ``__name__``.
SampledFrame = Tuple[CodeType, Optional[int], int, Optional[str]]
Stack = Tuple[SampledFrame, ...]


def _threshold_seconds() -> float:
    try:
        value = float(os.environ.get("LOOPSAFE_RECORD_THRESHOLD_MS", "20")) / 1000
    except ValueError:
        return 0.02
    return value if value > 0 else 0.02


RECORD_DIR = os.environ.get("LOOPSAFE_RECORD_DIR", "")
THRESHOLD = _threshold_seconds()
BEAT = THRESHOLD / 4
EARLY = BEAT
PERIOD = min(0.005, THRESHOLD / 4)
IDLE_GRACE = 0.05  # how long the watchdog outlives the last running loop

_ASYNC_FLAGS = 0x80 | 0x200  # CO_COROUTINE | CO_ASYNC_GENERATOR
_AGENT_FILE = __file__
_now = time.monotonic  # the clock of asyncio's loops

_lock = _thread.allocate_lock()  # guards _running, each loop's late period, _watchdog_started
_running: dict[int, _Loop] = {}  # id(_Loop) -> _Loop, the loops running now
_watchdog_started = False
_idle_since: float | None = None  # when the last loop stopped, while the watchdog waits
_output: str | None = None  # this process's file, named when first written
_header_written = False
try:
    _cwd = os.getcwd()
except OSError:  # the folder was removed: relative file names stay relative
    _cwd = ""
_handle_run_code: CodeType | None = None  # asyncio.events.Handle._run.__code__: one step of the loop


class _Loop:
    """A loop while it runs: its thread, where its stack begins, its heartbeat."""

    __slots__ = ("loop", "pid", "thread_id", "base_frame", "last_beat", "handle", "late", "stopped")

    def __init__(self, loop: AbstractEventLoop, thread_id: int, base_frame: FrameType | None) -> None:
        self.loop = loop
        self.pid = os.getpid()
        self.thread_id = thread_id
        self.base_frame = base_frame
        self.last_beat = _now()
        self.handle: Handle | None = None  # the next beat
        self.late: _LatePeriod | None = None
        self.stopped = False

    def beat(self) -> None:
        if self.stopped:  # a first beat the watchdog asked for as the loop stopped
            return
        try:
            self.last_beat = _now()
            self.handle = self.loop.call_later(BEAT, self.beat)
        except Exception:
            pass


class _Step:
    __slots__ = ("frame", "is_step", "first", "last", "stacks")

    def __init__(self, frame: FrameType | None, first: float) -> None:
        self.frame = frame  # its Handle._run frame while it may go on
        self.is_step = frame is not None  # else the loop's own code (select, timers)
        self.first = first
        self.last = first
        self.stacks: dict[Stack, list[float]] = {}  # stack -> [samples, weight]


class _LatePeriod:
    """The samples taken while a loop's beat was overdue, cut into steps."""

    __slots__ = ("beat", "steps")

    def __init__(self, beat: float) -> None:
        self.beat = beat
        self.steps: list[_Step] = []

    def add(self, now: float, sample: tuple[FrameType | None, Stack]) -> None:
        handle_frame, stack = sample
        steps = self.steps
        if not steps or steps[-1].frame is not handle_frame:
            if steps:
                steps[-1].frame = None  # keep no finished step's frame alive
            steps.append(_Step(handle_frame, now))
            weight = PERIOD
        else:
            weight = now - steps[-1].last
        step = steps[-1]
        step.last = now
        counted = step.stacks.get(stack)
        if counted is None:
            step.stacks[stack] = [1, weight]
        else:
            counted[0] += 1
            counted[1] += weight

    def stalls(self, end: float) -> list[tuple[float, dict[Stack, list[float]]]]:
        """(seconds, stacks) of each step that lasted the threshold, the period ending at
        ``end`` (when the beat ran again, or the loop stopped)."""
        found = []
        steps = self.steps
        for index, step in enumerate(steps):
            seen = sum(counted[0] for counted in step.stacks.values())
            if index == 0:
                # Alone in its late period and seen more than once: the step was all the
                # loop did since the beat (nothing else was seen), so it began then.
                alone = len(steps) == 1 and seen > 1
                start = self.beat + BEAT / 2 if alone else max(self.beat + BEAT / 2, step.first - PERIOD)
            else:
                start = (steps[index - 1].last + step.first) / 2
            stop = end if index == len(steps) - 1 else (step.last + steps[index + 1].first) / 2
            if step.is_step and stop - start >= THRESHOLD and (seen > 1 or len(steps) == 1):
                found.append((stop - start, step.stacks))
            step.frame = None
        return found


def loop_started(loop: AbstractEventLoop, base_frame: FrameType | None) -> _Loop | None:
    """Called when ``loop`` starts to run in this thread, ``base_frame`` the frame that set
    it running (``run_forever``, or its setup on 3.12+); returns what ``loop_stopped`` takes,
    or None when this run is not recorded (no thread to be had at interpreter shutdown)."""
    global _handle_run_code, _watchdog_started
    if _handle_run_code is None:
        _handle_run_code = sys.modules["asyncio.events"].Handle._run.__code__
    if base_frame is not None and base_frame.f_code.co_name == "_run_forever_setup":
        base_frame = base_frame.f_back  # the setup returns: the loop runs in its caller
    state = _Loop(loop, _thread.get_ident(), base_frame)
    # The loop thread never waits long for the lock: a watchdog frozen at interpreter
    # shutdown could hold it for ever.
    if not _lock.acquire(True, 1.0):
        return None
    try:
        _running[id(state)] = state
        start = not _watchdog_started
        _watchdog_started = True
    finally:
        _lock.release()
    if start:
        try:
            _thread.start_new_thread(_watch, ())
        except BaseException:
            _forget(state, watchdog_started=False)
            return None
    return state


def loop_stopped(state: _Loop) -> None:
    """Called when the loop stops running: the beat is cancelled, and a stall in progress
    (the loop's last step) is written. Not in a child made by fork, which asyncio tells
    that no loop runs there (the parent's watchdog may have held the lock)."""
    if state.pid != os.getpid():
        return
    late = _forget(state)
    _write_header()  # if the watchdog has not yet: it may not have run at all
    if late is not None:
        _write_stalls(late.stalls(state.last_beat if state.last_beat != late.beat else _now()))


def _forget(state: _Loop, watchdog_started: bool = True) -> _LatePeriod | None:
    """Stop recording ``state``'s loop; its late period, if one is open."""
    global _watchdog_started
    if not _lock.acquire(True, 1.0):
        return None
    try:
        _running.pop(id(state), None)
        if not watchdog_started:
            _watchdog_started = False
        state.stopped = True
        late = state.late
        state.late = None
        handle = state.handle
    finally:
        _lock.release()
    try:
        if handle is not None:
            handle.cancel()
    except Exception:
        pass
    return late


def _watch() -> None:
    try:
        _write_header()
        while _watch_once():
            pass
    except BaseException:
        pass


def _watch_once() -> bool:
    """Check every running loop (sampling the stuck ones), then sleep until the next check;
    False when no loop has run for IDLE_GRACE (the thread ends; the next loop starts
    another: ``asyncio.run`` runs its loop three times, a test suite one after another)."""
    global _watchdog_started, _idle_since
    now = _now()
    finished: list[tuple[_LatePeriod, float]] = []
    next_check: float | None = None
    with _lock:
        if not _running:
            if _idle_since is None:
                _idle_since = now
            elif now - _idle_since >= IDLE_GRACE:
                _watchdog_started = False
                _idle_since = None
                return False
            # Not woken by a loop that starts (a wake costs the loop thread the GIL, and
            # asyncio.run starts three): it looks for one as often as it checks a beat.
            next_check = min(_idle_since + IDLE_GRACE, now + BEAT + EARLY)
        else:
            _idle_since = None
        for state in list(_running.values()):
            at = _check(state, now, finished)
            next_check = at if next_check is None or at < next_check else next_check
    for late, end in finished:
        _write_stalls(late.stalls(end))
    time.sleep(max(0.0005, (next_check or now) - _now()))
    return True


def _check(state: _Loop, now: float, finished: list[tuple[_LatePeriod, float]]) -> float:
    """Sample ``state``'s loop if its beat is overdue; the time to look at it again."""
    if state.handle is None and now - state.last_beat >= BEAT:
        # The first beat, once the loop has run for a beat's time: a loop that runs less
        # (asyncio.run runs two short ones after the program's) costs almost nothing.
        try:
            state.handle = state.loop.call_soon_threadsafe(state.beat)
        except Exception:  # closed meanwhile: it is being forgotten
            pass
    beat = state.last_beat
    late = state.late
    if late is not None and late.beat != beat:  # the beat ran: the late period is over
        state.late = None
        finished.append((late, beat))
        late = None
    due = beat + BEAT
    if now - due < EARLY:
        return due + EARLY
    if late is None:
        late = state.late = _LatePeriod(beat)
    late.add(now, _sample(state))
    return now + PERIOD


def _sample(state: _Loop) -> tuple[FrameType | None, Stack]:
    """The loop thread's stack now, innermost first, down to the step (or the loop's base);
    and the step's ``Handle._run`` frame."""
    frame = sys._current_frames().get(state.thread_id)
    base = state.base_frame
    stack: list[SampledFrame] = []
    while frame is not None and frame is not base:
        code = frame.f_code
        if code is _handle_run_code:
            return frame, tuple(stack)
        if code.co_filename != _AGENT_FILE:
            stack.append((code, frame.f_lineno, frame.f_lasti, frame.f_globals.get("__name__")))
        frame = frame.f_back
    return None, tuple(stack)


def _write_header() -> None:
    """The process's line, once (twice at worst: the reader counts files, not lines)."""
    global _header_written
    if not _header_written:
        _write_lines([_header()])
        _header_written = True


def _header() -> dict[str, Any]:
    prefixes = sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
    return {"process": {
        "pid": os.getpid(), "python": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable,
        "cwd": _cwd, "prefixes": prefixes, "threshold_ms": THRESHOLD * 1000,
    }}


def _write_stalls(stalls: list[tuple[float, dict[Stack, list[float]]]]) -> None:
    if not stalls:
        return
    lines: list[dict[str, Any]] = []
    for seconds, stacks in stalls:
        lines.append({
            "seconds": round(seconds, 6), "samples": int(sum(counted[0] for counted in stacks.values())),
            "stacks": [
                [int(count), [_frame(*entry) for entry in stack], round(weight, 6)]
                for stack, (count, weight) in stacks.items()
            ],
        })
    _write_lines(lines)


def _frame(code: CodeType, line: int | None, lasti: int, module: str | None) -> list[Any]:
    filename = code.co_filename
    if filename and not filename.startswith("<") and not os.path.isabs(filename):
        filename = os.path.join(_cwd, filename)
    positions = None
    if sys.version_info >= (3, 11) and lasti >= 0:
        try:
            found = next(itertools.islice(code.co_positions(), lasti // 2, None), None)
        except Exception:
            found = None
        if found is not None and None not in found:
            positions = list(found)
    if line is None:
        line = positions[0] if positions else code.co_firstlineno
    qualname = getattr(code, "co_qualname", code.co_name)
    return [filename, module, qualname, line, positions, bool(code.co_flags & _ASYNC_FLAGS), _opname(code, lasti)]


def _opname(code: CodeType, lasti: int) -> str | None:
    try:
        import opcode  # already imported with asyncio (inspect imports dis)

        names = opcode.opname
        operations = code.co_code
        # A caller's frame (3.11+) stands on the last inline cache entry of its CALL.
        while lasti > 0 and names[operations[lasti]] == "CACHE":
            lasti -= 2
        return names[operations[lasti]]
    except Exception:
        return None


def _write_lines(records: list[dict[str, Any]]) -> None:
    global _output
    try:
        if _output is None:
            _output = os.path.join(RECORD_DIR, "%d-%d.jsonl" % (os.getpid(), time.time_ns()))
        text = "".join(_json(record) + "\n" for record in records)
        # A lone surrogate (a file name not in the file system's encoding) becomes \udcxx:
        # inside a JSON string, the escape of that very character.
        with open(_output, "a", encoding="utf-8", errors="backslashreplace") as out:
            out.write(text)
    except Exception:
        pass


#: JSON's escapes in a string: the quote, the backslash and the control characters.
_ESCAPES = {code: "\\u%04x" % code for code in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})


def _json(value: Any) -> str:
    """``value`` (None, bools, numbers, strings, lists, dicts) as JSON: the json module
    costs 1.5 ms to import, more than the rest of the agent."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_json(str(key)) + ":" + _json(item) for key, item in value.items()) + "}"
    return _json(str(value))


def _forked() -> None:
    """In a child made by fork: no watchdog runs here, and no loop is recorded yet; the
    child writes its own file."""
    global _lock, _watchdog_started, _idle_since, _output, _header_written
    for state in _running.values():
        state.late = None
    _running.clear()
    _lock = _thread.allocate_lock()
    _watchdog_started = False
    _idle_since = None
    _output = None
    _header_written = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
