"""Everything the scale issue measures, from one run: the change-over both ways and the cutover's overhead
at 100,000 and at 1,000,000 files, then the delta passes against rclone and s5cmd on both trees.

    invoke bench --scale          # or: python -m bench.scale [--sizes 100k,1m] [--no-passes]

It takes the sandbox for an hour and more (the million: a bulk upload of ~15 minutes, two full
listings, and deleting a million objects at each reset).  For each size the sandbox site's own tree
is (re)seeded first when it is not that size already (``manage.py seed_media --force``): 100,000 files
of the usual sizes (6.5 GB), or 1,000,000 of 1-4 KB (``--small``: ~4 GB on the disk, ~4 GB in the
store; the usual sizes would need 65 GB).  Each stage writes its results as it ends
(bench/results-scale.json, bench/results-passes.json), so a stage that fails keeps the earlier ones;
bench/RESULTS-passes.md and the "Passes at scale" section of bench/RESULTS.md are rendered from them,
with this run's command and minutes.
"""

from __future__ import annotations

import argparse
import json
import pwd
import sys
import time
from pathlib import Path
from typing import Callable

from deploy.config.load import load_settings
from deploy.errors import ConfigError
from deploy.sandbox import sites
from deploy.sandbox.layout import Layout

from . import scale_changeover, scale_rehearsals
from .passes_report import run_passes

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"100k": (100_000, False), "1m": (1_000_000, True)}  # (files, small files)
STAMP = "bench-seed.json"  # under .sandbox/: what the last reseed made

COUNT_SEEDED = "from gallery.models import StoredFile; print('SEEDED', StoredFile.objects.filter(host='seed').count())"


def seeded(layout: Layout, account: pwd.struct_passwd) -> tuple[int, bool]:
    """(files the sandbox site's seed made, small or not): the stamp when this bench reseeded, else the rows."""
    stamp = layout.root / STAMP
    if stamp.exists():
        data = json.loads(stamp.read_text())
        return data["files"], data["small"]
    output = sites.manage(account, f"shell -c \"{COUNT_SEEDED}\"")
    count = int(next(line for line in output.splitlines() if line.startswith("SEEDED ")).split()[1])
    return count, False  # `sandbox.up` seeds the usual sizes unless asked for --small-files


def ensure_tree(project_root: Path, files: int, small: bool, say: Callable[[str], None]) -> None:
    layout = Layout(project_root)
    settings = load_settings("sandbox", project_root)
    account = pwd.getpwnam(layout.account(settings.media_host))
    if seeded(layout, account) == (files, small):
        say(f"    the sandbox site's tree has {files:,} seeded files already")
        return
    say(f"    reseeding the sandbox site's tree: {files:,} files" + (" of 1-4 KB" if small else ""))
    started = time.monotonic()
    said = sites.manage(account, f"seed_media --count {files} --seed 7 --force" + (" --small" if small else ""),
                        timeout=600 + files // 200)
    (layout.root / STAMP).write_text(json.dumps({"files": files, "small": small}) + "\n")
    say(f"    {said.strip()} ({time.monotonic() - started:.0f} s)")
    content = (layout.read_state() or {}).get("content")
    if content:  # the seeded articles name seeded files: made again over the new tree, as many as before
        said, _ = sites.seed_content(account, content["rows"], content["site_url"])
        say(f"    {said}")


def run_scale(project_root: Path = ROOT, sizes: str = "100k,1m", passes: bool = True, env: str = "sandbox",
              say: Callable[[str], None] = print, command: str = "invoke bench --scale",
              rehearsals: bool = True) -> Path:
    started = time.monotonic()
    if env != "sandbox":
        raise ConfigError(f"the scale bench runs on the sandbox only (it reseeds the site), not {env!r}")
    wanted = [size.strip().lower() for size in sizes.split(",") if size.strip()]
    unknown = [size for size in wanted if size not in SIZES]
    if unknown or not wanted:
        raise ConfigError(f"--sizes: {', '.join(unknown) or 'none given'}; known: {', '.join(SIZES)}")
    for size in wanted:
        files, small = SIZES[size]
        say(f"==> cutover and rollback under traffic at {files:,} files")
        ensure_tree(project_root, files, small, say)
        result = scale_changeover.measure(project_root, say)
        result["command"] = command
        scale_changeover.save(project_root, result)
        if rehearsals and size == "100k":   # the rehearsals run on the 100,000-file tree
            say(f"==> invoke rehearse at {files:,} files, at " + " and ".join(
                f"{rate:g}" for rate in scale_rehearsals.RATES) + " uploads/s")
            result["rehearsals"] = [scale_rehearsals.rehearse_at(project_root, rate, say)
                                    for rate in scale_rehearsals.RATES]
            scale_changeover.save(project_root, result)
        say("\n".join(scale_changeover.render_one(result)))
    if passes:
        say("==> delta passes against rclone and s5cmd at 100,000 and 1,000,000 files")
        run_passes(project_root, trees="100k,1m", command=command, say=say)
    minutes = (time.monotonic() - started) / 60
    return scale_changeover.finish(project_root, command, minutes, passes)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="the change-over's tree sizes (default 100k,1m)")
    parser.add_argument("--no-passes", action="store_true", help="leave the delta passes' bench out")
    parser.add_argument("--no-rehearsals", action="store_true", help="leave the rehearsals at 100k out")
    args = parser.parse_args(argv)
    command = "python -m bench.scale" + (f" --sizes {args.sizes}" if args.sizes != "100k,1m" else "") \
        + (" --no-passes" if args.no_passes else "") + (" --no-rehearsals" if args.no_rehearsals else "")
    print(f"results: {run_scale(ROOT, args.sizes, not args.no_passes, command=command, rehearsals=not args.no_rehearsals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
