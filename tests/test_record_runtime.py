"""`loopsafe record` at run time: real programs recorded, on every Python present.

- the agent on each pyenv Python 3.9-3.13 present (and this one): one small program run
  with the recorder's environment, checking that it changes nothing the program sees
  (output, exit status through ``os._exit``, stderr, sys.path, its own sitecustomize,
  threads) and that the agent loads only when a loop runs, and where the stalls went;
- the issue's scenarios (sleep and file I/O through code outside the project,
  ``hashlib.pbkdf2_hmac``, a CPU-bound helper, a slow path taken once, work handed to
  a thread, a child process) recorded through the console script from a script, and from
  ``python -m pytest -n 2`` (xdist workers);
- Ctrl-C reaching the command while loopsafe waits, and a command killed by a signal.

Stalls are 60-80 ms against a 20 ms threshold; each test runs few processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from codemods import observed
from codemods.recording.attribution import observations, read_recording
from codemods.recording.session import BOOT_DIR, recording_environment
from tests.conftest import find_tool

PYENV = Path("/root/.pyenv/versions")


def _version_of_folder(python: Path) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in python.parent.parent.name.split(".")[:2])
    except ValueError:
        return ()


#: The pyenv Pythons 3.9-3.13 present, but for the one running the suite's (tested as this one).
OTHER_PYTHONS = [
    python for python in sorted(PYENV.glob("3.*/bin/python"), key=_version_of_folder)
    if (3, 9) <= _version_of_folder(python) <= (3, 13) and _version_of_folder(python) != sys.version_info[:2]
] if PYENV.is_dir() else []

AGENT_PROGRAM = '''\
import os
import sys

print("agent at start:", "_loopsafe_record_agent" in sys.modules)
print("project sitecustomize:", getattr(sys.modules.get("sitecustomize"), "MARK", None))
print("boot on sys.path:", any(p.rstrip("/").endswith("recording/boot") for p in sys.path))
import asyncio
import threading
import time

print("agent after import:", "_loopsafe_record_agent" in sys.modules)


def helper():
    time.sleep(0.06)


async def inner():
    helper()


def interrupt():
    raise KeyboardInterrupt


loop = asyncio.new_event_loop()
loop.call_soon(interrupt)
try:
    loop.run_forever()
except KeyboardInterrupt as error:
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    print("recorder in a traceback:", any("recording" in frame.filename for frame in frames))
loop.close()


async def main():
    print("agent in loop:", "_loopsafe_record_agent" in sys.modules)
    time.sleep(0.06)  # in main
    await inner()
    await asyncio.to_thread(time.sleep, 0.08)
    print("threads:", len(threading.enumerate()), [t.name for t in threading.enumerate() if "loopsafe" in t.name])
    await asyncio.sleep(0.03)  # the watchdog writes the stall that ended before
    sys.stdout.flush()
    os._exit(3)


asyncio.run(main())
'''


def line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def python_id(python: Path) -> str:
    return python.parent.parent.name


@pytest.mark.parametrize("python", [Path(sys.executable), *OTHER_PYTHONS],
                         ids=["this-python", *map(python_id, OTHER_PYTHONS)])
def test_the_agent_on_each_python(python: Path, tmp_path: Path) -> None:
    version = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if tuple(map(int, version.split(".")[:2])) < (3, 9):
        pytest.skip(f"the recorder needs Python 3.9+ ({python} is {version})")
    project, folder, own_site = tmp_path / "project", tmp_path / "record", tmp_path / "site"
    for directory in (project, folder, own_site):
        directory.mkdir()
    (project / "prog.py").write_text(AGENT_PROGRAM)
    (own_site / "sitecustomize.py").write_text("MARK = 'project'\n")
    env = recording_environment(os.environ, str(folder), 20.0)
    env["PYTHONPATH"] = f"{BOOT_DIR}{os.pathsep}{own_site}"
    done = subprocess.run([python, "prog.py"], cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (3, "")
    assert done.stdout.splitlines() == [
        "agent at start: False", "project sitecustomize: project", "boot on sys.path: False",
        "agent after import: False", "recorder in a traceback: False", "agent in loop: True", "threads: 2 []",
    ]
    found = observations(read_recording(folder), project)
    assert (found.processes, found.pythons) == (1, (version,))
    sites = {(site.line, site.function): site for site in found.sites}
    lines_only = tuple(map(int, version.split(".")[:2])) < (3, 11)
    sleep = sites.pop((line_of(AGENT_PROGRAM, "# in main"), "main"))
    assert sleep.chains[0].through == (() if lines_only else ("time.sleep()",))
    assert (sleep.col_offset is None) == lines_only and sleep.callee is None and sleep.steps == 1
    assert 0.04 < sleep.seconds < 0.5
    through_helper = sites.pop((line_of(AGENT_PROGRAM, "    helper()"), "inner"))
    assert through_helper.chains[0].through[0] == "prog.helper()" and through_helper.callee == "helper"
    # The to_thread'ed sleep (80 ms) did not stall the loop. (Other sites may appear only
    # if the machine is so loaded that the loop thread waited 20 ms for a CPU.)
    offloaded = line_of(AGENT_PROGRAM, "await asyncio.to_thread(time.sleep, 0.08)")
    assert not [site for site in sites.values() if site.line == offloaded and site.seconds > 0.04], sites


@pytest.mark.parametrize("folder", ["2.7", "3.8"])
def test_older_pythons_are_left_alone(folder: str, tmp_path: Path) -> None:
    """The boot sitecustomize parses on any Python and steps aside before 3.9, silently,
    still running the sitecustomize it shadows."""
    pythons = sorted(PYENV.glob(f"{folder}.*/bin/python"))
    if not pythons:
        pytest.skip(f"no Python {folder} here")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("import sys\nsys.stdout.write('shadowed ran\\n')\n")
    env = recording_environment(os.environ, str(tmp_path), 20.0)
    env["PYTHONPATH"] += os.pathsep + str(tmp_path / "site")
    done = subprocess.run([pythons[-1], "-c", "print('ok')"], env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "shadowed ran\nok\n", "")
    assert list(tmp_path.glob("*.jsonl")) == []


ROOT_FILES = {
    "pytest.ini": "[pytest]\n",
    "conftest.py": "",
    "env/pyvenv.cfg": "home = /usr/bin\n",
    # A library outside the project: in a virtual environment inside the project's folder.
    "env/lib/slowlib.py": '''\
        import time


        def fetch():
            time.sleep(0.06)
            return "fetched"
        ''',
    "app/__init__.py": '''\
        import os
        import sys

        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "env", "lib"))
        ''',
    "app/util.py": '''\
        import time

        _strings = {}


        def crunch(seconds):
            deadline = time.perf_counter() + seconds
            total = 0
            while time.perf_counter() < deadline:
                for number in range(2000):
                    total += number * number
            return total


        def get_string(key):
            if key not in _strings:
                time.sleep(0.06)  # a translation missing: fetched once
                _strings[key] = key.upper()
            return _strings[key]
        ''',
    "app/service.py": '''\
        import asyncio
        import hashlib
        import os
        import pathlib
        import threading
        import time

        import slowlib

        from app import util

        async def sleepy():
            return slowlib.fetch()


        async def read_fifo(path):
            return pathlib.Path(path).read_text()


        async def hash_password():
            deadline = time.perf_counter() + 0.07  # as long, however fast the machine
            while time.perf_counter() < deadline:
                digest = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 5000)
            return digest.hex()[:8]


        async def crunch():
            return util.crunch(0.06) > 0


        async def greet(key):
            return util.get_string(key)


        async def offloaded():
            await asyncio.to_thread(time.sleep, 0.08)
            return "offloaded"


        def feed_later(path):
            def feed():
                time.sleep(0.06)
                with open(path, "w") as fifo:
                    fifo.write("from the fifo")

            threading.Thread(target=feed).start()


        async def run_all(folder):
            # Each scenario in a step of its own (asyncio.sleep(0) yields to the loop).
            results = [await sleepy()]
            await asyncio.sleep(0)
            fifo = os.path.join(folder, "fifo")
            os.mkfifo(fifo)
            feed_later(fifo)
            results.append(await read_fifo(fifo))
            await asyncio.sleep(0)
            results.append(len(await hash_password()))
            await asyncio.sleep(0)
            results.append(await crunch())
            for _ in range(3):
                await asyncio.sleep(0)
                results.append(await greet("hello"))
            await asyncio.sleep(0)
            return results + [await offloaded()]
        ''',
    "app/child.py": '''\
        import asyncio

        import slowlib


        async def child_main():
            return slowlib.fetch()


        print("child:", asyncio.run(child_main()), flush=True)
        ''',
    "main.py": '''\
        import asyncio
        import subprocess
        import sys
        import tempfile

        from app import service

        with tempfile.TemporaryDirectory() as folder:
            print("result:", asyncio.run(service.run_all(folder)), flush=True)
        subprocess.run([sys.executable, "-m", "app.child"], check=True)
        sys.exit(3)
        ''',
    "tests/test_service.py": '''\
        import asyncio

        from app import service


        def test_sleepy():
            assert asyncio.run(service.sleepy()) == "fetched"


        def test_read_fifo(tmp_path):
            fifo = tmp_path / "fifo"
            service.os.mkfifo(fifo)
            service.feed_later(fifo)
            assert asyncio.run(service.read_fifo(fifo)) == "from the fifo"


        def test_hash_password():
            assert len(asyncio.run(service.hash_password())) == 8


        def test_crunch():
            assert asyncio.run(service.crunch())


        def test_greet():
            async def three():
                return [await service.greet("hello") for _ in range(3)]

            assert asyncio.run(three()) == ["HELLO"] * 3


        def test_offloaded():
            assert asyncio.run(service.offloaded()) == "offloaded"
        ''',
}


def write_project(root: Path) -> None:
    for relative, text in ROOT_FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def service_line(text: str) -> int:
    return line_of(textwrap.dedent(ROOT_FILES["app/service.py"]), text)


def clean_environment() -> dict[str, str]:
    """This test run's environment without what would steer the recorded pytest."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LOOPSAFE_")) and k != "PYTHONPATH"}


