"""A rehearsal's report, from plain data: the journals' events and the traffic's records.

``build_report`` returns what report.json holds: each phase from its journal (steps, undo, sync counts,
store faults, the change-over window per host), what the traffic saw of the switch, the requests counted
by kind and by the step running at the time.  The page for people made from it is
``deploy.rehearsal.report_markdown``.  Nothing here touches the network or the hosts, so all of it is
unit-tested.

Times in the report are seconds since the rehearsal started (``t``), the absolute
start is ``rehearsal.started`` (Unix time).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from ..engine.counts import (DownloadCounts, FinalVerifyCounts, MirrorRecordCounts, ModeCounts, PassCounts,
                             RetryCounts, ReverseVerifyCounts, UploadCounts)
from ..engine.events import Counts, End, Finished, Healthy, Started
from ..config.redact import url_shown
from ..engine.journal import parse
from .fetching import Record


@dataclass(frozen=True)
class PhaseNames:
    """Which journal steps mark the switch of one phase (taken from the step lists themselves)."""

    phase: str            # cutover | rollback
    flip: str             # the step that writes the settings
    target: str           # the storage the hosts serve from after the phase: s3 | disk


def phase_from_journal(names: PhaseNames, lines: list[dict], origin: float) -> dict:
    """Steps, undo, sync counts, per-host health and the change-over window of one journaled run (its lines as
    ``deploy.engine.journal.read_run`` gives them)."""
    entries = [parse(line) for line in lines]
    steps, counts, healthy, started = [], [], {}, {}
    for entry in entries:
        event = entry.event
        if isinstance(event, Started):
            started[(event.EVENT, event.step)] = entry.time
        elif isinstance(event, Finished):
            end, seconds = entry.time - origin, event.seconds if event.seconds is not None else 0.0
            steps.append({"name": ("undo " if event.EVENT == "undo" else "") + event.step, "kind": event.EVENT,
                          "result": event.result, "seconds": seconds,
                          "start": round(end - seconds, 3), "end": round(end, 3),
                          "summary": event.summary if event.summary is not None else ""})
        elif isinstance(event, Counts):
            counts.append(event)
        elif isinstance(event, Healthy):
            healthy[event.host] = {"seconds_to_healthy": event.seconds_to_healthy,
                                   "healthy_at": event.healthy_at if event.healthy_at is not None else entry.time}
    flip_at = started.get(("step", names.flip))
    hosts = {}
    for alias, facts in healthy.items():
        hosts[alias] = {"seconds_to_healthy": facts["seconds_to_healthy"],
                        "healthy_t": round(facts["healthy_at"] - origin, 3),
                        "window_seconds": round(facts["healthy_at"] - flip_at, 3) if flip_at else None}
    undo_ends = [step["end"] for step in steps if step["kind"] == "undo"]
    back_t = max(undo_ends) if undo_ends and flip_at else None  # undone: every host back as it was
    end = next((entry.event for entry in reversed(entries) if isinstance(entry.event, End)), None)
    return {"phase": names.phase, "run_id": entries[0].run_id if entries else None, "target": names.target,
            "mode": next((count.mode for count in counts if isinstance(count, ModeCounts)), "copy"),
            "files_moved": files_moved(counts),
            "mirror_failures": sum(count.failures or 0 for count in counts if isinstance(count, MirrorRecordCounts)),
            "store_faults": store_faults(counts),
            "result": end.result if end else "unfinished",
            "start": round(entries[0].time - origin, 3) if entries else None,
            "end": round(entries[-1].time - origin, 3) if entries else None,
            "flip_t": round(flip_at - origin, 3) if flip_at else None,
            "undone_back_t": back_t,
            "undone_seconds": round(back_t - (flip_at - origin), 3) if back_t is not None else None,
            "steps": steps, "counts": [count.fields() for count in counts], "hosts": hosts,
            "failed_step": next((step["name"] for step in steps if step["result"] in ("failed", "crashed")), None),
            "undone": [step["name"] for step in steps if step["kind"] == "undo" and step["result"] == "undone"],
            "undo_failed": [step["name"] for step in steps if step["result"] == "undo failed"]}


def store_faults(counts: list[Counts]) -> dict:
    """The store faults a run retried (deploy.retry): by step, each by kind, and the total by kind."""
    by_step: dict[str, dict[str, int]] = {}
    total: Counter[str] = Counter()
    for count in counts:
        if isinstance(count, RetryCounts):
            mine = by_step.setdefault(count.step, {})
            for kind, number in (count.retries or {}).items():
                mine[kind] = mine.get(kind, 0) + number
                total[kind] += number
    return {"by_step": by_step, "total": dict(total), "retried": sum(total.values())}


def files_moved(counts: list[Counts]) -> int:
    """How many files a run copied, either way: the first copy, every pass, the final verify's repairs."""
    return sum(_copied(count) or 0 for count in counts)


def _copied(count: Counts) -> int | None:
    """How many files the step counted copied; None for a step that copies nothing."""
    if isinstance(count, (UploadCounts, DownloadCounts)):
        return count.transferred
    if isinstance(count, (PassCounts, FinalVerifyCounts, ReverseVerifyCounts)):
        return count.copied
    return None


def observed_switch(records: list[Record], host: str, flip_t: float, target: str, origin: float,
                    until_t: float | None = None) -> dict:
    """What the traffic's /healthz reads of one host saw from the flip to ``until_t`` (the phase's end):
    the first answer in the new mode, and the last in the old one (old workers still draining)."""
    after = sorted((record for record in records if record.host == host and record.kind == "health"
                    and record.status == 200 and flip_t <= record.time - origin <= (until_t or float("inf"))),
                   key=lambda r: r.time)
    first_new = next((r.time + r.seconds - origin for r in after if r.storage == target), None)
    last_old = max((r.time + r.seconds - origin for r in after if r.storage != target), default=None)
    return {"first_on_target_t": _round(first_new), "last_on_old_t": _round(last_old),
            "seconds_to_first_answer_on_target": _round(first_new - flip_t if first_new is not None else None)}


