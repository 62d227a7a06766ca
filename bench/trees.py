"""The media trees the benchmark uploads: generated on the media host, with a fixed seed, kept."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fabric import Connection

from deploy.config.paths import shell_path
from deploy.remote.ssh import put_script, run

from .host import BENCH_HOME, TREES_DIR

REMOTE_SCRIPTS = Path(__file__).parent / "remote"   # put_script uploads make_tree.py to ~/bench-tools/lib/
MAKE_TREE = "make_tree.py"
SEED = 20240611
DELTA_PERCENT = 1.0


@dataclass(frozen=True)
class Shape:
    """A tree: ``files`` files of the kind's sizes (photos 16-64 KB, thumbs 5-20 KB)."""

    kind: str            # "photos", "thumbs" or "small" (see remote/make_tree.py)
    files: int
    seed: int = SEED

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.files}"

    @property
    def directory(self) -> str:
        return f"{TREES_DIR}/{self.kind}-{self.files}-s{self.seed}"

    @property
    def delta_directory(self) -> str:
        """The same tree plus 1 % new files (hard links to the old ones)."""
        return f"{self.directory}-plus{DELTA_PERCENT:g}pct"


@dataclass(frozen=True)
class Tree:
    shape: Shape
    files: int
    bytes: int
    delta_files: int
    delta_bytes: int

    @property
    def label(self) -> str:
        return f"{self.shape.kind}: {self.files:,} files, {self.bytes / 1e6:.0f} MB"


DEFAULT_SHAPES = (Shape("photos", 4000), Shape("thumbs", 20000))
QUICK_SHAPES = (Shape("photos", 400), Shape("thumbs", 1000))
# The delta passes at scale (bench/passes.py): 1-4 KB files, a directory a day, no delta twin.
PASS_SHAPES = {"100k": Shape("small", 100_000), "1m": Shape("small", 1_000_000)}
QUICK_PASS_SHAPES = {"2k": Shape("small", 2_000)}


def ensure_base_tree(connection: Connection, shape: Shape, remote_python: str) -> tuple[int, int, float]:
    """Make the tree (no twin) on the host unless it is there: (files, bytes, seconds this call took)."""
    script = shell_path(put_script(connection, BENCH_HOME, MAKE_TREE, REMOTE_SCRIPTS))
    common = f"--shape {shape.kind} --files {shape.files} --seed {shape.seed}"
    begin = time.monotonic()
    base = run(connection, f"{shell_path(remote_python)} {script} {common} {shell_path(shape.directory)}",
               f"making {shape.directory}", timeout=3600)
    files, size = (int(value) for value in base.split())
    return files, size, time.monotonic() - begin


def ensure_tree(connection: Connection, shape: Shape, remote_python: str) -> Tree:
    """Make the tree and its delta twin on the host unless they are there; count them."""
    script = shell_path(put_script(connection, BENCH_HOME, MAKE_TREE, REMOTE_SCRIPTS))
    python = shell_path(remote_python)
    common = f"--shape {shape.kind} --files {shape.files} --seed {shape.seed}"
    base = run(connection, f"{python} {script} {common} {shell_path(shape.directory)}",
               f"making {shape.directory}", timeout=1800)
    delta = run(connection, f"{python} {script} {common} --extra-percent {DELTA_PERCENT:g} "
                            f"--base {shell_path(shape.directory)} {shell_path(shape.delta_directory)}",
                f"making {shape.delta_directory}", timeout=1800)
    files, size = (int(value) for value in base.split())
    delta_files, delta_size = (int(value) for value in delta.split())
    return Tree(shape, files, size, delta_files, delta_size)
