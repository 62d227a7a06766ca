"""A host's settings file: read its switch, flip it atomically with a backup, put it back.

The file is a Python settings file or an env file (``HostSettings.switch_format``);
the edit itself is pure and format-aware (``deploy.site.edits.switch``, over ``edits.settings_file``
and ``edits.env_file``); the write happens on the host by
deploy/remote/scripts/write_settings.py: compile check (Python only), backup with
the file's mode, temp file, fsync, rename.  What the preflight read from a host's file and what
the run wrote is its ``HostFacts`` (``deploy.site.host_facts``), handed in by the flow.
"""

from __future__ import annotations

import hashlib
import json
import posixpath

from fabric import Connection

from ...config.paths import sftp_path, shell_path
from ...config.types import HostSettings, Settings
from ...engine.run import Run
from ...errors import PreflightError, RemoteError, SettingsFileError, SwitchMissing
from ...remote.ssh import put_script, read_file, run, run_with_input
from ..edits import switch as switch_text
from ..edits.settings_file import backup_name
from ..edits.switch import Found, Switch
from ..host_facts import HostFacts


def read_settings(connection: Connection, settings: Settings, host: HostSettings) -> tuple[bytes, Found]:
    """The host's settings file and its one switch assignment: the only reader of the switch on a host.

    SettingsFileError when the file is not UTF-8 or has not exactly one readable switch.
    """
    data = read_file(connection, host.settings_path)
    found = switch_text.find(_decode(data, host.alias, host.settings_path), _where(host), Switch.of(settings, host))
    read_mirror(settings, host, data)  # a mirror's switch the edit could not flip safely is refused here too
    return data, found


def describe(settings: Settings, host: HostSettings, found: Found) -> str:
    """How a host's switch is shown everywhere: ``USE_S3=false (env file)``, ``USE_S3 = True (Python file)``."""
    return switch_text.state(Switch.of(settings, host), found)


def state_before(run_: Run, alias: str, facts: HostFacts) -> str:
    """The host's switch as preflight read it, shown with its file's format (see :func:`describe`);
    and the mirror's switch, where the file has one."""
    host = run_.settings.host(alias)
    source = _decode(facts.original, alias, host.settings_path)
    switch = _switch(run_, alias)
    found = switch_text.find(source, _where(host), switch)
    if facts.original_mirror is None:
        return describe(run_.settings, host, found)
    mirror = mirror_switch(run_.settings, host)
    mirrored = switch_text.find(source, _where(host), mirror)
    return (f"{switch_text.spelled(switch, found.value, found.spelling)}, "
            f"{switch_text.spelled(mirror, mirrored.value, mirrored.spelling)} ({switch.kind})")


# --- the mirror's switch (CHANGEOVER=mirror): the same minimal, atomic, backed-up edit -----------------

def mirror_switch(settings: Settings, host: HostSettings) -> Switch:
    return Switch(settings.mirror_switch_name, host.switch_format)


def read_mirror(settings: Settings, host: HostSettings, data: bytes) -> bool | None:
    """The mirror's switch in the file as read: its value, or None when the file has none (no mirror)."""
    try:
        return switch_text.find(_decode(data, host.alias, host.settings_path), _where(host),
                                mirror_switch(settings, host)).value
    except SwitchMissing:
        return None


def set_mirror(run_: Run, alias: str, facts: HostFacts, on: bool) -> str:
    """The mirror's switch on one host set to ``on`` (nothing else in the file changes); what was done."""
    host, switch = run_.settings.host(alias), mirror_switch(run_.settings, run_.settings.host(alias))
    current = _current(run_, alias, facts)
    new = staged_mirror(run_, alias, facts, on)
    spelling = switch_text.find(new.decode("utf-8"), _where(host), switch).spelling
    if new == current:
        return f"{alias}: {switch.name} is already {_value(switch, on, spelling)}, left alone"
    backup = write(run_, alias, facts, current, new)
    return f"{alias}: {switch_text.spelled(switch, on, spelling)} in {host.settings_path} (backup {posixpath.basename(backup)})"


