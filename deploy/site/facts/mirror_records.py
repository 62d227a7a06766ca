"""The mirror storage's records of failed writes to its second storage: taken from a host, read, told.

Pure.  ``media_mirror.MirrorStorage`` appends one JSON line a failure to its failures file on the host
it runs on (MIRROR_FAILURES).  A run that verifies a storage takes the file first (renamed aside under
the run's id, so that a failure recorded meanwhile goes to a new file the next run takes, and none is
lost between the reading and the renaming), then compares the whole tree with the whole bucket, which
copies every file a failed write missed; the records say which those were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...config.paths import shell_path

MARKER = "media-cutover-mirror-record "


@dataclass(frozen=True)
class MirrorFailure:
    host: str
    name: str          # the file's name in the storages (below MEDIA_ROOT, below AWS_LOCATION)
    operation: str     # "save" or "delete"
    secondary: str     # the class of the storage the write failed on
    error: str
    time: float


def take_command(path: str, run_id: str) -> str:
    """Rename the host's record aside (``<path>.taken-<run id>``, kept) and print every line of it."""
    quoted = shell_path(path)
    return (f"f={quoted}; t=\"$f.taken-{run_id}\"; if [ -e \"$f\" ]; then mv -- \"$f\" \"$t\" && "
            f"sed 's/^/{MARKER}/' -- \"$t\"; fi; true")


def parse(output: str, host: str) -> tuple[list[MirrorFailure], int]:
    """The records a take printed, and how many lines could not be read (a torn last line)."""
    found, unreadable = [], 0
    for line in output.splitlines():
        if not line.startswith(MARKER):
            continue
        try:
            data = json.loads(line[len(MARKER):])
            found.append(MirrorFailure(host, str(data["name"]), str(data.get("operation", "save")),
                                       str(data.get("secondary", "?")), str(data.get("error", ""))[:200],
                                       float(data.get("time", 0))))
        except (ValueError, KeyError, TypeError):
            unreadable += 1
    return found, unreadable


def summary(failures: list[MirrorFailure], unreadable: int, path: str) -> str:
    if not failures and not unreadable:
        return f"no failed write to the mirror's second storage recorded ({path} on every host)"
    by_storage: dict[str, int] = {}
    for failure in failures:
        by_storage[failure.secondary] = by_storage.get(failure.secondary, 0) + 1
    shown = ", ".join(f"{failure.host}: {failure.operation} {failure.name} ({failure.error[:80]})"
                      for failure in failures[:5]) + (f", and {len(failures) - 5} more" if len(failures) > 5 else "")
    kinds = ", ".join(f"{count} to {storage}" for storage, count in sorted(by_storage.items()))
    return (f"{len(failures)} failed writes to the mirror's second storage recorded ({kinds}): {shown}; "
            "the whole-tree comparison below copies every file they missed"
            + (f"; {unreadable} lines could not be read" if unreadable else "")
            + f" (the records are kept as {path}.taken-<run id>)")
