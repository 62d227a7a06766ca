"""The benchmark: sync, verify and change-over, side by side with the peers, on the sandbox.

    python -m bench.run [--runs 3] [--thumb-runs 1] [--quick] [--changeover] [--sweep]
    python -m bench.run --passes [--pass-trees 100k,1m] [--pass-changes 0,100,1000] [--keep-prefixes]

(``invoke bench --env=sandbox`` calls ``run_bench``.)  It needs the sandbox up
(``invoke sandbox.up``) and writes the table to bench/RESULTS.md.  Without
``--changeover`` it leaves the sandbox as it found it: trees live under the
media host's ``~/bench-trees/`` (kept for the next run), uploads go to fresh
``bench-*`` prefixes that are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from deploy.config.load import load_settings
from deploy.config.paths import shell_path
from deploy.config.types import Settings
from deploy.errors import ConfigError, MediaCutoverError
from deploy.remote.ssh import connect, run
from deploy.sandbox import admin_settings
from deploy.sandbox.layout import Layout
from deploy.store.client import s3_client
from deploy.sync.tools import tool_spec

from .compare_bench import measure_compare
from .passes import load_results
from .passes_report import passes_args, run_passes, with_passes_section
from .host import BENCH_HOME, RUN_DIR
from .prefixes import count_prefix, delete_prefix
from .peers import Contender, peer_tools, project_contender, rclone_check_command
from .report import (COMPARE_ENTRIES, PEER_ORDER, PHASES, VERIFY_REPEATS, Results, local_versions, machine,
                     render)
from .trees import DEFAULT_SHAPES, QUICK_SHAPES, Tree, ensure_tree
from .verify_bench import project_verify, rclone_check


def run_bench(project_root: Path, *, runs: int = 3, quick: bool = False, say: Callable[[str], None] = print,
              thumb_runs: int | None = None, changeover: bool = False, sweep: bool = False,
              env: str = "sandbox", command: str | None = None) -> Path:
    """Run the benchmark on the sandbox; write and return bench/RESULTS.md (bench/RESULTS-quick.md if quick).

    ``runs`` rounds on the photo tree, ``thumb_runs`` (default 1, to keep the
    default run near 10 minutes) on the thumbnail tree; ``quick``: small trees,
    one round.  ``changeover`` also resets the sandbox and runs a real cutover
    (it empties the bucket prefix media/).  ``sweep`` adds the project's step
    with other tools and concurrencies as extra contenders.  Raises ConfigError
    for another environment than the sandbox or no round.
    """
    if env != "sandbox":
        raise ConfigError(f"the benchmark runs on the sandbox only (it uses the store's admin key), not {env!r}")
    if runs < 1 or (thumb_runs is not None and thumb_runs < 1):
        raise ConfigError("runs and thumb-runs must be at least 1")
    started = time.monotonic()
    project_root = project_root.resolve()
    settings = load_settings(env, project_root)
    shapes = QUICK_SHAPES if quick else DEFAULT_SHAPES
    rounds = {shape.name: 1 if quick else (runs if shape.kind == "photos" else (thumb_runs or 1))
              for shape in shapes}
    results = Results(rounds=rounds, load=[f"{os.getloadavg()[0]:.1f}"])
    race_uploads(project_root, settings, shapes, results, sweep, say)
    measure_comparisons(project_root, results, 200_000 if quick else COMPARE_ENTRIES, say)
    if changeover:
        measure_change(project_root, settings, results, say)
    results.versions.update(local_versions())
    path = project_root / "bench" / ("RESULTS-quick.md" if quick else "RESULTS.md")
    command = command or "python -m bench.run " + shlex.join(_args(runs, quick, thumb_runs, changeover, sweep))
    text = render(results, machine(), command, time.monotonic() - started)
    if not quick and (passes := load_results(project_root / "bench" / "results-passes.json")):
        text = with_passes_section(text, passes)   # measured by --passes, not re-run here
    path.write_text(text)
    say(text)
    return path


def race_uploads(project_root: Path, settings: Settings, shapes, results: Results, sweep: bool,
                 say: Callable[[str], None]) -> None:
    """Trees, tools, then every round of every tree; the bench-* prefixes are deleted whatever happens."""
    # The store's admin key for every contender alike: the deploy key may be limited to media/*.
    bench_settings = admin_settings(Layout(project_root), settings)
    connection = connect(bench_settings, settings.media_host)
    created: list[str] = []
    try:
        say(f"==> trees on {settings.media_host} (fixed seed, kept in ~/bench-trees)")
        for shape in shapes:
            tree = ensure_tree(connection, shape, settings.remote_python)
            results.trees.append(tree)
            say(f"    {tree.label}; delta tree {tree.delta_files:,} files")
        say("==> tools on the media host")
        with peer_tools(connection, bench_settings, say) as (peers, versions, files):
            results.versions.update(versions)
            spec = tool_spec(bench_settings.sync_tool)
            results.versions["project"] = f"{spec.name} {spec.version} (deploy.sync.on_host.upload_media)"
            contenders = [project_contender(connection, bench_settings)] + [peers[key] for key in PEER_ORDER]
            variants = sweep_contenders(connection, bench_settings) if sweep else []
            results.labels = {c.key: c.label for c in contenders[:1] + variants + contenders[1:]}
            for tree in results.trees:
                # The variants run on the photo tree only: on 20,000 files they would double the run.
                racing = contenders + (variants if tree.shape.kind == "photos" else [])
                for number in range(results.rounds[tree.shape.name]):
                    say(f"==> {tree.shape.name}: round {number + 1} of {results.rounds[tree.shape.name]}")
                    results.load.append(f"{os.getloadavg()[0]:.1f}")
                    prefixes = bench_round(connection, bench_settings, tree, number, racing, results,
                                           files, created, say)
                    say(f"    cleaning {len(prefixes)} prefixes")
                    for prefix in prefixes:
                        delete_prefix(bench_settings, prefix)
                        created.remove(prefix)
    finally:
        for prefix in list(created):
            delete_prefix(bench_settings, prefix)
        connection.close()


def measure_comparisons(project_root: Path, results: Results, entries: int, say: Callable[[str], None]) -> None:
    for order in ("bytes", "path"):
        say(f"==> deploy.media.compare.compare on {entries:,} synthetic entries a side, {order} order")
        result = measure_compare(project_root, entries, order)
        results.compare.append(result)
        say(f"    {result['seconds']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB")


def measure_change(project_root: Path, settings: Settings, results: Results, say: Callable[[str], None]) -> None:
    """The change-over (it resets the sandbox); a failure to measure it is reported, not raised."""
    from .changeover import measure_changeover
    say("==> change-over on the sandbox (resets it)")
    try:
        results.changeover = measure_changeover(project_root, settings, say)
    except (RuntimeError, subprocess.SubprocessError) as error:
        results.problems.append(f"change-over not measured: {error}")
        say(f"    ! change-over not measured: {error}")
        return
    say(f"    flip to all healthy {results.changeover['flip_to_all_healthy']:.2f} s, "
        f"{results.changeover['failed']} of {results.changeover['requests']} requests failed")


def bench_round(connection, settings: Settings, tree: Tree, number: int, contenders: list[Contender],
                results: Results, files, created: list[str], say: Callable[[str], None]) -> list[str]:
    """One round: every contender in this round's order, full then no-op then delta; then the verifies."""
    order = contenders[number % len(contenders):] + contenders[:number % len(contenders)]
    if number % 2:
        order.reverse()
    token = secrets.token_hex(3)
    prefixes = {c.key: f"bench-{c.key}-{tree.shape.kind}-r{number}-{token}" for c in order}
    created += prefixes.values()
    shape = tree.shape
    store = StoreCpu(settings.project_root)
    for phase in PHASES:
        source = shape.delta_directory if phase == "delta" else shape.directory
        for contender in order:
            before = store.seconds()
            seconds = contender.upload(source, prefixes[contender.key])
            results.add(results.uploads, (shape.name, phase, contender.key), seconds)
            if before is not None and store.seconds() is not None:
                results.add(results.store_cpu, (shape.name, phase, contender.key), store.seconds() - before)
            say(f"    {phase:6} {contender.key:14} {seconds:7.2f} s")
    client = s3_client(settings)
    for contender in order:
        count = count_prefix(client, settings.bucket, prefixes[contender.key])
        if count != tree.delta_files:
            results.problems.append(f"{shape.name} round {number + 1}: {contender.key} left {count:,} objects "
                                    f"in its prefix, the delta tree holds {tree.delta_files:,}")
    delta, mine = shape.delta_directory, prefixes["project"]
    checks = {"project": project_verify(connection, settings, delta, mine),
              "rclone": rclone_check(connection, rclone_check_command(settings, files, delta, mine))}
    keys = list(checks)
    for repeat in range(VERIFY_REPEATS):
        turn = (number + repeat) % len(keys)
        for key in keys[turn:] + keys[:turn]:
            seconds = checks[key]()
            results.add(results.verifies, (shape.name, key), seconds)
            say(f"    verify {key:14} {seconds:7.2f} s")
    return list(prefixes.values())


