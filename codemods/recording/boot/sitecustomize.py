# loopsafe record: the first code of every Python process the recorded command starts.
#
# `loopsafe record` puts this folder first on PYTHONPATH, so `site` imports this file as
# `sitecustomize` at startup (not under `python -I`, `-E` or `-S`). It must cost nothing a
# program notices and change nothing it does:
# - without LOOPSAFE_RECORD_DIR, or on a Python older than 3.9, it only steps aside;
# - otherwise it hooks `asyncio.base_events` (when asyncio is imported, if ever) to wrap
#   `BaseEventLoop.run_forever`, and loads the recorder (../agent.py) when a loop first runs:
#   a program that never runs an event loop pays for this file only;
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
        _wrap_run_forever(base_events, agent_path)
    else:
        sys.meta_path.insert(0, _AsyncioHook(agent_path))


class _AsyncioHook(object):
    """Finds nothing itself: lets the other finders find `asyncio.base_events`, and has the
    module's loader wrap `run_forever` once the module has run."""

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
            _wrap_run_forever(module, self.hook.agent_path)
        except Exception:
            pass

    def __getattr__(self, name):
        # type: (str) -> Any
        return getattr(self.loader, name)


def _wrap_run_forever(base_events, agent_path):
    # type: (ModuleType, str) -> None
    loop_class = base_events.BaseEventLoop
    original = loop_class.run_forever
    if getattr(original, "__loopsafe_record__", False):
        return

    def run_forever(self):
        # type: (AbstractEventLoop) -> Any
        recording = _loop_started(self, agent_path)
        try:
            return original(self)
        finally:
            if recording is not None:
                _loop_stopped(recording)

    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(run_forever, attribute, getattr(original, attribute, None))
    run_forever.__wrapped__ = original  # type: ignore[attr-defined]
    run_forever.__loopsafe_record__ = True  # type: ignore[attr-defined]
    loop_class.run_forever = run_forever


def _loop_started(loop, agent_path):
    # type: (AbstractEventLoop, str) -> Any
    try:
        agent = sys.modules.get(_AGENT_MODULE)
        if agent is None:
            agent = _load_agent(agent_path)
        # The frame of run_forever above: where the loop's own stack begins.
        return agent.loop_started(loop, sys._getframe(1))
    except Exception:
        return None


def _loop_stopped(recording):
    # type: (Any) -> None
    try:
        sys.modules[_AGENT_MODULE].loop_stopped(recording)
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
