"""Preflight of the hosts and their settings files: every host reached over SSH, its settings file read
into the run's HostFacts (the switch and the mirror as they are), and, for the flows that write it, the file
replaceable by the deploy user with room beside it for the backup.  One step for each kind of flow: the
cutover and finalize (``check_hosts``), the rollback (``check_hosts_reachable``: unreachable hosts set aside),
and those that edit no settings file (``check_hosts_read``).  Host problems are collected across all hosts,
so one run shows them all; the other checks are in ``deploy.flows.preflight``.
"""

from __future__ import annotations

import posixpath

from ..config.paths import shell_path
from ..errors import MediaCutoverError, PreflightError
from ..remote.ssh import run as remote_run
from ..site.host_facts import HostFacts
from ..site.ops.switch import check_writable, read_mirror, read_settings, state_before
from .state import FlowRun

# Room for a backup of the settings file and its temp copy, with margin.
MIN_FREE_KB = 1024


def check_hosts(run: FlowRun) -> str:
    """Every host: reachable, settings file with one readable switch (SWITCH_NAME), which the deploy user
    can replace, and room for the backup."""
    problems = [problem for _, problem in _read_hosts(run, check=_check_writable_with_room)]
    if problems:
        raise PreflightError("\n".join(problems))
    return f"{len(run.state.switch.hosts)} hosts reachable, settings files parsed ({_states(run)})"


def check_hosts_reachable(run: FlowRun) -> str:
    """The rollback's: every reachable host's settings are read; unreachable ones are set aside (run.unreachable,
    so the later steps leave them alone) and named at the end.  Only the media host must be reached.  A host
    whose switch is on must let the deploy user replace its settings file (one line each that does not)."""
    run.unreachable = _read_hosts(run, media_host_required=True)
    problems = []
    for alias in [alias for alias, facts in run.state.switch.hosts.items() if facts.original_use_s3]:
        try:
            check_writable(run.connection(alias), run.settings.host(alias))
        except MediaCutoverError as error:
            problems.append(str(error))
    if problems:
        raise PreflightError("\n".join(problems))
    away = "; UNREACHABLE, left alone: " + ", ".join(alias for alias, _ in run.unreachable) if run.unreachable else ""
    return f"{len(run.state.switch.hosts)} hosts reachable ({_states(run)}){away}"


def check_hosts_read(run: FlowRun) -> str:
    """Every host reachable and its settings file read (a flow that edits no settings file: reclaim)."""
    problems = [problem for _, problem in _read_hosts(run)]
    if problems:
        raise PreflightError("\n".join(problems))
    return f"{len(run.state.switch.hosts)} hosts reachable, settings files parsed ({_states(run)})"


def _read_hosts(run: FlowRun, check=None, media_host_required: bool = False) -> list[tuple[str, str]]:
    """Log in to every host and read its settings file into the run's HostFacts; (alias, problem) of each that
    failed."""
    failed = []
    for host in run.settings.hosts:
        try:
            connection = run.connection(host.alias)
            remote_run(connection, "true", "SSH login")
            data, found = read_settings(connection, run.settings, host)
            run.state.switch.hosts[host.alias] = HostFacts(original=data, original_use_s3=found.value,
                                                           original_mirror=read_mirror(run.settings, host, data))
            if check is not None:
                check(run, host.alias, host.settings_path, len(data))
        except MediaCutoverError as error:
            if media_host_required and host.alias == run.settings.media_host:
                raise PreflightError(f"the media host cannot be reached, nothing was changed: {error}") from None
            failed.append((host.alias, str(error)))
    return failed


def _states(run: FlowRun) -> str:
    return ", ".join(f"{alias} {state_before(run, alias, facts)}" for alias, facts in run.state.switch.hosts.items())


def _check_writable_with_room(run: FlowRun, alias: str, settings_path: str, size: int) -> None:
    """The write script could replace the file (writable, its owner kept) and has room for the backup."""
    check_writable(run.connection(alias), run.settings.host(alias))
    _check_free_space(run, alias, settings_path, size)


def _check_free_space(run: FlowRun, alias: str, settings_path: str, size: int) -> None:
    directory = posixpath.dirname(settings_path) or "."
    output = remote_run(run.connection(alias), f"df -Pk {shell_path(directory)} | tail -n 1",
                        f"checking free space in {directory}")
    try:
        free_kb = int(output.split()[3])
    except (IndexError, ValueError):
        raise PreflightError(f"{alias}: cannot read free space of {directory} from df: {output.strip()!r}") from None
    if free_kb < MIN_FREE_KB + 2 * size // 1024:
        raise PreflightError(f"{alias}: only {free_kb} KB free in {directory}; the settings backup needs "
                             f"{MIN_FREE_KB + 2 * size // 1024} KB: free some space")