def sweep_contenders(connection, settings: Settings) -> list[Contender]:
    """The project's own step with other tools and concurrencies: what the defaults were chosen from."""
    variants = [("rclone", 16), ("rclone", 64), ("s5cmd", 32), ("s5cmd", 256)]
    return [project_contender(connection, replace(settings, sync_tool=tool, sync_concurrency=concurrency,
                                                  tools_dir=BENCH_HOME),
                              key=f"proj-{tool}-{concurrency}",
                              label=f"variant: project step, {tool}, concurrency {concurrency}")
            for tool, concurrency in variants
            if (tool, concurrency) != (settings.sync_tool, settings.sync_concurrency)]


class StoreCpu:
    """CPU seconds SeaweedFS has used so far (its pid from the sandbox), or None where unreadable."""

    def __init__(self, project_root: Path):
        try:
            self.pid = int(Layout(project_root).weed_pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            self.pid = None

    def seconds(self) -> float | None:
        if self.pid is None:
            return None
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


# --- the bucket ------------------------------------------------------------------------------

def clean_up(project_root: Path, say: Callable[[str], None] = print) -> int:
    """What a run killed before its cleanup leaves: credentials files on the media host, bench-* prefixes."""
    settings = admin_settings(Layout(project_root), load_settings("sandbox", project_root))
    with connect(settings, settings.media_host) as connection:
        run(connection, f"rm -f {shell_path(RUN_DIR)}/*", f"emptying {RUN_DIR}")
    say(f"{settings.media_host}: {RUN_DIR} emptied")
    client = s3_client(settings)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix="bench-", Delimiter="/")
    prefixes = [item["Prefix"].rstrip("/") for page in pages for item in page.get("CommonPrefixes", [])]
    deleted = sum(delete_prefix(settings, prefix) for prefix in prefixes)
    say(f"deleted {deleted:,} objects under {len(prefixes)} bench-* prefixes")
    return deleted