def assert_the_scenarios(found: observed.Observations, script: bool) -> None:
    by_line = {}
    for site in found.sites:
        by_line.setdefault((site.path, site.line), []).append(site)

    def site(path: str, line: int) -> observed.ObservedSite:
        sites = by_line.pop((path, line), None)
        assert sites is not None and len(sites) == 1, (path, line, found.sites)
        assert sites[0].kind == "coroutine" and sites[0].in_call and sites[0].seconds > 0.03, sites[0]
        return sites[0]

    lines_only = sys.version_info < (3, 11)
    sleepy = site("app/service.py", service_line("return slowlib.fetch()"))
    assert sleepy.chains[0].through == ("slowlib.fetch()",) + (() if lines_only else ("time.sleep()",))
    assert sleepy.callee == "fetch" and sleepy.function == "sleepy"
    fifo = site("app/service.py", service_line("return pathlib.Path(path).read_text()"))
    assert fifo.chains[0].through[0] == "pathlib.Path.read_text()"
    digest = site("app/service.py", service_line('digest = hashlib.pbkdf2_hmac("sha256"'))
    assert digest.chains[0].through == (() if lines_only else ("hashlib.pbkdf2_hmac()",))
    crunch = site("app/service.py", service_line("return util.crunch(0.06) > 0"))
    assert crunch.chains[0].through[0] == "app.util.crunch()" and crunch.callee == "crunch"
    greet = site("app/service.py", service_line("return util.get_string(key)"))
    assert greet.steps == 1 and greet.chains[0].through[:1] == ("app.util.get_string()",)
    if script:
        child = site("app/child.py", 7)
        assert child.chains[0].through[0] == "slowlib.fetch()"
    # The to_thread'ed sleep (80 ms) did not stall the loop, and no site is in the library
    # (in a virtual environment in the project's folder).
    offloaded = ("app/service.py", service_line("await asyncio.to_thread(time.sleep, 0.08)"))
    assert not [s for s in by_line.get(offloaded, []) if s.seconds > 0.04], by_line
    assert all(not path.startswith("env/") for path in found.modules)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="the file I/O scenario reads a FIFO")
