"""The manifest's delta list: only what changed since the previous pass started, and when this one did."""

import os
import time

from .remote_scripts import MANIFEST, run
from .test_media_manifest import make_file


def listed_since(root, since):
    result = run(MANIFEST, "--since", f"{since:.6f}", root)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("started: ")
    assert lines[-1] == f"listed: {len(result.stdout.splitlines())}"
    paths = [line.split(b"\t", 1)[1].decode() for line in result.stdout.splitlines()]
    return paths, float(lines[0].split(": ")[1]), lines[1:-1]


def test_only_files_changed_at_or_after_since_are_listed_and_the_walk_says_when_it_started(tmp_path):
    old, new = time.time() - 3600, time.time() - 5
    for name in ["a/old.jpg", "a/new.jpg", "b/old.png", "new top.txt"]:
        make_file(tmp_path / name, 3)
        stamp = new if "new" in name else old
        os.utime(tmp_path / name, (stamp, stamp))
    before = time.time()
    paths, started, problems = listed_since(tmp_path, time.time() + 60)
    assert paths == [] and before <= started <= time.time() and problems == []
    # ctime moved when the test wrote them: every file is "changed" since an hour ago
    paths, _, _ = listed_since(tmp_path, old - 1)
    assert paths == ["a/new.jpg", "a/old.jpg", "b/old.png", "new top.txt"]


def test_mtime_alone_counts_and_a_new_link_to_an_old_file_is_new(tmp_path):
    make_file(tmp_path / "outside" / "target.jpg", 4)
    root = tmp_path / "root"
    make_file(root / "plain.jpg", 1)
    since = time.time() + 1
    future = since + 5
    os.utime(root / "plain.jpg", (future, future))          # mtime in the future: changed "after" since
    assert listed_since(root, since)[0] == ["plain.jpg"]
    # File times come from a coarse kernel clock (a few ms behind time.time()): hence the margin.
    time.sleep(1.2)
    marker = time.time()
    os.symlink(tmp_path / "outside" / "target.jpg", root / "linked.jpg")
    paths, _, _ = listed_since(root, marker - 0.5)
    assert paths == ["linked.jpg", "plain.jpg"]           # the target itself is older than that


def test_since_and_before_together_are_a_usage_error(tmp_path):
    result = run(MANIFEST, "--since", "1", "--before", "2", tmp_path)
    assert result.returncode == 2 and b"--since EPOCH" in result.stderr
    assert run(MANIFEST, "--since", "yesterday", tmp_path).returncode == 2


def test_with_paths_the_list_is_bare_relative_paths_for_a_sync_tool(tmp_path):
    make_file(tmp_path / "a b" / "new\ttab.jpg", 2)
    make_file(tmp_path / "top.jpg", 1)
    result = run(MANIFEST, "--since", "1", "--paths", tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [b"a b/new\ttab.jpg", b"top.jpg"]  # in no order: no sort
    assert result.stderr.decode().splitlines()[-1] == "listed: 2"
    assert run(MANIFEST, "--paths", tmp_path).returncode == 2  # a list of paths only for a delta pass


def test_a_wide_tree_is_walked_by_forked_processes_and_every_changed_file_is_listed_once(tmp_path):
    names = [f"d{top}/e{sub}/f{number}.jpg" for top in range(12) for sub in range(6) for number in range(5)]
    for name in names:
        make_file(tmp_path / name, 1)
    (tmp_path / "d3" / "e1" / "loop").symlink_to(tmp_path / "d3")
    result = run(MANIFEST, "--since", "1", "--paths", tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.decode().splitlines()) == sorted(names)  # each once, none torn
    report = result.stderr.decode().splitlines()
    # d3/e1 is below the top the parent opens (the root, then d0): a child found the loop
    assert "symlink loop: d3/e1/loop" in report and report[-2:] == ["problems: 1", f"listed: {len(names)}"]

