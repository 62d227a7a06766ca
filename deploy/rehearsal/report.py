"""A rehearsal's report, from plain data: the journals' events and the traffic's records.

``build_report`` returns what report.json holds; ``render_markdown`` the page for
people.  Nothing here touches the network or the hosts, so all of it is unit-tested.

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
from ..config.redact import redact, url_shown
from ..engine.journal import parse
from ..retry import kinds_said
from .traffic import Record


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


# --- the page for people ---------------------------------------------------------------------

def _count(value) -> str:
    return "-" if value is None else str(value)


def render_markdown(report: dict, picture: str | None) -> str:
    meta, requests, uploads = report["rehearsal"], report["requests"], report["uploads"]
    lines = [f"# Rehearsal {meta['run_id']} on `{meta['env']}`", "",
             f"**{'PASSED' if report['passed'] else 'FAILED'}** — {meta['summary']}", "",
             f"Hosts {', '.join(meta['hosts'])}; {meta['seconds']:.1f} s in all; upload rate "
             f"{meta['options']['upload_rate']}/s; " + (f"fault injected: {meta['fault']}; " if meta["fault"] else "")
             + ("environment left on S3 (--keep)." if meta["options"]["keep"] else "rolled back at the end."), ""]
    if picture:
        lines += [f"![timeline of the steps, request latency and errors]({picture})", ""]
    lines += ["## Checks", "", _table(("check", "result", "detail"),
                                       [(c["name"], "ok" if c["ok"] else "FAILED", c["detail"])
                                        for c in report["checks"]]), ""]
    if report.get("thumbnails"):
        lines += ["## Thumbnails on the first views", "",
                  "After each change-over every host's THUMBNAIL_PAGES were viewed once: thumbnails each library made "
                  "again (rows the views added to its tables) and the objects they wrote to the bucket (PUT; HEADs "
                  "and GETs are not counted).", "",
                  _table(("after", "pages", "thumbnails linked", "failed", "easy_thumbnails made", "sorl-thumbnail made",
                          "bucket writes"),
                         [(v["phase"], v["pages"], v["linked"], len(v["failed"]), _count(v["easy_made"]),
                           _count(v["sorl_made"]), _count(v["bucket_writes"])) for v in report["thumbnails"]]), ""]
    lines += ["## Steps", "", "Each step acts on every host; its time covers all of them. Times in seconds "
              "since the rehearsal started.", ""]
    for phase in report["phases"]:
        lines += [f"### {phase['phase']} ({phase['run_id']}): {phase['result']}", "",
                  f"{phase.get('mode', 'copy')} mode; {phase.get('files_moved', 0)} files copied in all"
                  + (f"; {phase['mirror_failures']} failed writes to the mirror's second storage recorded"
                     if phase.get("mirror_failures") else ""), "",
                  _table(("step", "result", "start", "seconds"),
                         [(s["name"], s["result"], f"{s['start']:.1f}", f"{s['seconds']:.2f}")
                          for s in phase["steps"]]), ""]
        if phase["undone"] or phase["undo_failed"]:
            lines += [f"Failed step: **{phase['failed_step']}**; undone: {', '.join(phase['undone']) or 'nothing'}"
                      + (f"; UNDO FAILED: {', '.join(phase['undo_failed'])}" if phase["undo_failed"] else "")
                      + (f". From the flip ({phase['flip_t']:.1f} s) to the end of the undo every host was back "
                         f"as it was after {phase['undone_seconds']:.1f} s" if phase["undone_seconds"] else ""), ""]
    lines += ["## Change-over window per host", "",
              "From the start of the settings flip to the host confirmed healthy on the new storage by the "
              "health step; 'first answer' is the first /healthz answer in the new mode seen by the traffic.", "",
              _table(("phase", "host", "window s", "healthy after reload s", "first answer s"),
                     [(w["phase"], w["host"], _num(w["seconds"]), _num(w["seconds_to_healthy_after_reload"]),
                       _num(w["observed"].get("seconds_to_first_answer_on_target"))) for w in report["windows"]]), ""]
    lines += ["## Files synced and verified", "",
              _table(("phase", "step", "figures"),
                     [(row["phase"], row["step"], ", ".join(f"{key}={value}" for key, value in row.items()
                                                             if key not in ("phase", "step")))
                      for row in report["sync"]]), ""]
    lines += _store_fault_lines(report["phases"])
    lines += ["## Requests", "", f"{requests['made']} requests, {requests['failed']} failed.", "",
              _table(("kind", "made", "failed", "p50 ms", "p95 ms", "max ms", "failures by reason"),
                     [(kind, k["made"], k["failed"], k["p50_ms"], k["p95_ms"], k["max_ms"],
                       ", ".join(f"{reason}: {count}" for reason, count in k["reasons"].items()) or "-")
                      for kind, k in requests["by_kind"].items()]), ""]
    if "anonymous" in requests:
        lines += [f"Private media (PUBLIC_MEDIA=false): signed media URLs asked for without their signature "
                  f"{requests['anonymous']['tried']} times; anonymous successes: "
                  f"{requests['anonymous']['successes']} (answered 200; any fails the rehearsal).", ""]
    if requests["failed"]:
        lines += ["Failed requests by the step running at the time: " + _counts(requests["failed_during"]) + ".", ""]
    if requests["failed_fetches_of_files_uploaded_during"]:
        lines += ["Failed media fetches of files the traffic had uploaded, by the step running when they were "
                  "uploaded: " + _counts(requests["failed_fetches_of_files_uploaded_during"]) + ".", ""]
    if requests["failure_samples"]:
        lines += ["Samples (a few of each kind and step):", "", _table(
            ("t", "host", "kind", "error", "url", "during", "file uploaded at"),
            [(f"{s['t']:.2f}", s["host"], s["kind"], s["error"], s["url"], s["during"],
              f"{s['uploaded_t']:.2f} ({s['uploaded_during']})" if "uploaded_t" in s else "-")
             for s in requests["failure_samples"]]), ""]
    lines += ["## Uploads", "", f"{uploads['made']} uploads made, {uploads['answered']} answered 201, "
              f"{uploads['checked']} checked afterwards through every host, **{uploads['lost']} lost**.", ""]
    for sample in uploads["lost_samples"]:
        lines.append(f"- `{sample['name']}`: {redact('; '.join(sample['problems']))}")
    baseline = report["baseline"]
    lines += ["", f"Media fetches were checked against {baseline['known']} files fetched before the rehearsal "
              f"(size and SHA-256) and every upload; {baseline['missing_before']} listed files were already "
              "missing before it and were not fetched.", ""]
    return "\n".join(lines)


def _store_fault_lines(phases: list[dict]) -> list[str]:
    """The store faults each phase retried, step by step (a phase without any says so)."""
    rows = [(phase["phase"], step, kinds_said(kinds))
            for phase in phases for step, kinds in phase.get("store_faults", {}).get("by_step", {}).items()]
    lines = ["## Store faults retried", "",
             "Transient faults of the store (500, 502, 503, 504, SlowDown, resets, timeouts) retried by the run "
             "(deploy.retry): per step, by kind. rclone's own retries of a request are not in its output; the "
             "files it failed and that were sent again are.", ""]
    if not rows:
        return lines + ["None: the store answered every request the first time.", ""]
    totals = [f"{phase['phase']} {phase.get('store_faults', {}).get('retried', 0)}" for phase in phases]
    return lines + [_table(("phase", "step", "retried"), rows), "", f"In all: {', '.join(totals)}.", ""]


def _table(headers, rows) -> str:
    cells = [[str(value).replace("|", "\\|").replace("\n", " ") for value in row] for row in rows]
    return "\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                     + ["| " + " | ".join(row) + " |" for row in cells])


def _counts(counter: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items(), key=lambda item: -item[1]))


def _reason(error: str) -> str:
    return error.split(" (")[0]


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _num(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _round(value):
    return None if value is None else round(value, 3)
