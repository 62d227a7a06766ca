"""`invoke rehearse` on the sandbox site's big tree, at 5 and at 30 uploads/s: the scale issue's third target.

    python -m bench.scale_rehearsals [--rates 5,30]     # (bench.scale runs it at 100,000 files)

Each rehearsal starts from an empty bucket prefix (``invoke sandbox.reset``), so its cutover uploads
the whole tree under traffic, as a first cutover would; its verdict, its figures and how long it took
go to bench/results-scale.json under ``rehearsals`` and into the scale section of RESULTS-passes.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable

from .changeover import invoke

ROOT = Path(__file__).resolve().parent.parent
RATES = (5.0, 30.0)


def rehearse_at(project_root: Path, rate: float, say: Callable[[str], None], timeout: float = 3600) -> dict:
    """One rehearsal at ``rate`` uploads/s from an empty prefix: its report's figures, and its minutes."""
    say("    invoke sandbox.reset (sites on disk, bucket prefix media/ emptied)")
    invoke(project_root, "sandbox.reset", timeout=timeout)
    say(f"    invoke rehearse --env=sandbox --upload-rate={rate:g}")
    began, clock = time.time(), time.monotonic()
    error = None
    try:
        invoke(project_root, "rehearse", "--env=sandbox", f"--upload-rate={rate:g}", timeout=timeout)
    except RuntimeError as failed:      # a FAILED rehearsal exits 1: its report still says why
        error = str(failed)[-600:]
    minutes = (time.monotonic() - clock) / 60
    report = newest_report(project_root / "runs", began - 1)
    if report is None:
        return {"rate": rate, "passed": False, "minutes": round(minutes, 1), "error": error or "no report written"}
    return dict(figures(report), rate=rate, minutes=round(minutes, 1), error=None if report["passed"] else error)


def newest_report(runs: Path, after: float) -> dict | None:
    reports = [path for path in runs.glob("rehearsal-*/report.json") if path.stat().st_mtime >= after]
    return json.loads(max(reports, key=lambda path: path.stat().st_mtime).read_text()) if reports else None


def figures(report: dict) -> dict:
    """What the RESULTS table shows of one rehearsal's report.json."""
    windows = {}
    for window in report.get("windows", []):
        windows[window["phase"]] = max(windows.get(window["phase"], 0.0), window["seconds"])
    return {"passed": report["passed"], "requests": report["requests"]["made"],
            "failed": report["requests"]["failed"], "uploads": report["uploads"]["made"],
            "lost": report["uploads"]["lost"], "windows": windows,
            "failed_checks": [f"{check['name']}: {check['detail']}" for check in report["checks"] if not check["ok"]],
            "run_id": report["rehearsal"]["run_id"], "seconds": report["rehearsal"]["seconds"]}


def render(rehearsals: list[dict], files: int) -> list[str]:
    lines = [f"### `invoke rehearse` at {files:,} files", "",
             "Each from an empty prefix (the whole tree uploaded under traffic), then the rollback; "
             "windows are flip to every host healthy, the slowest host.", "",
             "| uploads/s | verdict | requests (failed) | uploads (lost) | cutover window | rollback window | "
             "minutes |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for one in rehearsals:
        windows = one.get("windows", {})
        lines.append(f"| {one['rate']:g} | {'PASSED' if one['passed'] else 'FAILED'} | "
                     f"{one.get('requests', 0):,} ({one.get('failed', '?')}) | "
                     f"{one.get('uploads', 0):,} ({one.get('lost', '?')}) | "
                     f"{windows.get('cutover', 0):.2f} s | {windows.get('rollback', 0):.2f} s | {one['minutes']:.1f} |")
    for one in rehearsals:
        for problem in one.get("failed_checks") or ([one["error"]] if one.get("error") else []):
            lines.append(f"- at {one['rate']:g}/s: {problem}")
    return lines + [""]


def main(argv: list[str]) -> int:
    rates = [float(rate) for rate in (argv[argv.index("--rates") + 1].split(",") if "--rates" in argv else RATES)]
    results = [rehearse_at(ROOT, rate, print) for rate in rates]
    print(json.dumps(results, indent=1))
    return 0 if all(one["passed"] for one in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
