"""A host's settings file: read it, flip USE_S3 atomically with a backup, put it back.

The edit itself is pure (settings_file.py); the write happens on the host by
deploy/remote/scripts/write_settings.py: compile check, backup, temp file, fsync, rename.
"""

from __future__ import annotations

import hashlib
import json
import posixpath

from fabric import Connection

from ..config.paths import sftp_path, shell_path
from ..config.types import HostSettings
from ..engine.run import Run
from ..errors import RemoteError, SettingsFileError
from ..remote.ssh import put_script, read_file, run, run_with_input
from .commands import manage_command
from .settings_file import UseS3Assignment, backup_name, disk_settings, find_use_s3, set_use_s3, settings_diff


def read_settings(connection: Connection, host: HostSettings) -> tuple[bytes, UseS3Assignment]:
    """The host's settings file and its one USE_S3 assignment: the only reader of USE_S3 on a host.

    SettingsFileError when the file is not UTF-8 or has not exactly one literal USE_S3.
    """
    data = read_file(connection, host.settings_path)
    return data, find_use_s3(_decode(data, host.alias, host.settings_path), f"{host.alias}:{host.settings_path}")


def planned_change(run_: Run, alias: str, use_s3: bool) -> tuple[bytes, bytes]:
    """(current, new) bytes of the host's settings file for USE_S3 = use_s3."""
    host = run_.settings.host(alias)
    current = read_file(run_.connection(alias), host.settings_path)
    if current != run_.hosts[alias].original:
        raise SettingsFileError(f"{alias}: {host.settings_path} changed since preflight read it; re-run")
    source = _decode(current, alias, host.settings_path)
    return current, set_use_s3(source, f"{alias}:{host.settings_path}", use_s3).encode("utf-8")


def diff(run_: Run, alias: str, use_s3: bool) -> str:
    host = run_.settings.host(alias)
    current, new = planned_change(run_, alias, use_s3)
    return settings_diff(current.decode("utf-8"), new.decode("utf-8"), f"{alias}:{host.settings_path}")


def write_command(run_: Run, alias: str, script: str, current: bytes) -> str:
    host = run_.settings.host(alias)
    backup = backup_name(host.settings_path, run_.run_id)
    return (f"{shell_path(run_.settings.remote_python)} {shell_path(script)} {shell_path(host.settings_path)} "
            f"{hashlib.sha256(current).hexdigest()} {shell_path(backup)}")


def flip(run_: Run, alias: str, use_s3: bool = True) -> str:
    """Set USE_S3 on one host; returns what was done."""
    host = run_.settings.host(alias)
    current, new = planned_change(run_, alias, use_s3)
    if new == current:
        return f"{alias}: USE_S3 is already {use_s3}, left alone"
    backup = write(run_, alias, current, new)
    return f"{alias}: USE_S3 = {use_s3} in {host.settings_path} (backup {posixpath.basename(backup)})"


def preview_flip(run_: Run, alias: str) -> str:
    return diff(run_, alias, use_s3=True) or f"{alias}: already USE_S3 = True"


def to_disk(run_: Run, alias: str) -> str:
    """Rollback: the cutover's backup if it is the file as it was, else the minimal USE_S3 = False edit."""
    host = run_.settings.host(alias)
    current = read_file(run_.connection(alias), host.settings_path)
    if current != run_.hosts[alias].original:
        raise SettingsFileError(f"{alias}: {host.settings_path} changed since preflight read it; re-run")
    source = _decode(current, alias, host.settings_path)
    new, how = disk_settings(source, f"{alias}:{host.settings_path}", list_backups(run_, alias))
    if new == source:
        return f"{alias}: already on disk (USE_S3 = False), left alone"
    write(run_, alias, current, new.encode("utf-8"))
    return f"{alias}: {how}"


def preview_to_disk(run_: Run, alias: str) -> str:
    host = run_.settings.host(alias)
    current = run_.hosts[alias].original
    source = _decode(current, alias, host.settings_path)
    new, how = disk_settings(source, f"{alias}:{host.settings_path}", list_backups(run_, alias))
    if new == source:
        return f"{alias}: already on disk (USE_S3 = False), left alone"
    return f"{alias}: would be {how}\n" + settings_diff(source, new, f"{alias}:{host.settings_path}")


def list_backups(run_: Run, alias: str) -> list[tuple[str, str]]:
    """(name, source) of the cutover backups beside the host's settings file."""
    host = run_.settings.host(alias)
    directory, name = posixpath.split(sftp_path(host.settings_path))
    sftp = run_.connection(alias).sftp()
    found = []
    for entry in sftp.listdir(directory or "."):
        if entry.startswith(name + ".media-cutover-") and entry.endswith(".bak"):
            data = read_file(run_.connection(alias), posixpath.join(posixpath.dirname(host.settings_path), entry))
            found.append((entry, data.decode("utf-8", "replace")))
    return found


def write(run_: Run, alias: str, current: bytes, new: bytes) -> str:
    """Atomically replace the host's settings file (expected to hold ``current``); returns the backup path."""
    facts, host = run_.hosts[alias], run_.settings.host(alias)
    connection = run_.connection(alias)
    script = put_script(connection, run_.settings.tools_dir, "write_settings.py")
    # From here on the file may change: the undo must look, even if the write fails.
    facts.backup_path = backup_name(host.settings_path, run_.run_id)
    facts.settings_written = True
    result = json.loads(run_with_input(connection, write_command(run_, alias, script, current), new,
                                       f"writing {host.settings_path}"))
    return result.get("backup") or facts.backup_path


def restore(run_: Run, alias: str) -> str | None:
    """Put the preflight bytes back if this run changed them; idempotent."""
    facts, host = run_.hosts[alias], run_.settings.host(alias)
    if not facts.settings_written:
        return None
    connection = run_.connection(alias)
    if read_file(connection, host.settings_path) == facts.original:
        facts.settings_written = False
        return f"{alias}: settings already as before"
    script = put_script(connection, run_.settings.tools_dir, "write_settings.py")
    run(connection, f"{shell_path(run_.settings.remote_python)} {shell_path(script)} --restore "
        f"{shell_path(facts.backup_path)} {shell_path(host.settings_path)}", f"restoring {host.settings_path}")
    if read_file(connection, host.settings_path) != facts.original:
        raise RemoteError(f"{alias}: {host.settings_path} differs from before the run after the restore; "
                          f"its backup is {facts.backup_path}")
    facts.settings_written = False
    return f"{alias}: settings restored byte-identical from {posixpath.basename(facts.backup_path)}"


def manage_check(run_: Run, alias: str) -> str | None:
    """`manage.py check` with the settings now on disk, before any reload loads them."""
    host = run_.settings.host(alias)
    if not host.manage_py:
        return None
    run(run_.connection(alias), manage_command(host, "check"), "`manage.py check` of the new settings", timeout=120)
    return f"{alias}: manage.py check passed"


def _decode(data: bytes, alias: str, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsFileError(f"{alias}: {path} is not UTF-8; save it as UTF-8 so it can be edited safely") \
            from None
