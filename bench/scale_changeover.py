"""The change-over, both ways, and the cutover's overhead at the sandbox's own size.

    python -m bench.scale_changeover          # resets the sandbox: it empties the bucket prefix media/

On a sandbox brought up with ``invoke sandbox.up --media-files=100000`` (or
``--media-files=1000000 --small-files`` for the million: 1-4 KB files, ~4 GB).
``bench.changeover.measure_changeover`` runs a cutover from an empty prefix
under steady traffic, then the rollback under the same traffic, and resets
after; this adds, from their journals, the whole cutover against its bulk
upload (the target: everything but the bulk upload at most 15 % of it) and the
delta passes' costs.  Results go to bench/results-scale.json under the tree's
size ("100k", "1m": a run at one size keeps the other's) and to the section of
bench/RESULTS-passes.md after its marker.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from deploy.config.load import load_settings
from deploy.engine.counts import PassCounts, UploadCounts
from deploy.engine.events import Counts, StepFinished
from deploy.engine.journal import Entry, read_entries

from . import scale_rehearsals
from .changeover import measure_changeover, newest_cutover_journal

ROOT = Path(__file__).resolve().parent.parent
UPLOAD_STEP = "upload media"
MARKER = "<!-- scale-changeover -->"
OVERHEAD_TARGET = 0.15


def size_label(files: int) -> str:
    return "1m" if files >= 500_000 else "100k"


def window_target(files: int) -> float:
    """The issue's bound on flip to every host healthy: 5 s at 100,000 files, 10 s at 1,000,000."""
    return 10.0 if files >= 500_000 else 5.0


def measure(project_root: Path = ROOT, say=print, timeout: float = 5400) -> dict:
    settings = load_settings("sandbox", project_root)
    started = time.time()
    summary = measure_changeover(project_root, settings, say, with_rollback=True, timeout=timeout)
    runs = project_root / "runs"
    cutover = _run_facts(read_entries(newest_cutover_journal(runs, started - 1)))
    rollback = _run_facts(read_entries(newest_cutover_journal(runs, started - 1, "rollback")))
    upload = cutover["steps"][UPLOAD_STEP]
    return {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "files": cutover["bulk"].files,
            "bytes": cutover["bulk"].bytes, "bulk_upload_seconds": upload,
            "cutover_seconds": cutover["seconds"], "overhead": (cutover["seconds"] - upload) / upload,
            "steps": cutover["steps"], "passes": cutover["passes"],
            "rollback_seconds": rollback["seconds"], "rollback_steps": rollback["steps"],
            "rollback_passes": rollback["passes"], "changeover": summary,
            "step_peaks": cutover["peaks"], "rollback_step_peaks": rollback["peaks"]}


def _run_facts(entries: list[Entry]) -> dict:
    finished = [entry.event for entry in entries if isinstance(entry.event, StepFinished)]
    steps = {event.step: event.seconds for event in finished}
    peaks = {event.step: event.peak_mb for event in finished if event.peak_mb is not None}
    counts = [entry.event for entry in entries if isinstance(entry.event, Counts)]
    passes = [{"listed": event.listed, "copied": event.copied, "find_seconds": event.find_seconds,
               "seconds": event.seconds} for event in counts if isinstance(event, PassCounts)]
    bulk = next((event for event in counts if isinstance(event, UploadCounts)), None)
    return {"steps": steps, "seconds": sum(steps.values()), "passes": passes, "bulk": bulk, "peaks": peaks}


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def render_one(result: dict) -> list[str]:
    change, back = result["changeover"], result["changeover"]["rollback"]
    bound = window_target(result["files"])
    lines = [f"## {result['files']:,} files: cutover and rollback under traffic", "",
             f"Measured {result['when']} by `python -m bench.scale_changeover`: `invoke cutover --env=sandbox` "
             f"from an empty prefix, then `invoke rollback --env=sandbox`, under steady traffic "
             f"(bench/changeover.py: cutover {change['requests']:,} requests, {change['failed']} failed; "
             f"rollback {back['requests']:,} requests, {back['failed']} failed).", "",
             "| target | measured | verdict |", "| --- | --- | --- |",
             f"| cutover change-over ≤ {bound:.0f} s (flip to all hosts healthy on S3) | "
             f"{change['flip_to_all_healthy']:.2f} s | {_verdict(change['flip_to_all_healthy'] <= bound)} |",
             f"| rollback change-over ≤ {bound:.0f} s (flip to all hosts healthy on disk) | "
             f"{back['flip_to_all_healthy']:.2f} s | {_verdict(back['flip_to_all_healthy'] <= bound)} |",
             f"| everything but the bulk upload ≤ 15 % of it | "
             f"{result['cutover_seconds'] - result['bulk_upload_seconds']:.1f} s of "
             f"{result['bulk_upload_seconds']:.1f} s: {result['overhead']:.0%} | "
             f"{_verdict(result['overhead'] <= OVERHEAD_TARGET)} |",
             f"| failed requests: 0 | {change['failed'] + back['failed']} | "
             f"{_verdict(change['failed'] + back['failed'] == 0)} |",
             f"| peak memory of the operator's process ≤ 200 MB (each `invoke`'s own peak RSS, from wait4: "
             f"cutover; rollback) | {change.get('peak_memory_mb', 0):.0f} MB; "
             f"{back.get('peak_memory_mb', 0):.0f} MB | "
             f"{_verdict(max(change.get('peak_memory_mb', 0), back.get('peak_memory_mb', 0)) <= 200)} |", "",
             "| cutover step | seconds | | rollback step | seconds |", "| --- | --- | --- | --- | --- |"]
    ours, theirs = list(result["steps"].items()), list(result["rollback_steps"].items())
    for number in range(max(len(ours), len(theirs))):
        left = ours[number] if number < len(ours) else ("", None)
        right = theirs[number] if number < len(theirs) else ("", None)
        lines.append(f"| {left[0]} | {'' if left[1] is None else f'{left[1]:.2f}'} | | {right[0]} | "
                     f"{'' if right[1] is None else f'{right[1]:.2f}'} |")
    lines += ["", f"Total: cutover {result['cutover_seconds']:.1f} s, rollback {result['rollback_seconds']:.1f} s.",
              *_peak_lines(result),
              "", "Delta passes (journal `counts`, step `pass`): listed / copied, finding s, pass s:", ""]
    for name, passes in (("cutover", result["passes"]), ("rollback", result["rollback_passes"])):
        lines.append(f"- {name}: " + "; ".join(f"{p['listed']}/{p['copied']}, {p['find_seconds']:.2f}, "
                                                f"{p['seconds']:.2f}" for p in passes))
    for name, summary in (("cutover", change), ("rollback", back)):
        lines.append(f"- between the flip and the reload ({name}): " + ", ".join(
            f"{step} {seconds:.2f} s" for step, seconds in summary["steps"].items()) + "; reload to all healthy "
            f"{summary['reload_to_all_healthy']:.2f} s")
    if result.get("rehearsals"):
        lines += ["", *scale_rehearsals.render(result["rehearsals"], result["files"])]
    return lines + [""]


