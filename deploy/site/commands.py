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
from typing import Sequence

from ..config.paths import shell_path
from ..config.types import HostSettings


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
LOAD_ENV_FILE = '''
import os, re, shlex
for line in open(os.environ["MEDIA_CUTOVER_ENV_FILE"], encoding="utf-8"):
    match = re.match(r"\\s*(?:export\\s+)?([A-Za-z_][A-Za-z0-9_]*)\\s*=\\s*(.*?)\\s*$", line)
    if match and not line.lstrip().startswith("#"):
        name, value = match.groups()
        value = re.sub(r"\\s+#.*$", "", value) if value[:1] not in "\\"'" else (shlex.split(value) or [""])[0]
        os.environ[name] = value if name == os.environ.get("MEDIA_CUTOVER_SWITCH") else os.environ.get(name, value)
'''
RUN_MANAGE_PY = '''
import runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def site_shell(host: HostSettings, script: str, switch_name: str, env_file: str | None,
               variables: Sequence[str] = ()) -> str:
    """``manage.py shell -c SCRIPT`` as the running site would start: with ``env_file`` (an env-file
    switch: systemd's EnvironmentFile) loaded into the environment first, the switch's value winning."""
    words = [f"MEDIA_CUTOVER_SWITCH={shlex.quote(switch_name)}", *variables]
    python_arguments = ""
    if env_file:
        # manage.py reads the environment when it starts: load the file first, then run manage.py.
        words.append(f"MEDIA_CUTOVER_ENV_FILE={shell_path(env_file)}")
        python_arguments = f"-c {shlex.quote(LOAD_ENV_FILE + RUN_MANAGE_PY)}"
    return manage_shell(host, script, words, python_arguments)