def test_the_scenarios_recorded_from_a_script(tmp_path: Path) -> None:
    write_project(tmp_path)
    loopsafe = find_tool("loopsafe", "a console script: pip install -e .")
    done = subprocess.run([loopsafe, "record", "-o", "obs.json", "--", sys.executable, "main.py"], cwd=tmp_path,
                          env=clean_environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert done.stdout == (
        "result: ['fetched', 'from the fifo', 8, True, 'HELLO', 'HELLO', 'HELLO', 'offloaded']\nchild: fetched\n"
    )
    found = observed.load(tmp_path / "obs.json")
    assert (found.processes, found.command, found.root) == (2, (sys.executable, "main.py"), str(tmp_path))
    assert_the_scenarios(found, script=True)
    assert done.stderr.startswith("loopsafe record: ") and "app/service.py:" in done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="the file I/O scenario reads a FIFO")
def test_the_scenarios_recorded_from_pytest_with_xdist_workers(tmp_path: Path) -> None:
    write_project(tmp_path)
    loopsafe = find_tool("loopsafe", "a console script: pip install -e .")
    # Only xdist among the plugins installed here: their loading is most of pytest's start.
    env = {**clean_environment(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [loopsafe, "record", "--", sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-p", "no:cacheprovider",
         "-n", "2", "tests"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout
    found = observed.load(tmp_path / observed.DEFAULT_FILE)
    assert found.processes == 2  # the two workers; the controller runs no loop
    assert_the_scenarios(found, script=False)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_reaches_the_command_and_its_signal_ends_loopsafe(tmp_path: Path) -> None:
    program = textwrap.dedent('''\
        import asyncio, sys, time

        async def main():
            time.sleep(0.06)
            print("ready", flush=True)
            await asyncio.sleep(30)

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise
        ''')
    (tmp_path / "wait.py").write_text(program)
    loopsafe = find_tool("loopsafe", "a console script: pip install -e .")
    process = subprocess.Popen([loopsafe, "record", "--", sys.executable, "wait.py"], cwd=tmp_path,
                               env=clean_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole group
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert out == "interrupted\n"
    # Python ends on an uncaught KeyboardInterrupt by SIGINT; loopsafe, once the file is
    # written, by the same signal.
    assert process.returncode == -signal.SIGINT, err
    found = observed.load(tmp_path / observed.DEFAULT_FILE)
    assert [(site.line, site.function) for site in found.sites] == [(4, "main")]
