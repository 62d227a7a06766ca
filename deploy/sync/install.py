"""Install the sync tool on the media host: the pinned version in its own venv, unless it answers already.

The probe and the install are ``deploy.sync.tools``' command lines (``probe_command``,
``install_command``); the copies with the tool are ``deploy.sync.on_host``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import paramiko
from fabric import Connection

from ..config.types import Settings
from ..errors import RemoteError
from ..remote.ssh import run
from .tools import ToolSpec, answers_pinned_version, install_command, probe_command, tool_spec, venv_dir

INSTALL_TIMEOUT = 900


@dataclass
class InstallResult:
    """What install_sync_tool found or did. ``installed`` is False when the pin already answered."""

    tool: str
    version: str
    path: str
    installed: bool
    commands: list[str] = field(default_factory=list)


def install_sync_tool(connection: Connection, settings: Settings, dry_run: bool = False) -> InstallResult:
    """Make sure the pinned tool answers on the media host; install it into its venv if not."""
    spec = tool_spec(settings.sync_tool)
    probe, install = probe_command(settings, spec), install_command(settings, spec)
    result = InstallResult(spec.name, spec.version, venv_dir(settings, spec), installed=False)
    if dry_run:
        result.commands = [probe, install, probe]
        return result
    result.commands.append(probe)
    if _answers(connection, spec, probe):
        return result
    result.commands += [install, probe]
    run(connection, install, f"installing {spec.requirement} into {result.path}", timeout=INSTALL_TIMEOUT)
    if not _answers(connection, spec, probe):
        raise RemoteError(f"{connection.original_host}: {spec.requirement} was installed into {result.path} "
                          f"but `{probe}` does not report the pinned version; remove {result.path} and retry")
    result.installed = True
    return result


def _answers(connection: Connection, spec: ToolSpec, probe: str) -> bool:
    """Does the tool run and report the pinned version?  Raises only when the host is unreachable."""
    try:
        result = connection.run(probe, hide=True, warn=True, in_stream=False, timeout=60)
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: cannot probe {spec.name}: {error}") from None
    return result.ok and answers_pinned_version(spec, result.stdout + result.stderr)
