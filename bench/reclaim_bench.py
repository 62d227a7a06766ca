"""Reclaim at 100,000 files against a plain `md5sum` read of the same tree, in one run.

    python -m bench.reclaim_bench [--runs 2]          # `invoke bench --reclaim`

It takes the sandbox for about 20 minutes: the site's tree is (re)seeded to 100,000 files of the usual
sizes (6.5 GB) unless it is that already, the sandbox reset (bucket prefix emptied), `invoke cutover`
uploads the tree.  Then, after one untimed md5sum (the page cache warm for both), alternately, ``--runs`` times each: `invoke reclaim --env=sandbox` (the proof:
a snapshot, rclone's check of every file's size and MD5, the listing; a report, nothing removed) and
`md5sum` of every file under MEDIA_ROOT on the media host over SSH (the peer: the least any proof by
MD5 must read).  Then once `invoke reclaim --delete-local` (the proof and the removal) and `fab
rollback` (the way back after a reclaim: every file downloaded), timed, and the disk checked whole
again.  Each invoke's own peak memory (wait4).  Both reads are warm: the tree fits in the page cache,
and the runs alternate.  Writes bench/results-reclaim.json and RESULTS.md's "Reclaim" section.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from deploy.config.load import load_settings

from .changeover import invoke
from .scale import ensure_tree

ROOT = Path(__file__).resolve().parent.parent
FILES = 100_000
HEADLINE = "## Reclaim"
TARGET_RATIO, TARGET_PEAK_MB = 1.5, 200


def md5sum_read(project_root: Path, alias: str, media_root: str) -> float:
    """Seconds for `md5sum` of every regular file under MEDIA_ROOT, on the host, over SSH."""
    ssh_config = project_root / ".sandbox" / "ssh_config"
    command = f"cd {media_root} && find . -type f -print0 | xargs -0 md5sum > /dev/null"
    began = time.monotonic()
    subprocess.run(["ssh", "-F", str(ssh_config), alias, command], check=True, capture_output=True, timeout=3600)
    return time.monotonic() - began


def timed_invoke(project_root: Path, *args: str) -> tuple[float, float, str]:
    began = time.monotonic()
    result = invoke(project_root, *args, timeout=7200)
    return time.monotonic() - began, result.peak_mb, result.stdout


def proof_step_seconds(project_root: Path) -> float:
    """The newest reclaim journal's reading of the tree: the preflight's snapshot (size, mtime and inode of every
    file, taken before the hashing) and the "prove each file is in the bucket" step, without the rest of the
    preflight (the sites' checks)."""
    newest = max((project_root / "runs").glob("*-sandbox-reclaim.jsonl"), key=lambda path: path.name)
    seconds = {}
    for line in newest.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "step" and "seconds" in event:
            seconds[event.get("step", "")] = float(event["seconds"])
    proof = [value for name, value in seconds.items() if name.startswith("prove each")]
    if not proof:
        raise RuntimeError(f"{newest}: no proof step recorded")
    return proof[0] + sum(value for name, value in seconds.items() if name.endswith("and snapshot"))


def _count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1).replace(",", "")) if found else -1


