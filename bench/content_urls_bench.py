"""The content's old media URLs on 100,000 seeded rows: the find and the rewrite beside a plain UPDATE … REPLACE().

    python -m bench.content_urls_bench [--runs 3] [--rows 100000]     # `invoke bench --content-urls`

Issue 25's targets: the find ≤ 5 s, the rewrite ≤ 30 s, measured beside a plain SQL ``UPDATE … REPLACE()`` of
the same rows in the same run.  It takes the sandbox for some minutes (it must be up):

1. ``invoke sandbox.up --content-rows=ROWS``: the seeded articles made so (``deploy.sandbox.seeded_content``:
   each holds 5 old media URLs, body 3 and data 2, relative ``/media/…`` and absolute on the media host's
   SITE_URL); the media tree stays.  Then ``invoke cutover --env=sandbox`` unless every site serves from S3
   already (the rewrite wants the sites on S3).
2. ``--runs`` times, in this order: ``invoke content-urls --env=sandbox`` (the find), ``invoke rewrite-urls
   --env=sandbox`` (find, bucket look-up, storage URLs, the plan's dry run, the rewrite, the find again), the
   rows put back, the peer, the rows put back.  Each invoke timed whole and by its steps in its own journal
   (runs/), with its own peak memory (wait4: the operator's process, not the program on the host).
3. The peer: one ``UPDATE gallery_article SET body = REPLACE(…), data = REPLACE(…)`` of the rows holding the
   media path, run by ``sqlite3`` on the media host over SSH against the site's database (the sandbox layout's
   ``database``), timed by the SSH command and by sqlite3's own timer.  Each absolute form
   (``http://127.0.0.1:18101/media/``, each SITE_URL's) is first made relative, then the relative ``/media/``
   made the bucket's base (``<endpoint>/<bucket>/<prefix>/``, MEDIA_URL on S3): nested REPLACE()s, one pass
   each, so the base (which holds ``/media/`` itself) is never replaced again.  The peer is blunt: it would
   also rewrite ``/media/`` on foreign hosts, names not in the bucket, and keeps no record.
4. Putting the rows back: ``manage.py seed_content`` (it rewrites the seeded articles when any differs from
   the plan: ~11 s for 100,000; a rollback would also switch the sites back to disk), and the rewrite's record
   under runs/ marked put back (``<record>.restored``) so that no later rollback takes it.
5. At the end ``invoke sandbox.up`` (its default, 24 rows: a plain up makes the seeded articles exactly
   DEFAULT_ROWS), and ``invoke sandbox.reset`` when this bench made the cutover (sites back on disk, bucket
   prefix emptied).

Writes bench/results-content-urls.json and RESULTS.md's "Content URLs" section.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
ROWS = 100_000
HEADLINE = "## Content URLs"
TARGET_FIND_SECONDS, TARGET_REWRITE_SECONDS = 5.0, 30.0
FIND_STEP = "find old media URLs in the content"           # deploy.flows.find_content.FIND's last step
REWRITE_STEP = "rewrite old media URLs to the storage's"    # deploy.flows.rewrite_urls.REWRITE
PLAN_STEP = "plan the rewrite"
TABLE, COLUMNS = "gallery_article", ("body", "data")        # the sandbox site's gallery.Article
RESULTS_JSON = "results-content-urls.json"


# --- pure parts: the arguments, the peer's SQL, what the runs said, the report ---------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.content_urls_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (find, rewrite, peer); medians (default 3)")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"seeded articles (default {ROWS:,})")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rows < 1:
        parser.error("--runs and --rows must be at least 1")
    return args


def sql_literal(text: str) -> str:
    """``text`` as an SQL string literal: in single quotes, each quote doubled (no backslash escapes in SQL)."""
    if "\x00" in text:
        raise ValueError(f"{text!r}: a NUL cannot be in an SQL literal")
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class PeerForms:
    """What the peer replaces: the disk's relative MEDIA_URL, the absolute forms on each site's host, and the
    bucket's base they all become."""

    relative: str                 # /media/
    absolute: tuple[str, ...]     # http://127.0.0.1:18101/media/, ...
    base: str                     # http://127.0.0.1:18333/media-cutover-sandbox/media/

    @classmethod
    def of(cls, media_url: str, site_urls: Iterable[str], bucket_url: str, media_prefix: str) -> "PeerForms":
        relative = "/" + media_url.strip("/") + "/"
        absolute = tuple(dict.fromkeys(url.rstrip("/") + relative for url in site_urls if url))
        base = bucket_url.rstrip("/") + "/" + (media_prefix.strip("/") + "/" if media_prefix.strip("/") else "")
        return cls(relative, absolute, base)