def step_at(t: float, phases: list[dict]) -> str:
    """The step (or undo) that was running at time t, or the gap between phases."""
    for phase in phases:
        for step in phase["steps"]:
            if step["start"] <= t <= step["end"]:
                return f"{phase['phase']}: {step['name']}"
    return "between steps"


def request_summary(records: list[Record], phases: list[dict], origin: float,
                    uploaded: dict[str, float] | None = None) -> dict:
    """Counts and latency per kind, failures by reason and by step, and samples of the failures.

    ``uploaded`` maps the names of the files the traffic uploaded to when (Unix time): a
    failed fetch of one of them says when and during which step it was uploaded.
    """
    uploaded = uploaded or {}
    by_kind = {}
    for kind in sorted({record.kind for record in records}):
        mine = [record for record in records if record.kind == kind]
        latencies = sorted(record.seconds for record in mine)
        failures = [record for record in mine if record.error]
        by_kind[kind] = {"made": len(mine), "failed": len(failures),
                         "p50_ms": _ms(statistics.median(latencies)), "p95_ms": _ms(_percentile(latencies, 0.95)),
                         "max_ms": _ms(latencies[-1]),
                         "reasons": dict(Counter(_reason(record.error) for record in failures))}
    failed = sorted((record for record in records if record.error), key=lambda r: r.time)
    samples, per_group, during, uploaded_during = [], Counter(), Counter(), Counter()
    for record in failed:
        sample = {"t": round(record.time - origin, 3), "host": record.host, "kind": record.kind,
                  "status": record.status, "error": record.error, "url": url_shown(record.url),
                  "storage": record.storage,
                  "during": step_at(record.time - origin, phases)}
        if record.name in uploaded:
            sample["uploaded_t"] = round(uploaded[record.name] - origin, 3)
            sample["uploaded_during"] = step_at(uploaded[record.name] - origin, phases)
            uploaded_during[sample["uploaded_during"]] += 1
        during[sample["during"]] += 1
        group = (record.kind, sample["during"])
        per_group[group] += 1
        if per_group[group] <= 5:  # a few of each kind and step, not 25 of one burst
            samples.append(sample)
    return {"made": len(records), "failed": len(failed), "by_kind": by_kind, "failed_during": dict(during),
            "failed_fetches_of_files_uploaded_during": dict(uploaded_during), "failure_samples": samples}


def anonymous(records: list[Record]) -> dict:
    """Private media: how often the traffic asked for a signed media URL without its query ("unsigned"
    records), and how often that was answered 200 (an anonymous success: the objects are public)."""
    tried = [record for record in records if record.kind == "unsigned"]
    return {"tried": len(tried), "successes": sum(1 for record in tried if record.status == 200)}


def split_by_fault(records: list[Record], phase: dict, uploaded: dict[str, float],
                   origin: float) -> tuple[list[Record], list[Record]]:
    """The failed requests of a phase undone after a failing reload: (the fault's doing, the rest).

    From the flip until the undo is over, the hosts are split: some serve from S3,
    some from disk, and a file uploaded then is in one storage only until the undo
    carries it across.  A fetch of such a file through the other storage's URL gets
    a 404 (403 from a bucket); those fetches, and only those, are the fault's doing.
    """
    begin, end = phase.get("flip_t"), phase.get("undone_back_t")
    explained, rest = [], []
    for record in (record for record in records if record.error):
        uploaded_t = uploaded[record.name] - origin if record.name in uploaded else None
        split = begin is not None and end is not None and uploaded_t is not None \
            and begin <= uploaded_t <= end and begin <= record.time - origin <= end
        (explained if split and record.kind == "media" and record.status in (403, 404) else rest).append(record)
    return explained, rest


def build_report(meta: dict, phases: list[dict], records: list[Record], uploads: dict, baseline: dict,
                 checks: list[dict], origin: float, uploaded: dict[str, float] | None = None) -> dict:
    windows = []
    for phase in phases:
        for alias, host in phase["hosts"].items():
            seen = observed_switch(records, alias, phase["flip_t"], phase["target"], origin, phase["end"]) \
                if phase["flip_t"] is not None else {}
            windows.append({"phase": phase["phase"], "host": alias, "from_t": phase["flip_t"],
                            "to_t": host["healthy_t"], "seconds": host["window_seconds"],
                            "seconds_to_healthy_after_reload": host["seconds_to_healthy"], "observed": seen})
    passed = all(check["ok"] for check in checks)
    requests = request_summary(records, phases, origin, uploaded)
    if meta.get("public_media") is False:   # private media: the unsigned forms tried, and their successes
        requests["anonymous"] = anonymous(records)
    return {"rehearsal": meta, "passed": passed, "checks": checks, "phases": phases, "windows": windows,
            "sync": _sync(phases), "requests": requests, "uploads": uploads, "baseline": baseline}


def _sync(phases: list[dict]) -> list[dict]:
    """Files and bytes moved and verified, one row per counts event of the journals."""
    rows = []
    for phase in phases:
        for counts in phase["counts"]:
            if "retries" not in counts:   # the store faults a step retried have a section of their own
                rows.append({"phase": phase["phase"], **counts})
    return rows


def _reason(error: str) -> str:
    return error.split(" (")[0]


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _round(value):
    return None if value is None else round(value, 3)