def _peak_lines(result: dict) -> list[str]:
    """The steps that needed the most memory (the journal's ``peak_mb``: VmHWM, reset at each step)."""
    lines = []
    for name, peaks in (("cutover", result.get("step_peaks")), ("rollback", result.get("rollback_step_peaks"))):
        if peaks:
            top = sorted(peaks.items(), key=lambda item: -item[1])[:3]
            lines.append(f"Peak memory of the {name}'s steps (VmHWM from each step's start): "
                         + ", ".join(f"{step} {mb:.0f} MB" for step, mb in top) + ".")
    return ["", *lines] if lines else []


def _rehearsal_line(one: dict) -> str:
    windows = one.get("windows", {})
    return (f"- {one['rate']:g} uploads/s: **{'PASSED' if one['passed'] else 'FAILED'}**, "
            f"{one.get('requests', 0):,} requests, {one.get('failed', '?')} failed; "
            f"{one.get('uploads', 0):,} uploads, {one.get('lost', '?')} lost; windows: cutover "
            f"{windows.get('cutover', 0):.2f} s, rollback {windows.get('rollback', 0):.2f} s; "
            f"{one['minutes']:.1f} minutes")


def render(results: dict) -> str:
    lines = [MARKER, ""]
    for label in ("100k", "1m"):
        if label in results:
            lines += render_one(results[label])
    return "\n".join(lines)


def save(project_root: Path, result: dict) -> None:
    """The result into bench/results-scale.json under its size, and the section of RESULTS-passes.md."""
    path = project_root / "bench" / "results-scale.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if "files" in results:  # the one-size file of before
        results = {}
    results[size_label(result["files"])] = result
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    report = project_root / "bench" / "RESULTS-passes.md"
    text = report.read_text() if report.exists() else ""
    report.write_text(text.split(MARKER)[0].rstrip() + "\n\n" + render(results))


HEADLINE = "## Change-over at scale"


def finish(project_root: Path, command: str, minutes: float, passes: bool = True) -> Path:
    """bench/RESULTS.md's headline of the change-over at scale, from results-scale.json, with the run's
    command and length; the rest of RESULTS.md is left as it is."""
    path = project_root / "bench" / "RESULTS.md"
    results = json.loads((project_root / "bench" / "results-scale.json").read_text())
    lines = [HEADLINE, "",
             f"From one run of `{command}` ({minutes:.0f} minutes, ended "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             + ("; it also measured the passes of the next section" if passes else
                "; the passes were not measured in it: their section keeps its own run")
             + "): `invoke cutover` from an empty prefix, then `invoke rollback`, under steady traffic on the "
             "sandbox site's own tree. Details: [RESULTS-passes.md](RESULTS-passes.md).", "",
             "| files | cutover: flip to all healthy | rollback: flip to all healthy | bound | everything but the "
             "bulk upload | failed requests | operator's peak memory |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for label in ("100k", "1m"):
        if label not in results:
            continue
        result = results[label]
        change, back = result["changeover"], result["changeover"]["rollback"]
        lines.append(f"| {result['files']:,} | {change['flip_to_all_healthy']:.2f} s | "
                     f"{back['flip_to_all_healthy']:.2f} s | ≤ {window_target(result['files']):.0f} s | "
                     f"{result['cutover_seconds'] - result['bulk_upload_seconds']:.0f} s of "
                     f"{result['bulk_upload_seconds']:.0f} s: {result['overhead']:.0%} (target ≤ 15 %) | "
                     f"{change['failed'] + back['failed']} of {change['requests'] + back['requests']:,} | "
                     f"cutover {change.get('peak_memory_mb', 0):.0f} MB, "
                     f"rollback {back.get('peak_memory_mb', 0):.0f} MB |")
    for label in ("100k", "1m"):
        rehearsed = results.get(label, {}).get("rehearsals") or []
        if rehearsed:
            lines += ["", f"`invoke rehearse` at {results[label]['files']:,} files, each from an empty prefix, "
                      "in the same run:", ""]
        lines += [_rehearsal_line(one) for one in rehearsed]
    text = path.read_text() if path.exists() else "# Results\n"
    kept = re.split(rf"^{HEADLINE}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    path.write_text("".join(kept).rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")
    return path


def main(argv: list[str]) -> int:
    result = measure()
    result["command"] = "python -m bench.scale_changeover"
    save(ROOT, result)
    print("\n".join(render_one(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
