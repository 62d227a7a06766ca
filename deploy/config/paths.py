"""Remote paths of the configuration (MEDIA_ROOT, TOOLS_DIR, SETTINGS_PATH, ...) as a shell or SFTP wants them.

Pure.  A remote path may start with ``~/`` (the SSH user's home).  Shell
commands get it as ``"$HOME"/rest`` with the rest quoted; SFTP, which starts in
the home directory and knows no ``~``, gets it home-relative.  Every command
line built anywhere (``deploy.sync.commands`` among them) quotes its paths here.
"""

from __future__ import annotations

import shlex


def shell_path(path: str) -> str:
    """A remote path quoted for the shell, with a leading ``~/`` still expanded."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def sftp_path(path: str) -> str:
    """A remote path for SFTP, which starts in the home directory and knows no ``~``."""
    return path[2:] if path.startswith("~/") else path
