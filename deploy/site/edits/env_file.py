"""Find and flip the switch (``USE_S3=...``) in an env file: a ``.env``, a systemd ``EnvironmentFile``.

Pure text in, text out, like ``settings_file`` for Python settings.  Only the
value's token changes, in the file's own spelling (``true/false``, ``True/False``,
``1/0``, ``yes/no``, ``on/off``, quoted or not); comments, order, blank lines,
``export`` and line endings stay.  What would make the flip ambiguous is refused
with a :class:`SettingsFileError` naming the file and the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import SettingsFileError, SwitchMissing

# Each pair is (on, off) as files spell them; matched case-sensitively, so a file keeps its case.
SPELLINGS = [("true", "false"), ("True", "False"), ("TRUE", "FALSE"), ("1", "0"),
             ("yes", "no"), ("Yes", "No"), ("YES", "NO"), ("on", "off"), ("On", "Off"), ("ON", "OFF")]
_LINE = re.compile(r".*?(?:\r\n|\r|\n)|.+\Z", re.S)
_BOM = "\ufeff"


@dataclass(frozen=True)
class EnvSwitch:
    """The one active ``NAME=value`` line; ``source[start:end]`` is the value's token (no quotes)."""

    value: bool
    line: int
    start: int
    end: int
    spelling: tuple[str, str]


def find_env_switch(source: str, path: str, name: str) -> EnvSwitch:
    """Locate the one ``NAME=<boolean>`` line of an env file or raise SettingsFileError."""
    assignment = re.compile(r"[ \t]*(?:export[ \t]+)?" + re.escape(name) + r"[ \t]*=")
    commented = re.compile(r"[ \t]*#[ \t]*(?:export[ \t]+)?" + re.escape(name) + r"[ \t]*=")
    found, commented_lines, offset = [], [], 0
    for number, line in enumerate(_LINE.findall(source), start=1):
        text = line[1:] if number == 1 and line.startswith(_BOM) else line
        skip = len(line) - len(text)
        if (match := assignment.match(text)) is not None:
            found.append((number, offset + skip + match.end(), text[match.end():].rstrip("\r\n")))
        elif commented.match(text):
            commented_lines.append(number)
        offset += len(line)
    if not found:
        hint = (f" (only a commented one, at line {commented_lines[0]}: uncomment it)" if commented_lines
                else f"; add `{name}=false`")
        raise SwitchMissing(f"{path}: expected exactly one `{name}=true|false` line, found none{hint}")
    if len(found) > 1:
        lines = ", ".join(str(number) for number, _, _ in found)
        raise SettingsFileError(f"{path}: expected exactly one `{name}=` line, found {len(found)} at lines "
                                f"{lines}; the last one wins in some loaders and the first in others: keep one")
    number, value_start, rest = found[0]
    return _parse_value(rest, value_start, number, path, name)


def set_env_switch(source: str, path: str, name: str, value: bool) -> str:
    """``source`` with only the switch's value changed to ``value``, in the file's spelling."""
    found = find_env_switch(source, path, name)
    if found.value is value:
        return source
    token = found.spelling[0] if value else found.spelling[1]
    return source[:found.start] + token + source[found.end:]


def _parse_value(rest: str, value_start: int, line: int, path: str, name: str) -> EnvSwitch:
    """The value after ``NAME=``: optional blanks, an optional quote, a known spelling, then nothing but a comment."""
    # A comment needs a blank before its "#" (as python-dotenv and systemd read it).
    match = re.match(r"""([ \t]*)(["']?)([^\s"'#]*)(["']?)((?:[ \t]+#.*)?[ \t]*)\Z""", rest)
    if match is None or match.group(2) != match.group(4):
        raise _unreadable(rest, line, path, name)
    token = match.group(3)
    for pair in SPELLINGS:
        if token in pair:
            start = value_start + len(match.group(1)) + len(match.group(2))
            return EnvSwitch(token == pair[0], line, start, start + len(token), pair)
    raise _unreadable(rest, line, path, name)


def _unreadable(rest: str, line: int, path: str, name: str) -> SettingsFileError:
    shown = rest.strip()
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return SettingsFileError(
        f"{path}: {name} at line {line} is `{shown}`, which the cutover cannot read as a boolean; write "
        f"`{name}=true` or `{name}=false` (or 1/0, yes/no, on/off), not a variable or an expression")