def run(project_root: Path = ROOT, runs: int = 3, say: Callable[[str], None] = print,
        command: str = "invoke bench --reclaim") -> Path:
    started = time.monotonic()
    settings = load_settings("sandbox", project_root)
    ensure_tree(project_root, FILES, False, say)
    say("    invoke sandbox.reset, then invoke cutover (the bulk upload)")
    invoke(project_root, "sandbox.reset", timeout=3600)
    invoke(project_root, "cutover", "--env=sandbox", timeout=7200)
    md5sum_read(project_root, settings.media_host, settings.media_root)   # untimed: the page cache warm for both
    proofs, steps, reads, peaks, proven = [], [], [], [], -1
    for number in range(runs):
        # The seeded articles' old URLs are accepted: the proof is what is measured.
        seconds, peak, stdout = timed_invoke(project_root, "reclaim", "--env=sandbox", "--accept-content-urls")
        proofs.append(seconds)
        steps.append(proof_step_seconds(project_root))
        peaks.append(peak)
        proven = _count(r"proven in the bucket \(same size and MD5\): ([\d,]+) files", stdout)
        reads.append(md5sum_read(project_root, settings.media_host, settings.media_root))
        say(f"    run {number + 1}: invoke reclaim (report) {seconds:.1f} s (its proof {steps[-1]:.1f} s), "
            f"peak {peak:.0f} MB, {proven:,} proven; "
            f"md5sum {reads[-1]:.1f} s")
    removal, removal_peak, stdout = timed_invoke(project_root, "reclaim", "--env=sandbox", "--delete-local",
                                                 "--accept-content-urls")
    removed = _count(r"removed ([\d,]+) files", stdout)
    say(f"    invoke reclaim --delete-local {removal:.1f} s, peak {removal_peak:.0f} MB, {removed:,} removed")
    began = time.monotonic()
    subprocess.run([str(Path(sys.executable).parent / "fab"), "rollback", "--env=sandbox"], cwd=project_root,
                   check=True, capture_output=True, timeout=7200)
    rollback = time.monotonic() - began
    say(f"    fab rollback (every file downloaded) {rollback:.1f} s")
    invoke(project_root, "sandbox.reset", timeout=3600)
    proof, read = statistics.median(proofs), statistics.median(reads)
    step = statistics.median(steps)
    result = {"command": command, "files": FILES, "runs": runs, "proof_seconds": proofs, "proof_step_seconds": steps,
              "md5sum_seconds": reads, "ratio": round(proof / read, 2), "step_ratio": round(step / read, 2), "removal_ratio": round(removal / read, 2), "peak_mb": round(max(peaks + [removal_peak]), 1),
              "proven": proven, "removal_seconds": round(removal, 1), "removed": removed,
              "rollback_seconds": round(rollback, 1), "minutes": round((time.monotonic() - started) / 60, 1),
              "ended": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (project_root / "bench" / "results-reclaim.json").write_text(json.dumps(result, indent=1) + "\n")
    path = project_root / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Results\n"
    kept = re.split(rf"^{HEADLINE}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    path.write_text("".join(kept).rstrip("\n") + "\n\n" + "\n".join(render(result)) + "\n")
    say("\n".join(render(result)))
    return path


def render(result: dict) -> list[str]:
    proof, read = statistics.median(result["proof_seconds"]), statistics.median(result["md5sum_seconds"])
    step = statistics.median(result["proof_step_seconds"])
    met = result["step_ratio"] <= TARGET_RATIO and result["peak_mb"] <= TARGET_PEAK_MB
    return [HEADLINE, "",
            f"From one run of `{result['command']}` ({result['minutes']:.0f} minutes, ended {result['ended']}): the "
            f"sandbox site's tree of {result['files']:,} files (the usual sizes) after `invoke cutover`; medians of "
            f"{result['runs']} alternating runs, warm page cache.", "",
            "| what | seconds | peak memory |", "| --- | --- | --- |",
            f"| `invoke reclaim` (the proof, a report: {result['proven']:,} files proven) | {proof:.1f} | "
            f"{result['peak_mb']:.0f} MB (the largest invoke) |",
            f"| its reading of the tree alone (the preflight's snapshot, then rclone md5sum on the host with the "
            f"listing beside it) | {step:.1f} | |",
            f"| `md5sum` of every file on the media host (the peer) | {read:.1f} | |",
            f"| `invoke reclaim --delete-local` (proof and removal of {result['removed']:,} files) | "
            f"{result['removal_seconds']:.1f} | |",
            f"| `fab rollback` after it (the whole tree downloaded: the way back's cost) | "
            f"{result['rollback_seconds']:.1f} | |", "",
            f"Ratio to the md5sum read: **{result['step_ratio']:.2f}x** for the reading of the tree, {result['ratio']:.2f}x "
            f"for the whole command (besides the reading, its preflight's site checks: SSH, the settings probes, the "
            f"content's find: about 6 s whatever the tree's size), {result['removal_ratio']:.2f}x with "
            f"the removal (target ≤ {TARGET_RATIO}x, here on the reading); peak "
            f"{result['peak_mb']:.0f} MB (target ≤ {TARGET_PEAK_MB} MB): " + ("MET" if met else "NOT MET") + "."]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reclaim_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each read, alternating (default 3)")
    args = parser.parse_args(argv)
    print(f"results: {run(ROOT, args.runs, command='python -m bench.reclaim_bench' + (f' --runs {args.runs}' if args.runs != 2 else ''))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
