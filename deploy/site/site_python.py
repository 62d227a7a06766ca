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


# The env-file loader that runs before Django starts, as systemd's EnvironmentFile would load it.
# How an env file's lines become variables (as systemd reads an EnvironmentFile), the switch winning
# over the process environment and the process environment over the rest: both loaders below use it.
_ENV_LINES = '''
import os, re, shlex

def media_cutover_load_env(lines):
    for line in lines:
        match = re.match(r"\\s*(?:export\\s+)?([A-Za-z_][A-Za-z0-9_]*)\\s*=\\s*(.*?)\\s*$", line)
        if match and not line.lstrip().startswith("#"):
            name, value = match.groups()
            value = re.sub(r"\\s+#.*$", "", value) if value[:1] not in "\\"'" else (shlex.split(value) or [""])[0]
            switches = (os.environ.get("MEDIA_CUTOVER_SWITCH"), os.environ.get("MEDIA_CUTOVER_MIRROR_SWITCH"))
            os.environ[name] = value if name in switches else os.environ.get(name, value)
'''
LOAD_ENV_FILE = _ENV_LINES + '''
media_cutover_load_env(open(os.environ["MEDIA_CUTOVER_ENV_FILE"], encoding="utf-8"))
'''
# The switched settings, staged: read from stdin ({"format", "path", "source"}) before Django starts, so
# that manage.py sees them while the file on disk is still the old one.  A Python settings file is
# imported from the staged source (a finder ahead of the path finder; no bytecode cache read or written);
# an env file's lines are loaded as LOAD_ENV_FILE loads the file, the staged switch winning.  The probe
# reports whether the staged source was imported (MEDIA_CUTOVER_STAGED) and what the switch reads as.
STAGED_SETTINGS = _ENV_LINES + '''
import json, sys
staged = json.loads(sys.stdin.buffer.read().decode("utf-8"))
if staged["format"] == "env":
    media_cutover_load_env(staged["source"].splitlines())
    os.environ["MEDIA_CUTOVER_STAGED"] = "environment"
else:
    import importlib.abc, importlib.machinery
    target = os.path.realpath(os.path.expanduser(staged["path"]))

    class StagedSettings(importlib.abc.SourceLoader):
        def __init__(self, path):
            self.path = path

        def get_filename(self, fullname):
            return self.path

        def get_data(self, path):
            if os.path.realpath(path) == target:
                os.environ["MEDIA_CUTOVER_STAGED"] = "imported"
                return staged["source"].encode("utf-8")
            with open(path, "rb") as handle:
                return handle.read()

    class StagedFinder:
        @staticmethod
        def find_spec(fullname, path=None, target_module=None):
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.origin and os.path.realpath(spec.origin) == target:
                spec.loader = StagedSettings(spec.origin)
            return spec

    sys.meta_path.insert(0, StagedFinder)
'''
RUN_MANAGE_PY = '''
import runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


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
