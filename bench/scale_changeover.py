"""The change-over and the cutover's overhead at the sandbox's own size (100,000 seeded files with --media-files).

    python -m bench.scale_changeover          # resets the sandbox: it empties the bucket prefix media/

``bench.changeover.measure_changeover`` runs a cutover from an empty prefix
under steady traffic and resets after; this adds, from the same cutover's
journal, the whole cutover against its bulk upload (the target: everything but
the bulk upload at most 15 % of it), the delta passes' costs, and writes them
to bench/results-scale.json and a section of bench/RESULTS-passes.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from deploy.config.load import load_settings
from deploy.engine.journal import read_run

from .changeover import measure_changeover, newest_cutover_journal

ROOT = Path(__file__).resolve().parent.parent
UPLOAD_STEP = "upload media"
MARKER = "<!-- scale-changeover -->"


def measure(project_root: Path = ROOT, say=print) -> dict:
    settings = load_settings("sandbox", project_root)
    started = time.time()
    summary = measure_changeover(project_root, settings, say)
    events = read_run(newest_cutover_journal(project_root / "runs", started - 1))
    steps = {event["step"]: event["seconds"] for event in events if event["event"] == "step" and "seconds" in event}
    total = sum(steps.values())
    upload = steps[UPLOAD_STEP]
    counts = [event for event in events if event["event"] == "counts"]
    bulk = next(event for event in counts if event.get("step") == "upload")
    passes = [{key: event[key] for key in ("listed", "copied", "find_seconds", "seconds")}
              for event in counts if event.get("step") == "pass"]
    return {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "files": bulk["files"],
            "bytes": bulk["bytes"], "bulk_upload_seconds": upload, "cutover_seconds": total,
            "overhead": (total - upload) / upload, "steps": steps, "passes": passes, "changeover": summary}


def render(result: dict) -> str:
    change = result["changeover"]
    lines = [MARKER, "", f"## The cutover at {result['files']:,} files (`python -m bench.scale_changeover`)", "",
             f"Measured {result['when']}: `invoke cutover --env=sandbox` from an empty prefix, under steady traffic "
             f"(bench/changeover.py: {change['requests']:,} requests, {change['failed']} failed).", "",
             "| target | measured | verdict |", "| --- | --- | --- |",
             f"| change-over ≤ 5 s at 100,000 files (flip to all hosts healthy) | "
             f"{change['flip_to_all_healthy']:.2f} s | {'met' if change['flip_to_all_healthy'] <= 5 else 'MISSED'} |",
             f"| everything but the bulk upload ≤ 15 % of it | {result['cutover_seconds'] - result['bulk_upload_seconds']:.1f} s"
             f" of {result['bulk_upload_seconds']:.1f} s: {result['overhead']:.0%} | "
             f"{'met' if result['overhead'] <= 0.15 else 'MISSED'} |", "",
             "| step | seconds |", "| --- | --- |"]
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in result["steps"].items()]
    lines += ["", "Delta passes of that cutover (journal `counts`, step `pass`):", "",
              "| listed | copied | finding s | pass s |", "| --- | --- | --- | --- |"]
    lines += [f"| {p['listed']} | {p['copied']} | {p['find_seconds']:.2f} | {p['seconds']:.2f} |"
              for p in result["passes"]]
    lines += ["", "Between the flip and the reload: " + ", ".join(
        f"{name} {seconds:.2f} s" for name, seconds in change["steps"].items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    result = measure()
    (ROOT / "bench" / "results-scale.json").write_text(json.dumps(result, indent=1, default=str))
    path = ROOT / "bench" / "RESULTS-passes.md"
    text = path.read_text() if path.exists() else ""
    text = text.split(MARKER)[0].rstrip() + "\n\n" + render(result)
    path.write_text(text)
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
