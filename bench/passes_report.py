"""The passes at scale: the run (``python -m bench.run --passes``), bench/RESULTS-passes.md, its link in RESULTS.md.

The numbers of every tree measured so far live in bench/results-passes.json (a
run replaces the trees it measured and keeps the others, each with its own
date), so the 100,000-file and the 1,000,000-file trees can be measured in
separate runs; RESULTS-passes.md is rendered from that file.  RESULTS.md keeps
its own sections as they were and gets a "Passes at scale" section that says
where the passes' numbers are and repeats their headline.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from deploy.config.load import load_settings
from deploy.errors import ConfigError

from .passes import CHANGES, TOOLS, load_results, measure_passes
from .report import local_versions, machine, md_table
from .trees import PASS_SHAPES, QUICK_PASS_SHAPES

# Targets (issue 13): a pass with <= 100 changed files; the tool's peak memory at 1M.
PASS_SECONDS = {100_000: 1.0, 1_000_000: 5.0}
PEAK_MB = 200.0
LABELS = {"project": "deploy.media.delta.upload_changed (stat walk since the mark, rclone "
                     "--files-from-raw --no-traverse)",
          "rclone": "rclone copy --ignore-existing, whole tree (the project's flags, no list: the old catch-up)",
          "s5cmd": "s5cmd sync --size-only, whole tree (otherwise as bench/peers.py)"}


def run_passes(project_root: Path, *, trees: str = "100k,1m", changes: str = "0,100,1000", keep_prefixes: bool = False,
               quick: bool = False, env: str = "sandbox", command: str = "python -m bench.run --passes",
               say: Callable[[str], None] = print) -> Path:
    """Measure the passes on the trees named; write and return bench/RESULTS-passes.md (-quick with quick)."""
    if env != "sandbox":
        raise ConfigError(f"the benchmark runs on the sandbox only (it uses the store's admin key), not {env!r}")
    shapes = QUICK_PASS_SHAPES if quick else PASS_SHAPES
    keys = list(shapes) if quick else [key.strip().lower() for key in trees.split(",") if key.strip()]
    unknown = [key for key in keys if key not in shapes]
    if unknown or not keys:
        raise ConfigError(f"--pass-trees: {', '.join(unknown) or 'none given'}; known: {', '.join(shapes)}")
    try:
        counts = tuple(int(value) for value in changes.split(","))
    except ValueError:
        raise ConfigError(f"--pass-changes: comma-separated numbers, not {changes!r}") from None
    started = time.monotonic()
    suffix = "-quick" if quick else ""
    data_path = project_root / "bench" / f"results-passes{suffix}.json"
    results = load_results(data_path)
    measured = measure_passes(project_root, load_settings(env, project_root), keys, counts, keep_prefixes, quick, say)
    minutes = (time.monotonic() - started) / 60
    for tree in measured.values():
        tree.update(command=command, run_minutes=round(minutes, 1))
    results.update(measured)
    data_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    path = project_root / "bench" / f"RESULTS-passes{suffix}.md"
    path.write_text(render_passes(results, machine(), local_versions()))
    if not quick:
        main_results = project_root / "bench" / "RESULTS.md"
        if main_results.exists():
            main_results.write_text(with_passes_section(main_results.read_text(), results))
    say(path.read_text())
    return path


def _passes(tree: dict, tool: str) -> dict[int, dict]:
    return {row["changed"]: row for row in tree["passes"] if row["tool"] == tool}


def _ordered(results: dict[str, dict]) -> list[dict]:
    return sorted(results.values(), key=lambda tree: tree["files"])


def targets(results: dict[str, dict]) -> list[list[str]]:
    rows = []
    for tree in _ordered(results):
        bound = PASS_SECONDS.get(tree["files"])
        mine = {n: row for n, row in _passes(tree, "project").items() if n <= 100}
        if bound and mine:
            worst = max(mine.values(), key=lambda row: row["seconds"])
            rows.append([f"{tree['files']:,} files: a pass with ≤ 100 changed files ≤ {bound:g} s",
                         ", ".join(f"N={n}: {row['seconds']:.2f} s" for n, row in sorted(mine.items())),
                         "met" if worst["seconds"] <= bound else f"MISSED by {worst['seconds'] - bound:.2f} s"])
        if tree["files"] >= 1_000_000:
            peaks = [("operator", max(row["operator_peak_mb"] for row in _passes(tree, "project").values()))]
            peaks += [(f"walk, {walk['since']}", walk["peak_mb"]) for walk in tree.get("walk", [])]
            for what, peak in peaks:
                rows.append([f"{tree['files']:,} files: peak memory ≤ {PEAK_MB:g} MB ({what})", f"{peak:.0f} MB",
                             "met" if peak <= PEAK_MB else "MISSED"])
    return rows


def pass_table(tree: dict) -> str:
    rows, by_tool = [], {tool: _passes(tree, tool) for tool in TOOLS}
    for changed in sorted(by_tool["project"] or by_tool["rclone"]):
        mine = by_tool["project"].get(changed)
        row = [f"{changed:,}"]
        row += [f"{mine['seconds']:.2f}", f"{mine['walk_seconds']:.2f}", f"{mine['listed']} / {mine['copied']}"] \
            if mine else ["—"] * 3
        for tool in TOOLS[1:]:
            peer = by_tool[tool].get(changed)
            row += [f"{peer['seconds']:.2f}" if peer else "—",
                    f"{peer['seconds'] / mine['seconds']:.1f}x" if peer and mine else "—"]
        rows.append(row)
    return md_table(["N changed", "project s", "of it the walk s", "listed / copied", "rclone s", "÷ project",
                     "s5cmd s", "÷ project"], rows)


def render_passes(results: dict[str, dict], machine_lines: list[str], versions: dict[str, str]) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    trees = _ordered(results)
    out = ["# Passes at scale", "", f"Rendered on {now} from bench/results-passes.json; each tree's numbers come from "
           "one run, named under it. Linked from bench/RESULTS.md; the sections there were not re-run.", "",
           "## Machine", ""] + [f"- {line}" for line in machine_lines] + \
          [f"- {name}: {version}" for name, version in sorted(versions.items())] + \
          [f"- s5cmd (peer): {trees[0]['s5cmd_version']}" if trees else "", "",
           "## Targets", "", md_table(["target", "measured", "verdict"], targets(results)), "",
           "The change-over windows, the whole cutover against the bulk upload and the rehearsals are in "
           "the sections at the end (`invoke bench --scale`).", "",
           "## Trees and the bulk upload", "",
           md_table(["tree", "files", "MB", "on disk MB", "made in", "bulk upload s", "files/s"],
                    [[tree["shape"], f"{tree['files']:,}", f"{tree['bytes'] / 1e6:.0f}", f"{tree['disk_mb']:,}",
                      f"{tree['made_seconds']:.0f} s" if tree["made_seconds"] is not None else "kept from a run before",
                      f"{tree['bulk_seconds']:.1f}", f"{tree['files'] / tree['bulk_seconds']:.0f}"]
                     for tree in trees]), "",
           "Trees by bench/remote/make_tree.py (fixed seed) under the media host's ~/bench-trees/, kept; 1-4 KB "
           "files, a directory a day (3 years: 1,116 directories). Bulk upload: "
           "`deploy.sync.on_host.upload_media` into a fresh bench-passes-* prefix.", ""]
    for tree in trees:
        out += [f"## Passes: {tree['shape']} ({tree['files']:,} files)", "",
                f"Measured {tree['measured']} by `{tree['command']}` (a run of {tree['run_minutes']} minutes, "
                f"load {tree['load']} at the end). Seconds, wall clock, one pass each; `÷ project` above 1: the "
                "project is faster.", "", pass_table(tree), ""]
        walks = tree.get("walk", [])
        peaks = [row["operator_peak_mb"] for row in _passes(tree, "project").values()]
        rss = [row["operator_rss_mb"] for row in _passes(tree, "project").values()]
        out += [f"Peak memory of the project's pass: the operator's process {max(peaks):.0f} MB (VmHWM during the "
                f"pass; {_span(rss)} MB before it: the interpreter, boto3, Fabric)" +
                "".join(f"; the remote walk ({walk['since']}) {walk['peak_mb']:.0f} MB in {walk['seconds']:.2f} s"
                        for walk in walks) + "." + (" The prefix was kept (--keep-prefixes)."
                                                    if tree.get("kept_prefix") else ""), ""]
        out += [f"- problem: {problem}" for problem in tree["problems"]] + ([""] if tree["problems"] else [])
    out += ["## How the passes run", ""] + [f"- {tool}: {label}" for tool, label in LABELS.items()] + ["",
            "After the bulk upload, for each N: every tool gets N new files of its own (1-4 KB, under "
            "`<tree>/bench-new-<token>/`, removed at the end), so every pass copies exactly N; the order of the "
            "three turns with N. The project's pass is `deploy.media.delta.upload_changed` on a real "
            "`deploy.engine.run.Run` (sandbox settings, MEDIA_ROOT and prefix replaced, a Journal in a "
            "temporary directory), `run.state.disk_mark` set to the host's clock 3.5 s after the previous pass "
            "(the other tools' files are then before the mark minus delta.MARGIN); `listed / copied` come from "
            "its journal. The peers compare the whole tree with the whole prefix: rclone through "
            "`upload_media(overwrite=False)` (the project's flags and --ignore-existing, the catch-up before the "
            "delta passes), s5cmd `sync --size-only` with the "
            "store's admin key (at its defaults s5cmd also recopies the files uploaded in the second they were "
            "written: S3's LastModified has whole seconds, so they look newer on disk; the project's own s5cmd "
            "passes use --size-only too). The remote walk's memory: "
            "`media_manifest.py --since --paths` run again after the passes under a wrapper that reports "
            "`ru_maxrss` of its descendants (the forked walkers included).", ""]
    return "\n".join(out)


def _span(values: list[float]) -> str:
    low, high = f"{min(values):.0f}", f"{max(values):.0f}"
    return low if low == high else f"{low}–{high}"


def with_passes_section(text: str, results: dict[str, dict]) -> str:
    """RESULTS.md with its "Passes at scale" section (re)written at the end; nothing else changes."""
    lines = ["## Passes at scale", "",
             "Measured by `python -m bench.run --passes` separately from the sections above (which it does not "
             "re-run): [RESULTS-passes.md](RESULTS-passes.md). Headline, seconds of one pass:", ""]
    rows = []
    for tree in _ordered(results):
        for changed, mine in sorted(_passes(tree, "project").items()):
            peers = [_passes(tree, tool).get(changed) for tool in TOOLS[1:]]
            rows.append([f"{tree['files']:,}", f"{changed:,}", f"{mine['seconds']:.2f}"] +
                        [f"{peer['seconds']:.2f}" if peer else "—" for peer in peers])
    lines += [md_table(["tree files", "N changed", "project", "rclone --ignore-existing", "s5cmd sync --size-only"], rows), ""]
    kept = re.split(r"^## Passes at scale\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    return "".join(kept).rstrip("\n") + "\n\n" + "\n".join(lines)


def passes_args(parser) -> None:
    parser.add_argument("--passes", action="store_true",
                        help="only the delta passes at scale (trees of 100,000 and 1,000,000 files): writes "
                             "bench/RESULTS-passes.md and its section in RESULTS.md; the rest is not re-run")
    parser.add_argument("--pass-trees", default="100k,1m", help="with --passes: the trees (default 100k,1m)")
    parser.add_argument("--pass-changes", default=",".join(map(str, CHANGES)),
                        help="with --passes: the numbers of changed files (default 0,100,1000)")
    parser.add_argument("--keep-prefixes", action="store_true",
                        help="with --passes: keep the bench-passes-* prefixes (SeaweedFS deletes a million objects "
                             "in ~10 minutes); `python -m bench.run --clean` deletes them later")