def _args(runs: int, quick: bool, thumb_runs: int | None, changeover: bool, sweep: bool) -> list[str]:
    args = ["--quick"] if quick else ["--runs", str(runs)] + (["--thumb-runs", str(thumb_runs)] if thumb_runs else [])
    return args + (["--changeover"] if changeover else []) + (["--sweep"] if sweep else [])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the cutover's sync, verify and change-over against s3cmd, awscli, rclone and "
                    "s5cmd on the sandbox (invoke sandbox.up first); writes bench/RESULTS.md.")
    parser.add_argument("--runs", type=int, default=3, help="rounds on the photo tree (default 3)")
    parser.add_argument("--thumb-runs", type=int, default=None,
                        help="rounds on the 20,000-thumbnail tree (default 1: about 6 minutes a round)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small trees, one round; writes bench/RESULTS-quick.md")
    parser.add_argument("--changeover", action="store_true",
                        help="also time a real cutover under traffic. WARNING: resets the sandbox "
                             "(invoke sandbox.reset: sites back on disk, bucket prefix media/ emptied) "
                             "before and after")
    parser.add_argument("--sweep", action="store_true",
                        help="also run the project's step with other tools and concurrencies")
    parser.add_argument("--clean", action="store_true",
                        help="only remove what a killed run left (credentials files in ~/bench-tools/run on "
                             "the media host, bench-* prefixes in the bucket), then exit")
    passes_args(parser)
    args = parser.parse_args(argv)
    command = "python -m bench.run " + shlex.join(argv) if argv else "python -m bench.run"
    try:
        if args.clean:
            clean_up(Path(__file__).resolve().parent.parent)
            return 0
        if args.passes:   # bench/passes.py: only the passes, into RESULTS-passes.md
            path = run_passes(Path(__file__).resolve().parent.parent, trees=args.pass_trees, quick=args.quick,
                              changes=args.pass_changes, keep_prefixes=args.keep_prefixes, command=command,
                              say=lambda line: print(line, flush=True))
            print(f"written: {path}")
            return 0
        path = run_bench(Path(__file__).resolve().parent.parent, runs=args.runs, quick=args.quick,
                         thumb_runs=args.thumb_runs, changeover=args.changeover, sweep=args.sweep,
                         say=lambda line: print(line, flush=True), command=command)
    except KeyboardInterrupt:
        print("interrupted: bench-* prefixes were deleted", file=sys.stderr)
        return 130
    except MediaCutoverError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