def staged_mirror(run_: Run, alias: str, facts: HostFacts, on: bool) -> bytes:
    """The host's settings file as :func:`set_mirror` will write it."""
    host = run_.settings.host(alias)
    source = _decode(_current(run_, alias, facts), alias, host.settings_path)
    return switch_text.set_value(source, _where(host), mirror_switch(run_.settings, host), on).encode("utf-8")


def preview_mirror(run_: Run, alias: str, facts: HostFacts, on: bool) -> str:
    host = run_.settings.host(alias)
    switch = mirror_switch(run_.settings, host)
    current = _current(run_, alias, facts).decode("utf-8")
    new = staged_mirror(run_, alias, facts, on).decode("utf-8")
    return switch_text.diff(current, new, _where(host), switch) or f"{alias}: {switch.name} already as wanted"


def check_writable(connection: Connection, host: HostSettings) -> None:
    """PreflightError (one line) unless the deploy user can replace the file as the write script does."""
    output = run(connection, switch_text.writable_command(host.settings_path),
                 f"checking that {host.settings_path} can be written")
    problem = switch_text.write_problem(output, host.alias, host.settings_path)
    if problem:
        raise PreflightError(problem)


def planned_change(run_: Run, alias: str, facts: HostFacts, use_s3: bool) -> tuple[bytes, bytes]:
    """(current, new) bytes of the host's settings file with the switch set to use_s3."""
    host = run_.settings.host(alias)
    current = _current(run_, alias, facts)
    source = _decode(current, alias, host.settings_path)
    return current, switch_text.set_value(source, _where(host), _switch(run_, alias), use_s3).encode("utf-8")


def diff(run_: Run, alias: str, facts: HostFacts, use_s3: bool) -> str:
    host = run_.settings.host(alias)
    current, new = planned_change(run_, alias, facts, use_s3)
    return switch_text.diff(current.decode("utf-8"), new.decode("utf-8"), _where(host), _switch(run_, alias))


def write_command(run_: Run, alias: str, script: str, current: bytes, backup: str) -> str:
    host = run_.settings.host(alias)
    return (f"{shell_path(run_.settings.remote_python)} {shell_path(script)} --format={host.switch_format} "
            f"{shell_path(host.settings_path)} {hashlib.sha256(current).hexdigest()} {shell_path(backup)}")


def flip(run_: Run, alias: str, facts: HostFacts, use_s3: bool = True) -> str:
    """Set the switch on one host; returns what was done."""
    host, switch = run_.settings.host(alias), _switch(run_, alias)
    current, new = planned_change(run_, alias, facts, use_s3)
    spelling = switch_text.find(new.decode("utf-8"), _where(host), switch).spelling
    if new == current:
        return f"{alias}: {switch.name} is already {_value(switch, use_s3, spelling)}, left alone"
    backup = write(run_, alias, facts, current, new)
    where = f"the env file {host.settings_path}" if switch.format == "env" else host.settings_path
    return f"{alias}: {switch_text.spelled(switch, use_s3, spelling)} in {where} (backup {posixpath.basename(backup)})"


def staged_on(run_: Run, alias: str, facts: HostFacts) -> bytes:
    """The host's settings file as :func:`flip` will write it (for the check before the flip)."""
    return planned_change(run_, alias, facts, True)[1]


def staged_off(run_: Run, alias: str, facts: HostFacts) -> bytes:
    """The host's settings file as :func:`to_disk` will write it."""
    host = run_.settings.host(alias)
    source = _decode(_current(run_, alias, facts), alias, host.settings_path)
    new, _ = switch_text.disk_settings(source, _where(host), list_backups(run_, alias), _switch(run_, alias))
    return new.encode("utf-8")


def preview_flip(run_: Run, alias: str, facts: HostFacts) -> str:
    switch = _switch(run_, alias)
    return (diff(run_, alias, facts, use_s3=True)
            or f"{alias}: already {switch_text.spelled(switch, True, _spelling(run_, alias, facts))}")


def to_disk(run_: Run, alias: str, facts: HostFacts) -> str:
    """Rollback: the cutover's backup if it is the file as it was, else the minimal edit to the switch off."""
    host = run_.settings.host(alias)
    current = _current(run_, alias, facts)
    source = _decode(current, alias, host.settings_path)
    new, how = switch_text.disk_settings(source, _where(host), list_backups(run_, alias), _switch(run_, alias))
    if new == source:
        return f"{alias}: already on disk ({_off(run_, alias, facts)}), left alone"
    write(run_, alias, facts, current, new.encode("utf-8"))
    return f"{alias}: {how}"