def replaced_column(column: str, forms: PeerForms) -> str:
    """``REPLACE(REPLACE(REPLACE(col, abs1, rel), abs2, rel), rel, base)``: every form the bucket's base, one
    pass each; the absolute forms first made relative, so the base is never scanned again."""
    expression = column
    for absolute in forms.absolute:
        expression = f"REPLACE({expression}, {sql_literal(absolute)}, {sql_literal(forms.relative)})"
    return f"REPLACE({expression}, {sql_literal(forms.relative)}, {sql_literal(forms.base)})"


def peer_sql(forms: PeerForms, table: str = TABLE, columns: Iterable[str] = COLUMNS) -> str:
    """The peer's script for ``sqlite3``: its timer on, one UPDATE of the rows holding the media path (the
    program's own database filter), and how many rows it changed."""
    columns = list(columns)
    sets = ", ".join(f"{column} = {replaced_column(column, forms)}" for column in columns)
    where = " OR ".join(f"instr({column}, {sql_literal(forms.relative)}) > 0" for column in columns)
    return (".bail on\n.timeout 30000\n.timer on\n"
            f"UPDATE {table} SET {sets} WHERE {where};\n"
            ".timer off\nSELECT 'changed ' || changes();\n")


def parse_peer(output: str) -> tuple[float, int]:
    """(sqlite3's real seconds for the UPDATE, rows changed) from the script's output."""
    timed = re.search(r"Run Time: real ([\d.]+)", output)
    changed = re.search(r"^changed (\d+)$", output, re.M)
    if not timed or not changed:
        raise RuntimeError(f"sqlite3 printed no timer or count: {output.strip()[-500:]}")
    return float(timed.group(1)), int(changed.group(1))


def step_seconds(lines: Iterable[str]) -> dict[str, float]:
    """Each finished step's seconds in a journal's lines (JSON lines under runs/)."""
    seconds = {}
    for line in lines:
        event = json.loads(line)
        if event.get("event") == "step" and "seconds" in event:
            seconds[event["step"]] = float(event["seconds"])
    return seconds


def counted(lines: Iterable[str], step: str = "content rewrite", action: str = "rewrite") -> int:
    """Rows the journal's counts say the rewrite changed (-1: none recorded)."""
    for line in lines:
        event = json.loads(line)
        if event.get("event") == "counts" and event.get("step") == step and event.get("action") == action:
            return int(event["rows"])
    return -1


def median(values: list[float | None]) -> float:
    """The median of the values measured (None: a step the journal did not record)."""
    measured = [value for value in values if value is not None]
    return statistics.median(measured) if measured else float("nan")


def verdict(seconds: float, target: float) -> str:
    return f"MET ({seconds / target:.2f}x the target)" if seconds <= target else f"NOT MET ({seconds / target:.2f}x)"


