# loopsafe record: the first code of every Python process the recorded command starts.
#
# `loopsafe record` puts this folder first on PYTHONPATH, so `site` imports this file as
# `sitecustomize` at startup (not under `python -I`, `-E` or `-S`). It must cost nothing a
# program notices and change nothing it does:
# - without LOOPSAFE_RECORD_DIR, or on a Python older than 3.9, it only steps aside;
# - otherwise, once asyncio is imported (if ever), it wraps `asyncio.events._set_running_loop`
#   (which a loop calls when it starts and stops running) and loads the recorder
#   (../agent.py) when a loop first runs: a program that never runs one pays for this file;
# - it takes its folder off sys.path and runs the sitecustomize it shadows, if the rest of
#   sys.path has one (the project's, or the distribution's), as `sitecustomize`;
# - its own errors are swallowed; those of the shadowed sitecustomize are raised, so `site`
#   reports them as it would have.
# Plain syntax on purpose: any Python (2.7 included) must parse it without a word on stderr.
import os
import sys

MYPY = False
if MYPY:  # names for the type comments (Python 2 syntax: no annotations here)
    from asyncio import AbstractEventLoop  # noqa: F401
    from importlib.machinery import ModuleSpec  # noqa: F401
    from types import ModuleType  # noqa: F401
    from typing import Any, Optional, Sequence  # noqa: F401

_AGENT_MODULE = "_loopsafe_record_agent"


def _loopsafe_boot():
    # type: () -> None
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sys.path[:] = [entry for entry in sys.path if not _same_folder(entry, here)]
        if os.environ.get("LOOPSAFE_RECORD_DIR") and sys.version_info >= (3, 9):
            _hook_asyncio(os.path.join(os.path.dirname(here), "agent.py"))
    except Exception:
        pass
    _run_shadowed_sitecustomize()


def _same_folder(entry, folder):
    # type: (str, str) -> bool
    try:
        return os.path.abspath(entry or os.curdir) == folder
    except Exception:
        return False


def _hook_asyncio(agent_path):
    # type: (str) -> None
    base_events = sys.modules.get("asyncio.base_events")
    if base_events is not None:
        _hook_running_loop(base_events, agent_path)
    else:
        sys.meta_path.insert(0, _AsyncioHook(agent_path))


class _AsyncioHook(object):
    """Finds nothing itself: lets the other finders find `asyncio.base_events`, and has the
    module's loader hook the running loop once the module has run."""

    def __init__(self, agent_path):
        # type: (str) -> None
        self.agent_path = agent_path

    def find_spec(self, name, path=None, target=None):
        # type: (str, Optional[Sequence[str]], Optional[ModuleType]) -> Any
        if name != "asyncio.base_events":
            return None
        try:
            for finder in sys.meta_path:
                find_spec = getattr(finder, "find_spec", None)
                if finder is self or find_spec is None:
                    continue
                spec = find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
            if spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return None
            spec.loader = _PatchingLoader(spec.loader, self)
            return spec
        except Exception:
            return None


class _PatchingLoader(object):
    def __init__(self, loader, hook):
        # type: (Any, _AsyncioHook) -> None
        self.loader = loader
        self.hook = hook

    def create_module(self, spec):
        # type: (ModuleSpec) -> Optional[ModuleType]
        create_module = getattr(self.loader, "create_module", None)
        return None if create_module is None else create_module(spec)

    def exec_module(self, module):
        # type: (ModuleType) -> None
        # The module and its spec show the real loader from here on.
        module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self.loader
        self.loader.exec_module(module)
        try:
            if self.hook in sys.meta_path:
                sys.meta_path.remove(self.hook)
            _hook_running_loop(module, self.hook.agent_path)
        except Exception:
            pass

    def __getattr__(self, name):
        # type: (str) -> Any
        return getattr(self.loader, name)


def _hook_running_loop(base_events, agent_path):
    # type: (ModuleType, str) -> None
    """Wrap ``asyncio.events._set_running_loop``, which a loop calls with itself when it
    starts running and with None when it stops (``run_forever``, and on 3.13 the setup and
    cleanup GUI loops call): no frame of ours is on the loop's stack, or in a traceback."""
    events = sys.modules["asyncio.events"]  # type: Any
    original = events._set_running_loop
    if getattr(original, "__loopsafe_record__", False):
        return
    import _thread

    loop_class = base_events.BaseEventLoop
    recordings = {}  # type: dict[int, Any]  # thread -> the agent's state of its loop
    thread_of = _thread.get_ident

    def _set_running_loop(loop):
        # type: (Optional[AbstractEventLoop]) -> None
        original(loop)
        _running_loop_set(loop, loop_class, agent_path, recordings, thread_of())

    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(_set_running_loop, attribute, getattr(original, attribute, None))
    _set_running_loop.__wrapped__ = original  # type: ignore[attr-defined]
    _set_running_loop.__loopsafe_record__ = True  # type: ignore[attr-defined]
    events._set_running_loop = _set_running_loop


def _running_loop_set(loop, loop_class, agent_path, recordings, thread):
    # type: (Optional[AbstractEventLoop], type, str, dict[int, Any], int) -> None
    try:
        previous = recordings.pop(thread, None)
        if previous is not None:
            sys.modules[_AGENT_MODULE].loop_stopped(previous)
        # Only a loop that really runs (not one set by hand) of asyncio's own kind: a step
        # of it is a call of asyncio.events.Handle._run.
        if loop is not None and isinstance(loop, loop_class) and loop.is_running():
            agent = sys.modules.get(_AGENT_MODULE)
            if agent is None:
                agent = _load_agent(agent_path)
            recording = agent.loop_started(loop, sys._getframe(2))  # the frame that set it
            if recording is not None:
                recordings[thread] = recording
    except Exception:
        pass


def _load_agent(agent_path):
    # type: (str) -> Any
    import importlib.util

    spec = importlib.util.spec_from_file_location(_AGENT_MODULE, agent_path)  # type: Any
    agent = importlib.util.module_from_spec(spec)
    sys.modules[_AGENT_MODULE] = agent
    try:
        spec.loader.exec_module(agent)
    except BaseException:
        sys.modules.pop(_AGENT_MODULE, None)
        raise
    return agent


def _run_shadowed_sitecustomize():
    # type: () -> None
    try:
        spec = _shadowed_spec()
    except Exception:
        return
    if spec is None:
        return
    if sys.version_info[0] == 2:
        import imp

        handle, filename, description = spec
        try:
            sys.modules["sitecustomize"] = imp.load_module("sitecustomize", handle, filename, description)
        finally:
            if handle is not None:
                handle.close()
        return
    if not hasattr(spec.loader, "exec_module"):  # a zip importer before 3.10
        spec.loader.load_module("sitecustomize")
        return
    module = sys.modules["_frozen_importlib"].module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _shadowed_spec():
    # type: () -> Any
    if sys.version_info[0] == 2:
        import imp

        try:
            return imp.find_module("sitecustomize", sys.path)
        except ImportError:
            return None
    return sys.modules["_frozen_importlib_external"].PathFinder.find_spec("sitecustomize", sys.path)


_loopsafe_boot()
