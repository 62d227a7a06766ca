"""The bulk upload through a store that stumbles, beside the same upload through the same proxy without faults.

    python -m bench.faults_bench [--runs 3] [--files 4000] [--faults 503:0.05,reset:0.03] [--quick]
    invoke bench --faults

(It needs the sandbox up: `invoke sandbox.up`; the sandbox's own fault proxy need not run.)  Each round
uploads the same tree (bench/trees.py, on the media host, kept in ~/bench-trees) three times, in an order
that turns, each into a fresh bench-faults-* prefix, with ``deploy.sync.on_host.upload_media`` as the
cutover calls it (the policy's flags, the failed files sent again): straight to the store, through a fault
proxy of this process (``deploy.sandbox.fault_proxy``, on a free loopback port) without faults, and through
one at ``--faults``.  The target: the faulty upload takes at most 1.3x the fault-free one through the same
proxy (the proxy's own cost is the difference between those two and the direct one, shown too).  Every
prefix must hold the whole tree afterwards; the prefixes are deleted at the end.  The table goes into the
"Store faults" section of bench/RESULTS.md (the rest of the file is left as it is).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from deploy.config.load import load_settings
from deploy.errors import MediaCutoverError
from deploy.remote.ssh import connect
from deploy.retry import FaultTally, kinds_said
from deploy.sandbox import admin_settings
from deploy.sandbox.fault_proxy import FaultProxy, parse_faults, Faults
from deploy.sandbox.layout import WEED_PORTS, Layout
from deploy.store.client import s3_client
from deploy.sync.install import install_sync_tool
from deploy.sync.on_host import upload_media

from .prefixes import count_prefix, delete_prefix
from .trees import Shape, ensure_tree

TARGET = 1.3
SECTION = "## Store faults"
DEFAULT_FAULTS = "503:0.05,reset:0.03"


def run_faults_bench(project_root: Path, *, runs: int = 3, files: int = 4000, faults: str = DEFAULT_FAULTS,
                     say: Callable[[str], None] = print, command: str = "python -m bench.faults_bench") -> Path:
    """Measure, write the section into bench/RESULTS.md, return its path."""
    project_root = project_root.resolve()
    settings = admin_settings(Layout(project_root), load_settings("sandbox", project_root))  # bench-* prefixes
    rates, started = parse_faults(faults), time.monotonic()
    seconds: dict[str, list[float]] = {"direct": [], "proxy, no faults": [], f"proxy, {rates.text()}": []}
    retried, injected, problems, created = FaultTally(), {}, [], []
    store = ("127.0.0.1", WEED_PORTS["s3.port"])
    with connect(settings, settings.media_host) as connection, \
            FaultProxy(store, Faults(), seed=11, lifetime=6 * 3600) as clean, \
            FaultProxy(store, rates, seed=11, lifetime=6 * 3600) as faulty:
        tree = ensure_tree(connection, Shape("photos", files), settings.remote_python)
        say(f"==> {tree.label}; the sync tool")
        install_sync_tool(connection, settings)
        endpoints = dict(zip(seconds, (settings.endpoint_url, f"http://127.0.0.1:{clean.port}",
                                       f"http://127.0.0.1:{faulty.port}")))
        try:
            for number in range(runs):
                order = list(seconds)[number % 3:] + list(seconds)[:number % 3]
                say(f"==> round {number + 1} of {runs}")
                for way in order:
                    prefix = f"bench-faults-{secrets.token_hex(3)}"
                    created.append(prefix)
                    begin = time.monotonic()
                    upload_media(connection, replace(settings, media_root=tree.shape.directory, media_prefix=prefix,
                                                     endpoint_url=endpoints[way]), faults=retried)
                    seconds[way].append(time.monotonic() - begin)
                    count = count_prefix(s3_client(settings), settings.bucket, prefix)
                    if count != tree.files:
                        problems.append(f"round {number + 1}, {way}: {count:,} objects of {tree.files:,}")
                    say(f"    {way:28} {seconds[way][-1]:7.2f} s")
            injected = dict(faulty.counts)
        finally:
            for prefix in created:
                delete_prefix(settings, prefix)
    section = render(tree.label, rates, seconds, retried.take(), injected, problems, runs, command,
                     time.monotonic() - started)
    path = project_root / "bench" / "RESULTS.md"
    path.write_text(with_section(path.read_text() if path.exists() else "# Benchmark results\n", section))
    say(section)
    return path


def render(tree: str, rates: Faults, seconds: dict[str, list[float]], retried: dict, injected: dict,
           problems: list[str], runs: int, command: str, took: float) -> str:
    """The section: seconds per way, the ratio against the target, what was injected and retried."""
    medians = {way: statistics.median(values) for way, values in seconds.items() if values}
    clean, faulty = medians.get("proxy, no faults"), medians.get(f"proxy, {rates.text()}")
    ratio = faulty / clean if clean and faulty else None
    verdict = "met" if ratio is not None and ratio <= TARGET and not problems else "MISSED"
    lines = [SECTION, "", f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in "
             f"{took / 60:.1f} minutes, {runs} rounds; load average before: {os.getloadavg()[0]:.1f}.", "",
             f"The bulk upload of {tree} (`deploy.sync.on_host.upload_media`, as the cutover runs it) straight to "
             f"the store, through the fault proxy without faults, and through it at {rates.text()} (a 503 "
             "SlowDown with S3's XML body, or a reset after the answer's headers and half its body); seconds, "
             "median (min-max), each round into a fresh prefix, in an order that turns.", "",
             "| upload | seconds | ÷ proxy, no faults |", "| --- | --- | --- |"]
    for way, values in seconds.items():
        if values:
            lines.append(f"| {way} | {medians[way]:.2f} ({min(values):.2f}-{max(values):.2f}) | "
                         f"{medians[way] / clean:.2f}x |" if clean else f"| {way} | {medians[way]:.2f} | - |")
    lines += ["", f"Target: the upload at {rates.text()} in at most {TARGET}x the fault-free one through the same "
              f"proxy: **{verdict}** ({'-' if ratio is None else f'{ratio:.2f}x'}).", "",
              f"Injected by the proxy over all rounds: {kinds_said(injected) or 'nothing'} (of requests: "
              f"{injected.get('requests', 0)}); retried by the tool and counted: {kinds_said(retried) or 'nothing'} "
              "(rclone's own retries of a request are not in its output; the files it still failed and that were "
              "sent again are)."]
    if problems:
        lines += ["", "Problems seen: " + "; ".join(problems)]
    return "\n".join(lines) + "\n"


def with_section(text: str, section: str) -> str:
    """``text`` with its "## Store faults" section replaced by ``section`` (appended when it has none)."""
    start = text.find(SECTION + "\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(SECTION))
    return text[:start] + (section.rstrip("\n") + "\n\n" + text[end + 1:] if end >= 0 else section)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--files", type=int, default=4000, help="files in the photo tree (default 4000)")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help=f"the faulty proxy's rates (default {DEFAULT_FAULTS})")
    parser.add_argument("--quick", action="store_true", help="400 files, one round")
    args = parser.parse_args(argv)
    command = "python -m bench.faults_bench" + (" " + " ".join(argv) if argv else "")
    try:
        path = run_faults_bench(Path(__file__).resolve().parent.parent, runs=1 if args.quick else args.runs,
                                files=400 if args.quick else args.files, faults=args.faults,
                                say=lambda line: print(line, flush=True), command=command)
    except MediaCutoverError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
