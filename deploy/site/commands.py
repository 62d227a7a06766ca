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