def render(result: dict | None) -> list[str]:
    """The "Content URLs" section; without a result, its placeholders: the bench was not run yet."""
    head = [HEADLINE, ""]
    if result is None:
        return head + [
            "**Not yet run** on the sandbox: `invoke bench --content-urls` (bench/content_urls_bench.py) fills this "
            "section and bench/results-content-urls.json.  Targets (issue 25): the find ≤ 5 s and the rewrite ≤ "
            "30 s on 100,000 rows, beside a plain `UPDATE … REPLACE()` of the same rows in the same run.", "",
            "| what | seconds (median) | peak memory | to the target | to the peer |", "| --- | --- | --- | --- | --- |",
            "| `invoke content-urls` (the find, whole) | not yet run | not yet run | not yet run | not yet run |",
            "| its find step | not yet run | | not yet run | not yet run |",
            "| `invoke rewrite-urls` (whole) | not yet run | not yet run | not yet run | not yet run |",
            "| its rewrite step | not yet run | | not yet run | not yet run |",
            "| its plan step (the dry run) | not yet run | | | |",
            "| `UPDATE … REPLACE()` by sqlite3 over SSH (the peer) | not yet run | | | 1.00x |"]
    find, find_step = median(result["find_seconds"]), median(result["find_step_seconds"])
    rewrite, rewrite_step = median(result["rewrite_seconds"]), median(result["rewrite_step_seconds"])
    plan = median(result["plan_step_seconds"])
    peer, peer_sqlite = median(result["peer_seconds"]), median(result["peer_sqlite_seconds"])
    reset = median(result["reset_seconds"])

    def to_peer(seconds: float) -> str:
        return f"{seconds / peer:.1f}x" if peer > 0 else "-"

    return head + [
        f"From one run of `{result['command']}` ({result['minutes']:.0f} minutes, ended {result['ended']}): "
        f"{result['rows']:,} seeded articles ({result['urls']:,} old media URLs: body 3 and data 2 each, relative "
        f"and absolute) after `invoke cutover`; medians of {result['runs']} runs; between runs the rows put back by "
        f"`manage.py seed_content` ({reset:.1f} s).", "",
        "| what | seconds (median) | peak memory | to the target | to the peer |", "| --- | --- | --- | --- | --- |",
        f"| `invoke content-urls` (the find, whole) | {find:.1f} | {max(result['find_peak_mb']):.0f} MB | "
        f"{verdict(find, TARGET_FIND_SECONDS)} | {to_peer(find)} |",
        f"| its find step | {find_step:.1f} | | {verdict(find_step, TARGET_FIND_SECONDS)} | {to_peer(find_step)} |",
        f"| `invoke rewrite-urls` (whole: {result['rewritten']:,} values) | {rewrite:.1f} | "
        f"{max(result['rewrite_peak_mb']):.0f} MB | {verdict(rewrite, TARGET_REWRITE_SECONDS)} | {to_peer(rewrite)} |",
        f"| its rewrite step | {rewrite_step:.1f} | | {verdict(rewrite_step, TARGET_REWRITE_SECONDS)} | "
        f"{to_peer(rewrite_step)} |",
        f"| its plan step (a rewrite runs no dry run of its own: it holds rows to the operator's last, none here) "
        f"| {plan:.1f} | | | {to_peer(plan)} |",
        f"| `UPDATE … REPLACE()` by sqlite3 over SSH (the peer: {result['peer_changed']:,} rows; sqlite3's own "
        f"timer {peer_sqlite:.2f} s) | {peer:.2f} | | | 1.00x |", "",
        "Every run: " + "; ".join(
            f"find {f:.1f} s (step {_seconds(fs)}), rewrite {r:.1f} s (step {_seconds(rs)}), peer {p:.2f} s"
            for f, fs, r, rs, p in zip(result["find_seconds"], result["find_step_seconds"], result["rewrite_seconds"],
                                       result["rewrite_step_seconds"], result["peer_seconds"])) + ".",
        "", "The targets are read on the steps, measured as the peer is (one command over SSH, its start-up in it): "
        "the find step, the program and the bucket's look-up, and the rewrite step.  A whole command adds what it "
        "costs whatever the row count: Python and the imports of the flow it runs (about 0.6 s), SSH to each host (0.4 s) and, before "
        "the find, the settings probes (1.1-1.9 s: two Django start-ups on the content host at once).",
        "", "Peak memory is the operator's invoke process (wait4), not the program on the host."]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def with_section(text: str, lines: list[str]) -> str:
    """``text`` (RESULTS.md) with its "## Content URLs" section replaced by ``lines`` (appended when it has none)."""
    kept = re.split(rf"^{re.escape(HEADLINE)}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    section = "\n".join(lines) + "\n"
    if len(kept) == 1:
        return text.rstrip("\n") + "\n\n" + section
    return kept[0] + section + ("\n" + kept[1].lstrip("\n") if kept[1].strip() else "")


# --- the sandbox -------------------------------------------------------------------------------------------

def timed_invoke(project_root: Path, *args: str) -> tuple[float, float, str, list[str]]:
    """(seconds, its peak MB, stdout, the lines of the journal it wrote under runs/)."""
    from .changeover import invoke
    runs = project_root / "runs"
    before = set(runs.glob("*.jsonl")) if runs.is_dir() else set()
    began = time.monotonic()
    result = invoke(project_root, *args, timeout=3600)
    seconds = time.monotonic() - began
    new = sorted(set(runs.glob("*.jsonl")) - before)
    journal = new[-1].read_text().splitlines() if new else []
    return seconds, result.peak_mb, result.stdout, journal


def on_s3(settings) -> bool:
    from deploy.sandbox import sites
    return all((sites.health(host) or {}).get("storage") == "s3" for host in settings.hosts)


def run_peer(project_root: Path, alias: str, database: str, script: str) -> tuple[float, float, int]:
    """(the SSH command's seconds, sqlite3's own, rows changed): sqlite3 on the media host, the script on stdin."""
    ssh_config = project_root / ".sandbox" / "ssh_config"
    began = time.monotonic()
    done = subprocess.run(["ssh", "-F", str(ssh_config), alias, f"sqlite3 {shlex.quote(database)}"], input=script,
                          capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"sqlite3 on {alias} exited {done.returncode}: {(done.stdout + done.stderr)[-800:]}")
    sqlite_seconds, changed = parse_peer(done.stdout)
    return seconds, sqlite_seconds, changed


def put_back(project_root: Path, settings, rows: int, pending_before: set[Path]) -> float:
    """The seeded rows as planned again (seed_content), and this bench's rewrite records marked put back."""
    import pwd

    from deploy.sandbox import sites
    from deploy.sandbox.layout import Layout
    from deploy.site.edits.content_url_record import RestoreResult
    from deploy.site.ops import content_urls as ops
    layout = Layout(project_root)
    began = time.monotonic()
    sites.seed_content(pwd.getpwnam(layout.account(settings.media_host)), rows,
                       settings.host(settings.media_host).site_url)
    for record in set(ops.pending_records(settings)) - pending_before:
        ops.mark_restored(record, "bench-content-urls", RestoreResult("bench: seed_content", 0, rows, ()))
    return time.monotonic() - began


def run(project_root: Path = ROOT, runs: int = 3, rows: int = ROWS, say: Callable[[str], None] = print,
        command: str = "invoke bench --content-urls") -> Path:
    from deploy.config.load import load_settings
    from deploy.sandbox.layout import Layout
    from deploy.sandbox.seeded_content import expected_counts
    from deploy.site.ops import content_urls as ops

    from .changeover import invoke
    started = time.monotonic()
    say(f"    invoke sandbox.up --content-rows={rows}")
    invoke(project_root, "sandbox.up", f"--content-rows={rows}", timeout=3600)
    settings = load_settings("sandbox", project_root)
    state = Layout(project_root).read_state() or {}
    seeded = state.get("content") or {}
    cut_over = not on_s3(settings)
    if cut_over:
        say("    invoke cutover --env=sandbox (the rewrite wants the sites on S3)")
        invoke(project_root, "cutover", "--env=sandbox", timeout=7200)
    forms = PeerForms.of(seeded.get("media_url", "/media/"), [host.site_url for host in settings.hosts],
                         settings.bucket_url, settings.media_prefix)
    script = peer_sql(forms)
    pending_before = set(ops.pending_records(settings))
    result = {"command": command, "rows": rows, "runs": runs,
              "urls": expected_counts(rows, int(seeded.get("files", 1) or 1)).urls,
              "find_seconds": [], "find_step_seconds": [], "find_peak_mb": [],
              "rewrite_seconds": [], "rewrite_step_seconds": [], "plan_step_seconds": [], "rewrite_peak_mb": [],
              "rewrite_steps": [], "peer_seconds": [], "peer_sqlite_seconds": [], "reset_seconds": [],
              "rewritten": -1, "peer_changed": -1, "peer_sql": script, "cut_over": cut_over}
    try:
        for number in range(runs):
            seconds, peak, _, journal = timed_invoke(project_root, "content-urls", "--env=sandbox")
            result["find_seconds"].append(round(seconds, 2))
            result["find_step_seconds"].append(step_seconds(journal).get(FIND_STEP))
            result["find_peak_mb"].append(round(peak, 1))
            seconds, peak, _, journal = timed_invoke(project_root, "rewrite-urls", "--env=sandbox")
            steps = step_seconds(journal)
            result["rewrite_seconds"].append(round(seconds, 2))
            result["rewrite_step_seconds"].append(steps.get(REWRITE_STEP))
            result["plan_step_seconds"].append(steps.get(PLAN_STEP))
            result["rewrite_peak_mb"].append(round(peak, 1))
            result["rewrite_steps"].append(steps)
            result["rewritten"] = counted(journal)
            result["reset_seconds"].append(round(put_back(project_root, settings, rows, pending_before), 2))
            peer, peer_sqlite, result["peer_changed"] = run_peer(project_root, settings.media_host,
                                                                 state["database"], script)
            result["peer_seconds"].append(round(peer, 3))
            result["peer_sqlite_seconds"].append(peer_sqlite)
            result["reset_seconds"].append(round(put_back(project_root, settings, rows, pending_before), 2))
            say(f"    run {number + 1}: content-urls {result['find_seconds'][-1]:.1f} s (step "
                f"{result['find_step_seconds'][-1]}), rewrite-urls {result['rewrite_seconds'][-1]:.1f} s (step "
                f"{result['rewrite_step_seconds'][-1]}, {result['rewritten']:,} values), peer {peer:.2f} s "
                f"({result['peer_changed']:,} rows)")
    finally:
        say("    invoke sandbox.up (the default rows)" + ("; invoke sandbox.reset (this bench cut over)" if cut_over
                                                          else ""))
        invoke(project_root, "sandbox.up", timeout=3600)
        if cut_over:
            invoke(project_root, "sandbox.reset", timeout=3600)
    result["minutes"] = round((time.monotonic() - started) / 60, 1)
    result["ended"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (project_root / "bench" / RESULTS_JSON).write_text(json.dumps(result, indent=1) + "\n")
    path = project_root / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    path.write_text(with_section(text, render(result)))
    say("\n".join(render(result)))
    return path


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    words = "python -m bench.content_urls_bench" + (f" --runs {args.runs}" if args.runs != 3 else "") \
        + (f" --rows {args.rows}" if args.rows != ROWS else "")
    print(f"results: {run(ROOT, args.runs, args.rows, command=words)}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
