"""What `loopsafe record` costs a program that does not stall: loop-heavy programs run
with and without the recorder, alternating, and the medians compared.

    python benchmarks/record_overhead.py                 # 11 runs of each, about two minutes
    python benchmarks/record_overhead.py --runs 21 --python /root/.pyenv/versions/3.12.1/bin/python

Two tables. Each program as a process, run without and with `loopsafe record` in turn
(the program times its own work, wall and CPU time of the process, so the watchdog
thread's CPU counts; loopsafe's own start and the writing of the file do not). Then each
program's work repeated in one process in the recorder's environment, the recorder's hook
switched off and on in turn: no process start, so far less noise on a shared machine.
Programs:
- tasks: 200 tasks, each 1,500 short steps (a little work, then `await asyncio.sleep(0)`):
  one loop iteration runs every task once, about 2-3 ms, far below the threshold;
- wide: 4,000 tasks doing the same 60 times: an iteration takes ~40 ms, so the heartbeat
  is late by more than half the threshold in every iteration and the watchdog samples,
  although no single step is long (the recorder's worst case; nothing is recorded);
- queues: producer/consumer pairs through `asyncio.Queue`, with timers
  (`asyncio.sleep(0.0001)`), the pattern of a server;
- runs: 2,000 `asyncio.run()` of a coroutine that awaits once, the pattern of a test
  suite whose tests each run their own loop (the recorder's cost per loop run);
- startup: a script that imports three modules and ends, run with the recorder's
  environment but without loopsafe's own start: what a program that never runs a loop
  pays (the boot sitecustomize and nothing else).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Each program's work, ``work()``; the same text run as a script times one call of it.
PROGRAMS = {
    "tasks": '''
import asyncio, json

async def worker(index, steps):
    total = 0
    for step in range(steps):
        total += len(json.dumps({"task": index, "step": step}))
        await asyncio.sleep(0)
    return total

async def main():
    return sum(await asyncio.gather(*(worker(i, 1500) for i in range(200))))

def work():
    asyncio.run(main())
''',
    "wide": '''
import asyncio, json

async def worker(index, steps):
    total = 0
    for step in range(steps):
        total += len(json.dumps({"task": index, "step": step}))
        await asyncio.sleep(0)
    return total

async def main():
    return sum(await asyncio.gather(*(worker(i, 60) for i in range(4000))))

def work():
    asyncio.run(main())
''',
    "queues": '''
import asyncio

async def producer(queue, items):
    for item in range(items):
        await queue.put(item)
        if item % 50 == 0:
            await asyncio.sleep(0.0001)
    await queue.put(None)

async def consumer(queue):
    total = 0
    while (item := await queue.get()) is not None:
        total += item * item
    return total

async def main():
    queues = [asyncio.Queue(maxsize=20) for _ in range(50)]
    producers = [asyncio.create_task(producer(q, 4000)) for q in queues]
    totals = await asyncio.gather(*(consumer(q) for q in queues))
    await asyncio.gather(*producers)
    return sum(totals)

def work():
    asyncio.run(main())
''',
    "runs": '''
import asyncio

async def trivial():
    await asyncio.sleep(0)

def work():
    for _ in range(2000):
        asyncio.run(trivial())
''',
    "startup": "import json, os, re\n",
}

AS_SCRIPT = '''
import time
started, cpu = time.perf_counter(), time.process_time()
work()
print(time.perf_counter() - started, time.process_time() - cpu)
'''

#: Run in the recorder's environment: ``work()`` timed again and again, the recorder's hook
#: on asyncio's running loop switched off and on in turn (its ``__wrapped__`` is asyncio's).
IN_PROCESS = '''
import asyncio.events, statistics, sys, time
hooked = asyncio.events._set_running_loop
runs = {"off": [], "on": []}
for index in range(int(sys.argv[1])):
    for name in ("off", "on") if index % 2 else ("on", "off"):
        asyncio.events._set_running_loop = hooked if name == "on" else hooked.__wrapped__
        started, cpu = time.perf_counter(), time.process_time()
        work()
        runs[name].append((time.perf_counter() - started, time.process_time() - cpu))
for kind in (0, 1):
    print(statistics.median(r[kind] for r in runs["off"]), statistics.median(r[kind] for r in runs["on"]),
          statistics.median(b[kind] / a[kind] for a, b in zip(runs["off"], runs["on"])))
'''


#: Every run's environment: bytecode is cached as in an ordinary installation (this
#: benchmark's own environment may say PYTHONDONTWRITEBYTECODE; the recorder's two files
#: would then be compiled at every start by Pythons other than loopsafe's).
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stderr) of one run: the program's own `asyncio.run`
    as it printed them; for a program that prints nothing, the whole process's (the CPU
    time from the rusage of children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env or ENVIRONMENT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.stdout.strip():
        wall_text, cpu_text = done.stdout.split()[-2:]
        return float(wall_text), float(cpu_text), done.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr


def overhead(without: list[float], with_recorder: list[float]) -> str:
    """The medians, and the median of the ratios of runs made one after the other (less
    sensitive than the ratio of medians to a load that changes during the benchmark)."""
    ratio = statistics.median(b / a for a, b in zip(without, with_recorder))
    return f"{statistics.median(without):.3f} | {statistics.median(with_recorder):.3f} | {100 * (ratio - 1):+.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11, help="runs of each variant (alternating)")
    parser.add_argument("--python", default=sys.executable, help="the Python that runs the programs")
    parser.add_argument("--only", action="append", choices=sorted(PROGRAMS), help="only these programs")
    arguments = parser.parse_args()
    loopsafe = shutil.which("loopsafe", path=str(Path(sys.executable).parent)) or shutil.which("loopsafe")
    if loopsafe is None:
        sys.exit("loopsafe is not installed (pip install -e .)")
    version = subprocess.run([arguments.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    names = arguments.only or list(PROGRAMS)
    print(f"Python {version} ({arguments.python}), {os.cpu_count()} cores; medians in seconds; overhead: the "
          f"median of the ratios of runs made one after the other\n")
    with tempfile.TemporaryDirectory(prefix="record-overhead-") as folder:
        cwd = Path(folder)
        environment = _recording_environment(folder)
        print(f"Each program as a process, {arguments.runs} runs without and with `loopsafe record` in turn (the "
              "program times its own work: loopsafe's start and the writing of the file are not counted):\n")
        print("| program | wall without | wall with | overhead | CPU without | CPU with | overhead | stalls recorded |")
        print("|---|---|---|---|---|---|---|---|")
        for name in names:
            (cwd / f"{name}.py").write_text(PROGRAMS[name] + (AS_SCRIPT if name != "startup" else ""))
            plain = [arguments.python, f"{name}.py"]
            # The startup case runs with the recorder's environment alone: loopsafe's own
            # start is not the program's cost.
            recorded, env = ([loopsafe, "record", "-o", "observed.json", "--", *plain], None) if name != "startup" \
                else (plain, environment)
            runs: dict[str, list[float]] = {"wall": [], "cpu": [], "recorded wall": [], "recorded cpu": []}
            stalls = set()
            for _ in range(arguments.runs):
                wall, cpu, _ = measure(plain, cwd)
                runs["wall"].append(wall)
                runs["cpu"].append(cpu)
                wall, cpu, err = measure(recorded, cwd, env)
                runs["recorded wall"].append(wall)
                runs["recorded cpu"].append(cpu)
                stalls.add(err.split(":", 1)[1].split(" longer")[0].strip() if "longer than" in err else "-")
            print(f"| {name} | {overhead(runs['wall'], runs['recorded wall'])} | "
                  f"{overhead(runs['cpu'], runs['recorded cpu'])} | {', '.join(sorted(stalls))} |", flush=True)
        print(f"\nIn one process each, {arguments.runs} runs of the work with the recorder's hook off and on in turn "
              "(no process start, agent load or thread start: the cost while loops run):\n")
        print("| program | wall off | wall on | overhead | CPU off | CPU on | overhead |")
        print("|---|---|---|---|---|---|---|")
        for name in names:
            if name == "startup":
                continue
            (cwd / f"{name}_in_process.py").write_text(PROGRAMS[name] + IN_PROCESS)
            done = subprocess.run([arguments.python, f"{name}_in_process.py", str(arguments.runs)], cwd=cwd,
                                  env=environment, capture_output=True, text=True, check=True)
            cells = []
            for line in done.stdout.splitlines()[-2:]:
                off, on, ratio = map(float, line.split())
                cells.append(f"{off:.3f} | {on:.3f} | {100 * (ratio - 1):+.1f}%")
            print(f"| {name} | {' | '.join(cells)} |", flush=True)


def _recording_environment(folder: str) -> dict[str, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from codemods.recording.session import recording_environment

    return recording_environment(ENVIRONMENT, folder, 20.0)


if __name__ == "__main__":
    main()
