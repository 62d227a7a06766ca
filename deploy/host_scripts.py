"""The text of a program run with the host's own python3 (REMOTE_PYTHON): deploy/remote/scripts/<name>.

Pure (it reads a file of this package), so that the pure modules that send one as ``python3 -c TEXT``
need not import deploy.remote; ``deploy.remote.ssh.put_script`` uploads the others from the same folder.
"""

from __future__ import annotations

from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "remote" / "scripts"


def host_script(name: str) -> str:
    """The text of ``deploy/remote/scripts/<name>``, as sent to the host."""
    return (SCRIPTS / name).read_text(encoding="utf-8")
