"""Copy and mirror side by side: `invoke rehearse` in each mode on the 100,000-file tree, at 30 uploads/s.

    python -m bench.mirror_rehearsals [--rate 30] [--modes copy,mirror]     # `invoke bench --mirror`

Both rehearsals run in one run, on the same tree, each from an empty bucket prefix (``invoke
sandbox.reset``), so each cutover uploads the whole tree under traffic, as a first cutover would.
What is compared: the verdict, failed requests and lost uploads, the change-over windows (flip to
every host healthy), how many files each phase copied (a mirror rollback should copy none), and the
minutes.  The figures go to bench/results-mirror.json, the table to RESULTS.md ("Copy and mirror").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Callable

from .scale import ensure_tree
from .scale_rehearsals import figures, newest_report
from .changeover import invoke

ROOT = Path(__file__).resolve().parent.parent
FILES = 100_000
HEADLINE = "## Copy and mirror"


def rehearse(project_root: Path, mode: str, rate: float, say: Callable[[str], None], timeout: float = 3600) -> dict:
    say("    invoke sandbox.reset (sites on disk, bucket prefix media/ emptied)")
    invoke(project_root, "sandbox.reset", timeout=timeout)
    say(f"    invoke rehearse --env=sandbox --upload-rate={rate:g} --changeover={mode}")
    began, clock, error = time.time(), time.monotonic(), None
    try:
        invoke(project_root, "rehearse", "--env=sandbox", f"--upload-rate={rate:g}", f"--changeover={mode}",
               timeout=timeout)
    except RuntimeError as failed:      # a FAILED rehearsal exits non-zero: its report still says why
        error = str(failed)[-600:]
    minutes = (time.monotonic() - clock) / 60
    report = newest_report(project_root / "runs", began - 1)
    if report is None:
        return {"mode": mode, "rate": rate, "passed": False, "minutes": round(minutes, 1),
                "error": error or "no report written"}
    phases = {phase["phase"]: phase for phase in report["phases"]}
    upload = report["requests"]["by_kind"].get("upload", {})
    return dict(figures(report), mode=mode, rate=rate, minutes=round(minutes, 1),
                upload_ms={"p50": upload.get("p50_ms"), "p95": upload.get("p95_ms"), "max": upload.get("max_ms")},
                modes={name: phase.get("mode") for name, phase in phases.items()},
                copied={name: phase.get("files_moved") for name, phase in phases.items()},
                mirror_failures={name: phase.get("mirror_failures", 0) for name, phase in phases.items()},
                error=None if report["passed"] else error)


def render(result: dict) -> list[str]:
    runs = result["rehearsals"]
    lines = [HEADLINE, "",
             f"From one run of `{result['command']}` ({result['minutes']:.0f} minutes, ended {result['ended']}): "
             f"`invoke rehearse` on the sandbox site's tree of {result['files']:,} files at {runs[0]['rate']:g} "
             "uploads/s, once a mode, each from an empty prefix (its cutover uploads the whole tree under "
             "traffic), then its rollback. Windows: flip to every host healthy, the slowest host.", "",
             "| CHANGEOVER | verdict | requests (failed) | uploads (lost) | upload p50 / p95 | cutover window | "
             "rollback window | files the cutover copied | files the rollback copied | minutes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for one in runs:
        windows, copied = one.get("windows", {}), one.get("copied", {})
        lines.append(f"| {one['mode']} | {'PASSED' if one['passed'] else 'FAILED'} | "
                     f"{one.get('requests', 0):,} ({one.get('failed', '?')}) | "
                     f"{one.get('uploads', 0):,} ({one.get('lost', '?')}) | "
                     f"{(one.get('upload_ms') or {}).get('p50')} / {(one.get('upload_ms') or {}).get('p95')} ms | "
                     f"{windows.get('cutover', 0):.2f} s | "
                     f"{windows.get('rollback', 0):.2f} s | {copied.get('cutover', 0):,} | "
                     f"{copied.get('rollback', 0):,} | {one['minutes']:.1f} |")
    by_mode = {one["mode"]: one for one in runs}
    if {"copy", "mirror"} <= set(by_mode) and all(one.get("copied") for one in by_mode.values()):
        copy, mirror = by_mode["copy"], by_mode["mirror"]
        latency = [(one.get("upload_ms") or {}).get("p50") for one in (copy, mirror)]
        lines += ["", f"The mirror rollback copied {mirror['copied'].get('rollback', 0):,} files where the copy "
                  f"rollback copied {copy['copied'].get('rollback', 0):,} (everything the sites stored in the bucket "
                  f"while they served from it). The price is the uploads': each is written twice while the mirror "
                  f"is on" + (f", median {latency[1]} ms against {latency[0]} ms ({latency[1] / latency[0]:.1f}x); "
                              "the traffic's uploaders wait for each answer, so they made fewer uploads"
                              if all(latency) else "") + ". The whole mirror rehearsal took "
                  f"{mirror['minutes'] / copy['minutes']:.2f}x the copy one's minutes."]
    for one in runs:
        for problem in one.get("failed_checks") or ([one["error"]] if one.get("error") else []):
            lines.append(f"- {one['mode']}: {problem}")
    return lines + [""]


def run(project_root: Path = ROOT, modes: tuple[str, ...] = ("copy", "mirror"), rate: float = 30.0,
        say: Callable[[str], None] = print, command: str = "python -m bench.mirror_rehearsals") -> Path:
    started = time.monotonic()
    say(f"==> the sandbox site's tree at {FILES:,} files")
    ensure_tree(project_root, FILES, False, say)
    rehearsals = []
    for mode in modes:
        say(f"==> invoke rehearse, CHANGEOVER={mode}, {rate:g} uploads/s")
        rehearsals.append(rehearse(project_root, mode, rate, say))
        say(f"    {json.dumps(rehearsals[-1])}")
    result = {"command": command, "files": FILES, "rehearsals": rehearsals,
              "minutes": round((time.monotonic() - started) / 60, 1),
              "ended": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (project_root / "bench" / "results-mirror.json").write_text(json.dumps(result, indent=1) + "\n")
    path = project_root / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Results\n"
    kept = re.split(rf"^{HEADLINE}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    path.write_text("".join(kept).rstrip("\n") + "\n\n" + "\n".join(render(result)))
    say("\n".join(render(result)))
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mirror_rehearsals", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=30.0, help="uploads per second (default 30)")
    parser.add_argument("--modes", default="copy,mirror", help="the CHANGEOVER values, in order (default copy,mirror)")
    args = parser.parse_args(argv)
    modes = tuple(mode.strip() for mode in args.modes.split(",") if mode.strip())
    print(f"results: {run(ROOT, modes, args.rate)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
