"""The change-over on the sandbox: flip to all hosts healthy, and failed requests under traffic.

It takes the sandbox: it runs ``invoke sandbox.reset`` (sites back on disk,
the bucket prefix ``media/`` emptied), then ``invoke cutover --env=sandbox``
under steady traffic, then resets again; with ``with_rollback``, ``invoke rollback
--env=sandbox`` under the same traffic instead of the reset after.  ``bench.run --changeover`` and
``bench.scale_changeover`` run it.

- Traffic: 4 threads, each pausing 50 ms between rounds, GET on both sites ``/healthz``, media files by
  their disk URLs, and now and then the file list with one media URL it
  renders (the bucket's, once the site is on S3).  Loopback only, bounded in
  requests and seconds.  A failure is any answer but 200, or no answer.
- Healthy: a poller per host GETs the health URL every 50 ms; a host is
  healthy on S3 from the first answer ``200, storage=s3`` after which every
  answer agrees (on disk: ``storage=disk``, for the rollback).  The change-over
  time is from the start of the journal's flip step (runs/*.jsonl) to the last
  host healthy on the new storage.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple
from urllib.parse import urljoin

from deploy.config.types import Settings
from deploy.engine.events import End, Healthy, StepFinished, StepStarted
from deploy.engine.journal import Entry, read_entries
from deploy.engine.lock import describe, read_lock
from deploy.flows import cutover, rollback
from deploy.flows.steps import RELOAD
from deploy.remote.ssh import connect

FLIP_STEP = cutover.SWITCH_STEP
ROLLBACK_FLIP_STEP = rollback.SWITCH_STEP
RELOAD_STEP = RELOAD.name


def between_flip_and_reload(steps: list, flip: str) -> tuple[str, ...]:
    """The steps from the flip to the end of the reload, as the flow runs them."""
    names = [step.name for step in steps]
    return tuple(names[names.index(flip):names.index(RELOAD_STEP) + 1])


BETWEEN_FLIP_AND_RELOAD = between_flip_and_reload(cutover.CUTOVER, FLIP_STEP)
ROLLBACK_BETWEEN_FLIP_AND_RELOAD = between_flip_and_reload(rollback.ROLLBACK, ROLLBACK_FLIP_STEP)
MAX_REQUESTS = 2_000_000
MAX_SECONDS = 7200  # a cutover of a million files under traffic takes ~25 minutes here


class Invoked(NamedTuple):
    stdout: str
    stderr: str
    peak_mb: float   # this invoke process's own peak RSS (and its waited children's): the tool, nothing else


def invoke(project_root: Path, *args: str, timeout: float = 900) -> Invoked:
    """``python -m invoke ARGS`` to its end; raises RuntimeError unless it exits 0.

    Its peak memory comes from wait4() on it alone: RUSAGE_CHILDREN would also count the resets
    and the reseed (a Django process writing a million rows) that this bench ran before.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=project_root, stdout=out,
                                   stderr=err, text=True, env=dict(os.environ))
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                raise RuntimeError(f"invoke {' '.join(args)} did not end within {timeout:.0f} s")
            time.sleep(0.2)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        result = Invoked(out.read(), err.read(), usage.ru_maxrss / 1024)
    if process.returncode != 0:
        raise RuntimeError(f"invoke {' '.join(args)} exited {process.returncode}: "
                           f"{(result.stdout + result.stderr)[-1500:]}")
    return result


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """(status, body); status 0 when no complete answer came (refused, reset, cut short)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except (OSError, http.client.HTTPException) as error:
        return 0, f"{type(error).__name__}: {error}".encode()


@dataclass
class Traffic:
    """Steady GETs against the sites until stopped (or the bounds are reached)."""

    sites: list[str]
    media_urls: list[str]
    threads: int = 4
    pause: float = 0.05            # between a thread's rounds: steady, not saturating (2 cores)
    requests: int = 0
    failures: Counter = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list = field(default_factory=list)

    def start(self) -> None:
        self.began = time.monotonic()
        for number in range(self.threads):
            worker = threading.Thread(target=self._loop, args=(number,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        self.seconds = time.monotonic() - self.began

    def _count(self, url: str, status: int) -> None:
        with self._lock:
            self.requests += 1
            if status != 200:
                self.failures[f"{status or 'no answer'} {url.split('?')[0]}"] += 1

    def _loop(self, number: int) -> None:
        turn = number
        while (not self._stop.is_set() and self.requests < MAX_REQUESTS
               and time.monotonic() - self.began < MAX_SECONDS):
            site = self.sites[turn % len(self.sites)]
            self._count(f"{site}/healthz", get(f"{site}/healthz")[0])
            media = self.media_urls[turn % len(self.media_urls)]
            self._count(media, get(media)[0])
            if turn % 5 == 0:
                status, body = get(f"{site}/files/?limit=3")
                try:
                    files = (json.loads(body).get("files") or []) if status == 200 else []
                except (ValueError, AttributeError):
                    status, files = -1, []          # an answer that is not the JSON list: a failure
                self._count(f"{site}/files/", status)
                if files:
                    rendered = urljoin(site + "/", files[0]["url"])
                    self._count(rendered, get(rendered)[0])
            turn += 1
            time.sleep(self.pause)


@dataclass
class HealthPoller:
    """Polls one health URL every 50 ms: (time.time(), status, storage) samples."""

    url: str
    samples: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        began = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - began < MAX_SECONDS:
            status, body = get(self.url, timeout=5)
            storage = None
            if status == 200:
                try:
                    storage = json.loads(body).get("storage")
                except (ValueError, AttributeError):
                    pass
            self.samples.append((time.time(), status, storage))
            time.sleep(0.05)

    def healthy_since(self, wanted: str = "s3", after: float = 0.0) -> float | None:
        """The first sample (after ``after``) from which every answer is 200 with storage=``wanted``."""
        since = None
        for moment, status, storage in self.samples:
            if moment < after:
                continue
            if (status, storage) == (200, wanted):
                since = since or moment
            else:
                since = None
        return since


def disk_media_urls(site: str, limit: int = 20) -> list[str]:
    """Media URLs the site renders while on disk, keeping those that answer 200."""
    status, body = get(f"{site}/files/?limit={limit}")
    if status != 200:
        raise RuntimeError(f"{site}/files/ answered {status}")
    urls = [urljoin(site + "/", item["url"]) for item in json.loads(body).get("files", [])]
    return [url for url in urls if get(url)[0] == 200]


def newest_cutover_journal(runs_dir: Path, after: float, kind: str = "cutover") -> Path:
    journals = [path for path in runs_dir.glob(f"*-sandbox-{kind}.jsonl") if path.stat().st_mtime >= after]
    if not journals:
        raise RuntimeError(f"no {kind} journal in {runs_dir} since the bench started the {kind}")
    return max(journals, key=lambda path: path.stat().st_mtime)


def measure_changeover(project_root: Path, settings: Settings, say: Callable[[str], None],
                       threads: int = 4, with_rollback: bool = False, timeout: float = 900) -> dict:
    """Reset, cutover under traffic (with ``with_rollback``: then the rollback, under the same traffic),
    reset again; the timings and the failed requests (the rollback's under "rollback").

    Refuses (RuntimeError) while another run holds the sandbox's lock: the reset would break it.
    """
    with connect(settings, settings.media_host) as connection:
        holder = read_lock(connection, settings)
    if holder is not None:
        raise RuntimeError(f"the sandbox is locked by {describe(holder)}: another run uses it, "
                           "and sandbox.reset would break that run")
    say("    invoke sandbox.reset (sites on disk, bucket prefix media/ emptied)")
    invoke(project_root, "sandbox.reset", timeout=timeout)
    try:
        sites = [host.site_url for host in settings.hosts]
        media = [url for site in sites for url in disk_media_urls(site)]
        if not media:
            raise RuntimeError("the sites render no media URL that answers: is the sandbox seeded?")
        traffic = Traffic(sites, media, threads=threads)
        pollers = {host.alias: HealthPoller(host.health_url) for host in settings.hosts}
        for poller in pollers.values():
            poller.start()
        traffic.start()
        time.sleep(1.0)                    # steady traffic before the cutover starts
        started = time.time()
        say("    invoke cutover --env=sandbox, under traffic")
        try:
            peak_mb = invoke(project_root, "cutover", "--env=sandbox", timeout=timeout).peak_mb
            time.sleep(1.0)                # and a moment after it
            if with_rollback:
                cut_over, before_rollback = (traffic.requests, sum(traffic.failures.values())), time.time()
                say("    invoke rollback --env=sandbox, under the same traffic")
                back_peak_mb = invoke(project_root, "rollback", "--env=sandbox", timeout=timeout).peak_mb
                time.sleep(1.0)
        finally:
            traffic.stop()
            for poller in pollers.values():
                poller.stop()
        events = read_entries(newest_cutover_journal(project_root / "runs", started - 1))
        if not with_rollback:
            return dict(_summary(events, pollers, traffic), peak_memory_mb=peak_mb)
        summary = _summary(events, pollers, traffic, until=before_rollback)
        summary["requests"], summary["failed"] = cut_over
        back = read_entries(newest_cutover_journal(project_root / "runs", before_rollback - 1, "rollback"))
        summary["rollback"] = _summary(back, pollers, traffic, flip=ROLLBACK_FLIP_STEP, storage="disk",
                                       between=ROLLBACK_BETWEEN_FLIP_AND_RELOAD, after=before_rollback)
        summary["rollback"]["requests"] = traffic.requests - cut_over[0]
        summary["rollback"]["failed"] = sum(traffic.failures.values()) - cut_over[1]
        summary["peak_memory_mb"] = peak_mb
        summary["rollback"]["peak_memory_mb"] = back_peak_mb
        return summary
    finally:
        # After a rollback the sites are on disk already; the prefix is left full (emptying a million
        # objects takes SeaweedFS ~10 minutes): the next measurement's reset empties it first.
        if not with_rollback:
            say("    invoke sandbox.reset (back to disk)")
            invoke(project_root, "sandbox.reset", timeout=timeout)


def _summary(events: list[Entry], pollers: dict[str, HealthPoller], traffic: Traffic, flip: str = FLIP_STEP,
             storage: str = "s3", between: tuple[str, ...] = BETWEEN_FLIP_AND_RELOAD, after: float = 0.0,
             until: float | None = None) -> dict:
    def step_time(step: str, result: str) -> float:
        for entry in events:
            if isinstance(entry.event, (StepStarted, StepFinished)) and (entry.event.step, entry.event.result) == \
                    (step, result):
                return entry.time
        raise RuntimeError(f"the run's journal has no '{step}' {result} event")

    flip_started = step_time(flip, "started")
    reload_done = step_time(RELOAD_STEP, "ok")
    healthy = {alias: _healthy(poller, storage, after, until) for alias, poller in pollers.items()}
    if any(moment is None for moment in healthy.values()):
        seen = {alias: Counter((status, storage) for _, status, storage in poller.samples)
                for alias, poller in pollers.items()}
        raise RuntimeError(f"a host was not healthy on {storage} when the run ended; health answers seen: {seen}")
    journal_health = {entry.event.host: entry.event.seconds_to_healthy for entry in events
                      if isinstance(entry.event, Healthy)}
    steps = {entry.event.step: entry.event.seconds for entry in events if isinstance(entry.event, StepFinished)}
    return {
        "flip_to_all_healthy": max(healthy.values()) - flip_started,
        "reload_to_all_healthy": max(healthy.values()) - reload_done,
        "per_host_after_flip": {alias: moment - flip_started for alias, moment in healthy.items()},
        "journal_seconds_to_healthy": journal_health,
        "steps": {name: steps[name] for name in between if name in steps},
        "requests": traffic.requests,
        "failed": sum(traffic.failures.values()),
        "failures": dict(traffic.failures.most_common(5)),
        "traffic_seconds": traffic.seconds,
        "result": next((entry.event.result for entry in events if isinstance(entry.event, End)), "unfinished"),
    }


def _healthy(poller: HealthPoller, storage: str, after: float, until: float | None) -> float | None:
    """When the host turned healthy on ``storage`` for good, among the samples from ``after`` to ``until``."""
    if until is None:
        return poller.healthy_since(storage, after)
    kept = HealthPoller(poller.url, [sample for sample in poller.samples if sample[0] < until])
    return kept.healthy_since(storage, after)
