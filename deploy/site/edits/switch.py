"""The switch in a host's settings file, whichever its format: one interface over the two edits.

Pure.  A host's ``SETTINGS_PATH`` holds the switch (``Settings.switch_name``,
``USE_S3`` by default) either as a Python literal (``settings_file``) or as an
env file's line (``env_switch``), as ``HostSettings.switch_format`` says.  Every
reader and writer of the switch (the switch on the hosts in ``switch.py``, and
through it preflight, status and the flows) goes through here, so none of them
asks which format a file has, and each shows the switch the way its file spells it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...config.paths import shell_path
from ...config.types import HostSettings, Settings
from . import env_file as env_switch
from . import settings_file

FORMATS = ("python", "env")
_KINDS = {"python": "Python file", "env": "env file"}


@dataclass(frozen=True)
class Switch:
    """Which switch (``name``) a host's settings file holds, and how (``format``: "python" or "env")."""

    name: str = settings_file.NAME
    format: str = "python"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"switch format must be one of {', '.join(FORMATS)}: {self.format!r}")

    @classmethod
    def of(cls, settings: Settings, host: HostSettings) -> "Switch":
        return cls(settings.switch_name, host.switch_format)

    @property
    def kind(self) -> str:
        """The file's format, for people: "Python file" or "env file"."""
        return _KINDS[self.format]

    @property
    def compiles(self) -> bool:
        """Whether the file is Python, which the write script compiles before it swaps it in."""
        return self.format == "python"


@dataclass(frozen=True)
class Found:
    """The one switch assignment of a file: its value, its line, and how the file spells on/off."""

    value: bool
    line: int
    spelling: tuple[str, str]


def find(source: str, path: str, switch: Switch) -> Found:
    """The file's one switch assignment, or SettingsFileError naming ``path`` and the lines."""
    if switch.format == "env":
        found = env_switch.find_env_switch(source, path, switch.name)
        return Found(found.value, found.line, found.spelling)
    assignment = settings_file.find_use_s3(source, path, switch.name)
    return Found(assignment.value, assignment.line, ("True", "False"))


def set_value(source: str, path: str, switch: Switch, value: bool) -> str:
    """``source`` with only the switch's value changed, in the file's own spelling."""
    if switch.format == "env":
        return env_switch.set_env_switch(source, path, switch.name, value)
    return settings_file.set_use_s3(source, path, value, switch.name)


def spelled(switch: Switch, value: bool, spelling: tuple[str, str] | None = None) -> str:
    """The assignment as the file writes it: ``USE_S3 = True`` (Python), ``USE_S3=true`` (env)."""
    if switch.format == "env":
        on, off = spelling or ("true", "false")
        return f"{switch.name}={on if value else off}"
    return f"{switch.name} = {value!r}"


def state(switch: Switch, found: Found) -> str:
    """What a host's file says, with its format: ``USE_S3=false (env file)``."""
    return f"{spelled(switch, found.value, found.spelling)} ({switch.kind})"


def diff(old: str, new: str, path: str, switch: Switch) -> str:
    """The --dry-run diff.  An env file's other lines often hold secrets: only the changed line is shown."""
    return settings_file.settings_diff(old, new, path, context=0 if switch.format == "env" else 3)


def disk_settings(current: str, path: str, backups: list[tuple[str, str]], switch: Switch) -> tuple[str, str]:
    """What a rollback writes, (new source, how it was chosen): the cutover's backup when one is
    byte-identical to ``current`` with the switch off, else that minimal edit."""
    if switch.format == "python":
        return settings_file.disk_settings(current, path, backups, switch.name)
    found = find(current, path, switch)
    target = set_value(current, path, switch, False)
    return settings_file.choose_disk_settings(current, target, backups, spelled(switch, False, found.spelling))


# --- can the deploy user replace the file? -------------------------------------------------------

_WRITABLE_MARK = "media-cutover-writable"


def writable_command(path: str) -> str:
    """A shell probe (POSIX sh, coreutils) of what replacing ``path`` needs: parse with :func:`write_problem`.

    The write script makes the new file and the backup beside it and renames one over the
    file (so both directories, the link's and the file's, must be writable), refuses a
    file its user cannot write, and keeps its owner and group (so they must be the user's).
    """
    quoted = shell_path(path)
    return (f"p={quoted}; f=$(readlink -f -- \"$p\") || f=\"$p\"; "
            f"printf '{_WRITABLE_MARK} %s|%s|' \"$(id -u)\" \"$(id -G)\"; "
            "stat -c '%u|%g|%a|' -- \"$f\" | tr -d '\\n'; "
            "for x in \"$f\" \"$(dirname -- \"$f\")\" \"$(dirname -- \"$p\")\"; do "
            "if [ -w \"$x\" ]; then printf 'w|'; else printf -- '-|'; fi; done; echo")


def write_problem(output: str, alias: str, path: str) -> str | None:
    """One line saying why the deploy user cannot replace ``path``, or None when it can."""
    line = next((line for line in output.splitlines() if line.startswith(_WRITABLE_MARK + " ")), None)
    fields = line[len(_WRITABLE_MARK) + 1:].split("|") if line else []
    if len(fields) < 8 or not all(re.fullmatch(r"[0-9]+", x) for x in fields[:1] + fields[2:5]):
        return f"{alias}: cannot tell whether {path} can be written (the probe printed {output.strip()[:120]!r})"
    uid, groups, owner, group, mode = int(fields[0]), fields[1].split(), int(fields[2]), fields[3], fields[4]
    file_w, dir_w, link_dir_w = (x == "w" for x in fields[5:8])
    who = f"the deploy user (uid {uid})"
    if not file_w:
        return (f"{alias}: {path} is read-only for the deploy user (uid {uid}, mode {int(mode, 8):04o}); nothing "
                f"was changed: make it writable by its owner (chmod u+w {path}), the cutover keeps its mode")
    if not dir_w or not link_dir_w:
        return (f"{alias}: {who} cannot create files beside {path}, where its new version and its backup are "
                f"made; nothing was changed: make the directory writable for that user")
    if uid != 0 and (owner != uid or group not in groups):
        return (f"{alias}: {path} belongs to {owner}:{group}, which {who} cannot keep on the new file; "
                f"nothing was changed: run the cutover as the file's owner, in its group")
    return None
