"""The comparison alone, on synthetic listings of 1,000,000 entries a side.

``measure_compare`` runs ``python -m bench.compare_bench`` in a child process
of its own, which reports its wall time and its peak RSS (VmHWM); the CPU
seconds come from the child's rusage (``os.wait4``).  This module imports nothing but ``deploy.media.compare`` (no
Fabric, no boto3), so the RSS is the interpreter plus the comparison.

The synthetic sides are generators, never lists: the local side is manifest
lines (``size\\tpath``) through ``parse_manifest_lines`` as the cutover feeds
it, the bucket side ``Entry`` objects with ETags as ``deploy.store.listing.listing``
yields them; both in key order.  The bucket lacks a few keys, has a few extra
and a few of different size, so every branch of the merge-join runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from deploy.media.compare import Entry, compare, parse_manifest_lines

PREFIX = "media"
MISSING_EVERY = 199_999      # the bucket lacks every Nth key (5 of 1,000,000)
EXTRA_EVERY = 200_003        # ... holds an extra key after every Nth (5 of 1,000,000)
RESIZED_EVERY = 250_007      # ... and holds every Nth with another size (4 of 1,000,000)


# --- 1,000,000 entries --------------------------------------------------------------------

def _relpath(index: int) -> bytes:
    # Fixed width: numeric order is byte order and path order.  1,000 files a directory.
    return b"uploads/%04d/%03d/IMG_%07d.jpg" % (index // 100_000, index // 1_000 % 100, index)


def _size(index: int) -> int:
    return 20_000 + index * 7919 % 50_000


def local_lines(entries: int) -> Iterator[bytes]:
    """What media_manifest.py prints for ``entries`` files."""
    for index in range(entries):
        yield b"%d\t%s\n" % (_size(index), _relpath(index))


def bucket_listing(entries: int) -> Iterator[Entry]:
    """What deploy.store.listing.listing yields: as many keys, a few missing, extra or resized."""
    etag = '"0cc175b9c0f1b6a831c399e269772661"'
    produced = index = 0
    while produced < entries:
        key = f"{PREFIX}/{_relpath(index).decode()}"
        if index % MISSING_EVERY != MISSING_EVERY - 1:
            size = _size(index) + (1 if index % RESIZED_EVERY == RESIZED_EVERY - 1 else 0)
            yield Entry(key, size, etag)
            produced += 1
        if index % EXTRA_EVERY == EXTRA_EVERY - 1 and produced < entries:
            yield Entry(key + ".orig", 1, etag)   # right after its key, before the next: still in order
            produced += 1
        index += 1


def measure_child(entries: int, order: str) -> dict:
    """In this process: compare the synthetic sides, then drain them alone (the inputs' own cost)."""
    begin = time.perf_counter()
    report = compare(parse_manifest_lines(local_lines(entries), PREFIX), bucket_listing(entries), order=order)
    seconds = time.perf_counter() - begin
    begin = time.perf_counter()
    drained = sum(1 for _ in parse_manifest_lines(local_lines(entries), PREFIX)) + \
        sum(1 for _ in bucket_listing(entries))
    inputs = time.perf_counter() - begin
    return {"entries": entries, "order": order, "seconds": seconds, "inputs_seconds": inputs,
            "local": report.local_count, "remote": report.remote_count, "matched": report.matched,
            "missing": report.missing.count, "extra": report.extra.count,
            "size_mismatch": report.size_mismatch.count, "drained": drained, "ok": report.ok,
            "peak_rss_kib": peak_rss_kib()}


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM), in KiB.

    Not the parent's ``ru_maxrss`` of the child: on Linux that also counts the
    parent's own resident set at the fork (the exec keeps the old high-water
    mark), about 100 MB of Fabric and boto3 here.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure_compare(project_root: Path, entries: int, order: str = "bytes") -> dict:
    """Run ``measure_child`` in a fresh interpreter; its wall time, peak RSS (MB) and CPU seconds."""
    child = subprocess.Popen([sys.executable, "-m", "bench.compare_bench", "--entries", str(entries),
                              "--order", order], cwd=project_root, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"the compare benchmark exited {child.returncode}")
    result = json.loads(output)
    result["peak_rss_mb"] = result["peak_rss_kib"] / 1024
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Time deploy.media.compare.compare on synthetic listings "
                                                 "(prints JSON; bench.run runs it in a child process).")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--order", choices=("bytes", "path"), default="bytes")
    args = parser.parse_args(argv)
    print(json.dumps(measure_child(args.entries, args.order)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