def preview_to_disk(run_: Run, alias: str, facts: HostFacts) -> str:
    host = run_.settings.host(alias)
    current = facts.original
    source = _decode(current, alias, host.settings_path)
    switch = _switch(run_, alias)
    new, how = switch_text.disk_settings(source, _where(host), list_backups(run_, alias), switch)
    if new == source:
        return f"{alias}: already on disk ({_off(run_, alias, facts)}), left alone"
    return f"{alias}: would be {how}\n" + switch_text.diff(source, new, _where(host), switch)


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


def write(run_: Run, alias: str, facts: HostFacts, current: bytes, new: bytes) -> str:
    """Atomically replace the host's settings file (expected to hold ``current``); returns the backup path."""
    host = run_.settings.host(alias)
    connection = run_.connection(alias)
    script = put_script(connection, run_.settings.tools_dir, "write_settings.py")
    # From here on the file may change: the undo must look, even if the write fails.  The first write's
    # backup is the file as preflight read it (the undo's); a second (mirror mode) keeps its own.
    stamp = run_.run_id if facts.writes == 0 else f"{run_.run_id}-{facts.writes + 1}"
    backup = backup_name(host.settings_path, stamp)
    if facts.writes == 0:
        facts.backup_path = backup
    facts.settings_written = True
    facts.writes += 1
    result = json.loads(run_with_input(connection, write_command(run_, alias, script, current, backup), new,
                                       f"writing {host.settings_path}"))
    facts.written = new
    return result.get("backup") or backup


def restore(run_: Run, alias: str, facts: HostFacts) -> str | None:
    """Put the preflight bytes back if this run changed them; idempotent."""
    host = run_.settings.host(alias)
    if not facts.settings_written:
        return None
    connection = run_.connection(alias)
    if read_file(connection, host.settings_path) == facts.original:
        facts.settings_written, facts.written = False, None
        return f"{alias}: settings already as before"
    script = put_script(connection, run_.settings.tools_dir, "write_settings.py")
    run(connection, f"{shell_path(run_.settings.remote_python)} {shell_path(script)} --restore "
        f"{shell_path(facts.backup_path)} {shell_path(host.settings_path)}", f"restoring {host.settings_path}")
    if read_file(connection, host.settings_path) != facts.original:
        raise RemoteError(f"{alias}: {host.settings_path} differs from before the run after the restore; "
                          f"its backup is {facts.backup_path}")
    facts.settings_written, facts.written = False, None
    return f"{alias}: settings restored byte-identical from {posixpath.basename(facts.backup_path)}"


def _switch(run_: Run, alias: str) -> Switch:
    return Switch.of(run_.settings, run_.settings.host(alias))


def _where(host: HostSettings) -> str:
    return f"{host.alias}:{host.settings_path}"


def _current(run_: Run, alias: str, facts: HostFacts) -> bytes:
    """The file now, which must still be what preflight read (or what this run wrote last)."""
    host = run_.settings.host(alias)
    current = read_file(run_.connection(alias), host.settings_path)
    if current != (facts.written if facts.written is not None else facts.original):
        raise SettingsFileError(f"{alias}: {host.settings_path} changed since preflight read it; re-run")
    return current


def _spelling(run_: Run, alias: str, facts: HostFacts) -> tuple[str, str]:
    """How the file as preflight read it spells on/off."""
    host = run_.settings.host(alias)
    source = _decode(facts.original, alias, host.settings_path)
    return switch_text.find(source, _where(host), _switch(run_, alias)).spelling


def _off(run_: Run, alias: str, facts: HostFacts) -> str:
    return switch_text.spelled(_switch(run_, alias), False, _spelling(run_, alias, facts))


def _value(switch: Switch, value: bool, spelling: tuple[str, str]) -> str:
    return switch_text.spelled(switch, value, spelling).split("=", 1)[1].strip()


def _decode(data: bytes, alias: str, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsFileError(f"{alias}: {path} is not UTF-8; save it as UTF-8 so it can be edited safely") \
            from None
