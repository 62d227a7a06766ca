"""Remove exactly the files reclaim proved are in the bucket, and nothing else (stdlib only).

Run on the media host as ``python3 remove_proven.py MEDIA_ROOT`` with the proven list on stdin
(``python3 remove_proven.py --check MEDIA_ROOT`` only says whether MEDIA_ROOT would be refused),
one JSON object a line: ``{"path": "a/b.jpg", "size": 12, "mtime_ns": 1, "inode": 7}`` (the
path relative to MEDIA_ROOT; size, mtime and inode as the proof's snapshot saw the file).

A file goes only when all of these hold, else it is kept and the line says why:

- its path is a plain relative path below MEDIA_ROOT (no ``..``, no absolute path);
- no directory between MEDIA_ROOT and it is a symlink (its real parent is the one the path names:
  a link to elsewhere must not make us delete there);
- it is still what the proof saw: the same size, mtime and inode (followed through a symlinked file,
  as the sync tool read it); anything written since stays;
- it is a regular file or a symlink: a symlink is unlinked, never followed (its target stays).

Then every directory this left empty is removed, deepest first, up to but never MEDIA_ROOT.

Stdout gets one JSON line per input line, ``{"path": P, "removed": true}`` or
``{"path": P, "kept": "why"}``, then ``{"directories": N}``.  Exit 0 when it ran (even with files
kept); 2 when MEDIA_ROOT is missing, not a directory, or is ``/`` or the home directory
(refused outright: nothing is removed).
"""

import heapq
import json
import os
import stat
import sys

EXIT_USAGE = 2


def refusal(root):
    """Why MEDIA_ROOT must not be worked on, or None."""
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        return "MEDIA_ROOT %s is not a directory" % root
    if real == "/" or real == os.path.realpath(os.path.expanduser("~")):
        return "MEDIA_ROOT %s resolves to %s: refusing to remove anything there" % (root, real)
    return None


def plain_relative(path):
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and all(part not in ("", ".", "..") for part in parts)


def why_kept(root_real, entry, real_parents=None):
    """None when this proven file may go, else why it stays; ``real_parents`` caches each directory's answer
    (a realpath walks every component: once a directory, not once a file)."""
    path = entry.get("path")
    if not isinstance(path, str) or not plain_relative(path):
        return "not a plain path below MEDIA_ROOT"
    full = os.path.join(root_real, path)
    parent = os.path.dirname(full)
    cache = {} if real_parents is None else real_parents
    if parent not in cache:
        cache[parent] = os.path.realpath(parent) == parent
    if not cache[parent]:
        return "under a symlinked directory: not removed through the link"
    try:
        now = os.stat(full)
        link = os.lstat(full)
    except FileNotFoundError:
        return "gone from disk since the proof"
    except OSError as exc:
        return "cannot be read: %s" % (exc.strerror or exc)
    if not (stat.S_ISREG(link.st_mode) or stat.S_ISLNK(link.st_mode)):
        return "not a regular file or a symlink"
    seen = (entry.get("size"), entry.get("mtime_ns"), entry.get("inode"))
    if (now.st_size, now.st_mtime_ns, now.st_ino) != seen:
        return "changed on disk since the proof (size, mtime or inode)"
    return None


def unlink(root_real, entry):
    """Remove the file (a symlink itself, never its target); None, or why it could not be."""
    try:
        os.unlink(os.path.join(root_real, entry["path"]))
    except OSError as exc:
        return "cannot be removed: %s" % (exc.strerror or exc)
    return None


def remove_empty_directories(root_real, directories):
    """Remove the directories that removing files left empty, deepest first; MEDIA_ROOT stays."""
    removed = 0
    queued = set(directories)
    deepest = [(-name.count("/"), name) for name in queued]   # a heap: a parent is taken after its children
    heapq.heapify(deepest)
    while deepest:
        _, directory = heapq.heappop(deepest)
        if directory == root_real or not directory.startswith(root_real + "/"):
            continue
        try:
            os.rmdir(directory)  # fails unless empty: whatever else is there keeps it
        except OSError:
            continue
        removed += 1
        parent = os.path.dirname(directory)
        if parent not in queued:
            queued.add(parent)
            heapq.heappush(deepest, (-parent.count("/"), parent))
    return removed


def main(argv, lines, out):
    check_only = argv[:1] == ["--check"]
    argv = argv[1:] if check_only else argv
    if len(argv) != 1:
        sys.stderr.write("usage: remove_proven.py [--check] MEDIA_ROOT < proven.jsonl\n")
        return EXIT_USAGE
    root = os.path.expanduser(argv[0])
    refused = refusal(root)
    if refused:
        sys.stderr.write(refused + "\n")
        return EXIT_USAGE
    if check_only:
        return 0
    root_real = os.path.realpath(root)
    entries = [json.loads(line) for line in lines if line.strip()]
    # Every file is checked before any goes: a symlink whose target is proven too is still seen whole.
    real_parents = {}
    verdicts = [why_kept(root_real, entry, real_parents) for entry in entries]
    touched = set()
    for entry, kept in zip(entries, verdicts):
        if kept is None:
            kept = unlink(root_real, entry)
        if kept is None:
            touched.add(os.path.dirname(os.path.join(root_real, entry["path"])))
            out.write(json.dumps({"path": entry["path"], "removed": True}) + "\n")
        else:
            out.write(json.dumps({"path": entry.get("path"), "kept": kept}) + "\n")
    out.write(json.dumps({"directories": remove_empty_directories(root_real, touched)}) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.stdin, sys.stdout))
