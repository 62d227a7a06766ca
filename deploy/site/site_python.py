"""The site's own Python, run the way the site runs: manage.py under its settings module.

Pure: builds command lines.  A settings package's manage.py often defaults to
the dev module while production sets DJANGO_SETTINGS_MODULE in its environment;
every check the tool runs with the site's Python (``manage.py check``, the
package check, the reference scan, the storage check) goes through here, so
each sees what the running site sees.
"""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path
from typing import Sequence

from ..config.paths import shell_path
from ..config.types import HostSettings


# Every program run in the site's Python or installed in the site is a real file here (linted, unit-tested).
PROGRAMS = Path(__file__).resolve().with_name("programs")


def program(name: str) -> str:
    """The text of ``deploy/site/programs/<name>``, as sent to the host."""
    return (PROGRAMS / name).read_text(encoding="utf-8")


def manage_command(host: HostSettings, arguments: str, variables: Sequence[str] = (),
                   python_arguments: str = "") -> str:
    """``cd <manage.py's dir> && [env VARS] <site python> [python args] <manage.py> ARGUMENTS``.

    ``arguments`` and ``python_arguments`` are shell words already quoted;
    ``variables`` are ``NAME=value`` words already quoted, none of them secret.
    """
    directory = posixpath.dirname(host.manage_py) or "."
    words = list(variables)
    if host.settings_module:
        words.insert(0, f"DJANGO_SETTINGS_MODULE={shlex.quote(host.settings_module)}")
    prefix = f"env {' '.join(words)} " if words else ""
    python = shell_path(host.site_python) + (f" {python_arguments}" if python_arguments else "")
    return f"cd {shell_path(directory)} && {prefix}{python} {shell_path(host.manage_py)} {arguments}"


def manage_shell(host: HostSettings, script: str, variables: Sequence[str] = (), python_arguments: str = "") -> str:
    """``manage.py shell -c SCRIPT`` under the site's settings module."""
    return manage_command(host, f"shell -c {shlex.quote(script)}", variables, python_arguments)


def prelude(**values: str) -> str:
    """Plain assignments ``NAME = <repr(value)>``, one a line: how a program run with ``shell -c`` (no argv
    of its own) takes its parameters.  The sender puts them before the program's text; the program says
    which names it expects."""
    return "".join(f"{name} = {value!r}\n" for name, value in values.items())


# Run with ``python -c`` before manage.py (programs/): env_file_loader.py is how an env file's lines become
# variables (as systemd reads an EnvironmentFile), the switch winning over the process environment and the
# process environment over the rest; both loaders start with it.  LOAD_ENV_FILE loads MEDIA_CUTOVER_ENV_FILE;
# STAGED_SETTINGS reads the switched settings from stdin ({"format", "path", "source"}) so that manage.py
# sees them while the file on disk is still the old one (a Python settings file imported from the staged
# source, an env file's lines loaded, the staged switch winning; MEDIA_CUTOVER_STAGED says which).
LOAD_ENV_FILE = program("env_file_loader.py") + program("load_env_file.py")
STAGED_SETTINGS = program("env_file_loader.py") + program("staged_settings.py")
RUN_MANAGE_PY = program("run_manage_py.py")


def site_shell(host: HostSettings, script: str, switch_name: str, env_file: str | None,
               variables: Sequence[str] = (), staged: bool = False) -> str:
    """``manage.py shell -c SCRIPT`` as the running site would start: with ``env_file`` (an env-file
    switch: systemd's EnvironmentFile) loaded into the environment first, the switch's value winning.
    With ``staged`` the settings file's new content comes on stdin instead (STAGED_SETTINGS)."""
    words = [f"MEDIA_CUTOVER_SWITCH={shlex.quote(switch_name)}", *variables]
    python_arguments = ""
    if staged:
        python_arguments = f"-c {shlex.quote(STAGED_SETTINGS + RUN_MANAGE_PY)}"
    elif env_file:
        # manage.py reads the environment when it starts: load the file first, then run manage.py.
        words.append(f"MEDIA_CUTOVER_ENV_FILE={shell_path(env_file)}")
        python_arguments = f"-c {shlex.quote(LOAD_ENV_FILE + RUN_MANAGE_PY)}"
    return manage_shell(host, script, words, python_arguments)
