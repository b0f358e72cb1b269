"""A media-processing job worker, in the style of a Celery or Hatchet worker.

Every handler below is a coroutine, and many of them call blocking functions: while
one job downloads a file or waits for ffmpeg, every other job on the event loop stops.
Run `loopsafe diff examples/` to see how loopsafe moves those calls off the loop.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess as sp
import urllib.request
from dataclasses import dataclass
from time import sleep

import requests

log = logging.getLogger("worker")

WORKDIR = "/var/lib/worker"
WEBHOOK = "https://hooks.example.com/jobs"


@dataclass
class Job:
    id: str
    source_url: str
    target: str
    retries: int = 3


def checksum(path: str) -> str:
    # A plain function: blocking here is fine, the coroutine offloads it.
    return sp.check_output(["sha256sum", path], text=True).split()[0]


async def download(job: Job) -> str:
    os.makedirs(f"{WORKDIR}/{job.id}", exist_ok=True)
    path = f"{WORKDIR}/{job.id}/source.bin"
    for attempt in range(job.retries):
        try:
            response = requests.get(job.source_url, timeout=30, stream=False)
            response.raise_for_status()
            break
        except requests.RequestException as error:
            log.warning("download of %s failed (%s), retrying", job.id, error)
            sleep(2 ** attempt)  # exponential back-off
    else:
        raise RuntimeError(f"could not download {job.source_url}")
    with open(path, "wb") as handle:
        handle.write(response.content)
    return path


async def transcode(job: Job, source: str) -> str:
    output = f"{WORKDIR}/{job.id}/out.mp4"
    sp.run(
        ["ffmpeg", "-y", "-i", source, "-c:v", "libx264", output],  # the slow part
        check=True,
        capture_output=True,
    )
    probe = sp.check_output(["ffprobe", "-of", "json", "-show_format", output])
    log.info("transcoded %s: %s", job.id, json.loads(probe)["format"]["duration"])
    # Already correct: the sync helper runs in a thread.
    digest = await asyncio.to_thread(checksum, output)
    log.info("sha256 %s", digest)
    return output


async def publish(job: Job, output: str) -> None:
    shutil.copyfile(output, job.target)
    request = urllib.request.Request(
        WEBHOOK,
        data=json.dumps({"job": job.id, "status": "done"}).encode(),
        headers={"content-type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10)


async def cleanup(job: Job) -> None:
    folder = f"{WORKDIR}/{job.id}"
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    shutil.rmtree(folder, ignore_errors=True)


async def disk_usage(jobs: list[Job]) -> int:
    # A generator expression: an `await` here would make it an async generator, so
    # loopsafe reports this call instead of rewriting it.
    return sum(len(os.listdir(f"{WORKDIR}/{job.id}")) for job in jobs)


async def handle(job: Job) -> None:
    def on_failure(error: BaseException) -> None:
        # A nested plain function is not the coroutine: left alone.
        sp.call(["logger", "-t", "worker", f"job {job.id} failed: {error}"])

    try:
        source = await download(job)
        output = await transcode(job, source)
        await publish(job, output)
    except Exception as error:  # noqa: BLE001 - report every failure
        on_failure(error)
        raise
    finally:
        await cleanup(job)


class Scheduler:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs

    def sleep(self, seconds: float) -> None:
        """Not time.sleep: a method of this class."""

    async def run(self, poll_interval: float = 1.0, time=None) -> None:
        while self.jobs:
            await asyncio.gather(*(handle(job) for job in self.jobs))
            self.jobs.clear()
            self.sleep(poll_interval)  # a method, not a blocking call
            if time is not None:
                time.sleep(poll_interval)  # `time` is a parameter here, not the module
        # A lambda runs wherever it is called; here, in a worker thread.
        await asyncio.to_thread(lambda: sleep(poll_interval))


if __name__ == "__main__":
    asyncio.run(Scheduler([Job("42", "https://example.com/in.mov", "/srv/out.mp4")]).run())
