"""One lock per environment, held on its media host: an atomic `mkdir` plus a details file.

Two cutovers, or a cutover and a rollback, cannot interleave.  A lock left by
a dead run is reported with its details; only ``--break-lock`` removes it.
"""

from __future__ import annotations

import json

from fabric import Connection

from ..config.paths import shell_path
from ..config.types import Settings
from ..errors import LockError
from ..remote.ssh import run, run_with_input


def lock_path(settings: Settings) -> str:
    return f"{settings.tools_dir.rstrip('/')}/locks/{settings.env}.lock"


def read_lock(connection: Connection, settings: Settings) -> dict | None:
    """The holder's details, or None when the environment is not locked."""
    path = shell_path(lock_path(settings))
    output = run(connection, f"if [ -d {path} ]; then cat {path}/details.json 2>/dev/null || echo '{{}}'; fi",
                 "reading the lock")
    return json.loads(output) if output.strip() else None


def describe(details: dict) -> str:
    if not details:
        return "a lock without details (a run died while taking it)"
    return (f"{details.get('kind', 'run')} {details.get('run_id', '?')} by {details.get('owner', '?')} "
            f"since {details.get('since', '?')} (pid {details.get('pid', '?')})")


def take_lock(connection: Connection, settings: Settings, details: dict, break_lock: bool = False) -> None:
    path = shell_path(lock_path(settings))
    if break_lock:
        release_lock(connection, settings, run_id=None)
    command = (f"mkdir -p {shell_path(lock_path(settings).rsplit('/', 1)[0])} && mkdir {path} 2>/dev/null "
               f"&& cat > {path}/details.json")
    try:
        run_with_input(connection, command, json.dumps(details).encode(), "taking the lock")
    except Exception:
        holder = read_lock(connection, settings)
        if holder is None:
            raise
        raise LockError(f"{settings.media_host}: environment {settings.env!r} is locked by {describe(holder)} "
                        f"at {lock_path(settings)}; if that run is dead, re-run with --break-lock") from None


def release_lock(connection: Connection, settings: Settings, run_id: str | None) -> None:
    """Remove the lock if ``run_id`` holds it (any holder when run_id is None)."""
    holder = read_lock(connection, settings)
    if holder is None or (run_id is not None and holder.get("run_id") != run_id):
        return
    path = shell_path(lock_path(settings))
    run(connection, f"rm -f {path}/details.json && rmdir {path}", "releasing the lock")
