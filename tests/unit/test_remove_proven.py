"""The removal script reclaim runs on the media host (deploy/remote/scripts/remove_proven.py), run as it runs there.

Real subprocesses against trees under tmp_path: exactly the proven files go, nothing that changed since
the proof, nothing outside MEDIA_ROOT, symlinks unlinked and never followed.
"""

import json
import os

from .remote_scripts import REMOTE, run

SCRIPT = REMOTE / "remove_proven.py"


def seen(root, path):
    """The proof's snapshot of one file: what media_manifest.py --stat reports (the followed file)."""
    st = os.stat(root / path)
    return {"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def remove(root, entries, **kwargs):
    result = run(SCRIPT, root, stdin="".join(json.dumps(entry) + "\n" for entry in entries).encode(), **kwargs)
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    return result, {line["path"]: line.get("kept") for line in lines if "path" in line}, lines[-1:]


def make(root, path, data=b"x"):
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def test_exactly_the_proven_files_go_and_the_directories_they_leave_empty(tmp_path):
    root = tmp_path / "media"
    for path in ("a/b/one.jpg", "a/b/two.jpg", "a/three.jpg", "c/four.jpg", "top.jpg"):
        make(root, path)
    proven = [seen(root, path) for path in ("a/b/one.jpg", "a/b/two.jpg", "a/three.jpg", "top.jpg")]
    result, outcome, last = remove(root, proven)
    assert result.returncode == 0, result.stderr
    assert outcome == {"a/b/one.jpg": None, "a/b/two.jpg": None, "a/three.jpg": None, "top.jpg": None}
    assert last == [{"directories": 2}]   # a/b, then a; c keeps its file, MEDIA_ROOT stays
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == ["c", "c/four.jpg"]


def test_a_file_changed_since_the_proof_stays(tmp_path):
    root = tmp_path / "media"
    for path in ("grown.jpg", "touched.jpg", "replaced.jpg", "gone.jpg"):
        make(root, path, b"12345")
    proven = [seen(root, path) for path in ("grown.jpg", "touched.jpg", "replaced.jpg", "gone.jpg")]
    (root / "grown.jpg").write_bytes(b"123456")
    os.utime(root / "touched.jpg", ns=(1, 1))
    (root / "replaced.jpg").rename(root / "old")
    make(root, "replaced.jpg", b"12345")
    os.utime(root / "replaced.jpg", ns=(proven[2]["mtime_ns"], proven[2]["mtime_ns"]))
    (root / "gone.jpg").unlink()
    result, outcome, _ = remove(root, proven)
    assert result.returncode == 0
    assert outcome["grown.jpg"] == outcome["touched.jpg"] == outcome["replaced.jpg"] == \
        "changed on disk since the proof (size, mtime or inode)"
    assert outcome["gone.jpg"] == "gone from disk since the proof"
    assert {p.name for p in root.iterdir()} == {"grown.jpg", "touched.jpg", "replaced.jpg", "old"}


def test_a_symlink_is_unlinked_its_target_outside_stays_and_a_symlinked_directory_is_not_gone_through(tmp_path):
    root, outside = tmp_path / "media", tmp_path / "elsewhere"
    target = make(outside, "target.jpg", b"kept")
    make(outside, "dir/inner.jpg", b"kept too")
    root.mkdir()
    (root / "link.jpg").symlink_to(target)
    (root / "linked-dir").symlink_to(outside / "dir")
    proven = [seen(root, "link.jpg"), seen(root, "linked-dir/inner.jpg")]
    result, outcome, _ = remove(root, proven)
    assert result.returncode == 0
    assert outcome == {"link.jpg": None,
                       "linked-dir/inner.jpg": "under a symlinked directory: not removed through the link"}
    assert not os.path.lexists(root / "link.jpg")
    assert target.read_bytes() == b"kept" and (outside / "dir/inner.jpg").read_bytes() == b"kept too"


def test_paths_that_are_not_plainly_below_media_root_are_kept(tmp_path):
    root, outside = tmp_path / "media", tmp_path / "outside.jpg"
    root.mkdir()
    outside.write_bytes(b"x")
    entries = [dict(seen(tmp_path, "outside.jpg"), path=path)
               for path in ("../outside.jpg", str(outside), "a/../../outside.jpg", "./x", "")]
    result, outcome, _ = remove(root, entries)
    assert result.returncode == 0
    assert set(outcome.values()) == {"not a plain path below MEDIA_ROOT"}
    assert outside.read_bytes() == b"x"


def test_media_root_at_home_or_at_the_root_is_refused_outright(tmp_path):
    home = tmp_path / "home"
    make(home, "precious.jpg")
    proven = [seen(home, "precious.jpg")]
    result, outcome, _ = remove(home, proven, env={**os.environ, "HOME": str(home)})
    assert result.returncode == 2 and outcome == {}
    assert b"resolves to" in result.stderr and (home / "precious.jpg").exists()
    result = run(SCRIPT, "/", stdin=b"")
    assert result.returncode == 2 and b"refusing to remove anything" in result.stderr
    result = run(SCRIPT, tmp_path / "missing", stdin=b"")
    assert result.returncode == 2 and b"is not a directory" in result.stderr


def test_check_only_says_whether_media_root_would_be_refused(tmp_path):
    make(tmp_path / "media", "a.jpg")
    assert run(SCRIPT, "--check", tmp_path / "media", stdin=b"").returncode == 0
    home = run(SCRIPT, "--check", tmp_path, stdin=b"", env={**os.environ, "HOME": str(tmp_path)})
    assert home.returncode == 2 and b"refusing to remove anything" in home.stderr
    assert (tmp_path / "media" / "a.jpg").exists()


def test_a_symlink_to_a_proven_file_goes_with_it_whichever_comes_first(tmp_path):
    root = tmp_path / "media"
    make(root, "a/target.jpg", b"photo")
    (root / "z").mkdir()
    (root / "z/link.jpg").symlink_to("../a/target.jpg")
    proven = [seen(root, "a/target.jpg"), seen(root, "z/link.jpg")]
    result, outcome, last = remove(root, proven)
    assert result.returncode == 0
    assert outcome == {"a/target.jpg": None, "z/link.jpg": None}
    assert last == [{"directories": 2}] and list(root.iterdir()) == []
