"""What each host's site settings select, asked over SSH; and whether each HUP reload would load new settings.

The adapter around the pure ``storage_check`` (the probe's command and the judging
of its report) and ``reload_facts`` (gunicorn's master, read through its pidfile):
this module only runs their commands on the hosts and hands back what they report.
"""

from __future__ import annotations

from typing import Callable

from ...config.paths import shell_path
from ...config.types import HostSettings, Settings
from ...engine.run import Run
from ...errors import MediaCutoverError
from ...remote.ssh import run as remote_run
from ...remote.ssh import run_with_input
from ..facts import gunicorn as reload_facts
from ..facts.storage import (StorageReport, parse_report, probe_command, problems_on_disk, problems_on_s3,
                            staged_input)

PROBE_TIMEOUT = 120  # one Django start-up, as `manage.py check`


def probed(run: Run) -> list[str]:
    """The run's hosts whose site the probe can ask: those with MANAGE_PY and SITE_PYTHON."""
    return [host.alias for host in run.targets if host.manage_py and host.site_python]


def env_file_of(host: HostSettings) -> str | None:
    """The env file the probe loads first, as the site's EnvironmentFile would: the switch's own file."""
    return host.settings_path if host.switch_format == "env" else None


def command_for(settings: Settings, host: HostSettings, system_check: bool = False, sorl_cost: bool = False,
                staged: bool = False) -> str:
    return probe_command(host, settings.switch_name, env_file_of(host), system_check, sorl_cost, staged,
                         settings.mirror_switch_name)


def probe(run: Run, alias: str, system_check: bool = False, sorl_cost: bool = False,
          staged: bytes | None = None) -> StorageReport:
    """One host's report: what Django selects under the site's settings module, with the settings now on
    disk, or with ``staged`` (the file's new bytes, before they are written); with ``system_check``,
    `manage.py check`'s verdict on them too (same start-up)."""
    host = run.settings.host(alias)
    what = "`manage.py check` and the storage check" if system_check else "the storage check"
    command = command_for(run.settings, host, system_check, sorl_cost, staged is not None)
    if staged is None:
        output = remote_run(run.connection(alias), command, f"{what} ({host.manage_py} shell)", timeout=PROBE_TIMEOUT)
    else:
        output = run_with_input(run.connection(alias), command, staged_input(host, staged),
                                f"{what} of the new settings, staged ({host.manage_py} shell)", timeout=PROBE_TIMEOUT)
    return parse_report(output, alias)


def probe_sites(run: Run, aliases: list[str], system_check: bool = False, sorl_cost: bool = False,
                staged: Callable[[Run, str], bytes] | None = None) -> dict[str, StorageReport]:
    """Every given host's report, probed at once (each takes a Django start-up); sorl-thumbnail's cost
    is counted on the media host only (one database for every host); with ``staged`` (a host's settings
    file as the switch will write it) before the switch."""
    def one(run_: Run, alias: str) -> StorageReport:
        return probe(run_, alias, system_check, sorl_cost and alias == run_.settings.media_host,
                     staged(run_, alias) if staged is not None else None)
    return dict(zip(aliases, run.on_every_host(one, aliases)))


def media_root_real_path(run: Run) -> str:
    """MEDIA_ROOT on the media host with every symlink resolved, as the probe reports the site's location."""
    settings = run.settings
    return remote_run(run.media_connection, f"readlink -f {shell_path(settings.media_root)}",
                      f"resolving MEDIA_ROOT {settings.media_root}").strip()


def s3_problems(run: Run, reports: dict[str, StorageReport], before_switch: dict[str, StorageReport]) -> list[str]:
    """Why the flipped settings would not serve media from this bucket and prefix, every host's, in order;
    staticfiles compared with what each site selected before the switch."""
    settings, found = run.settings, []
    for alias, report in reports.items():
        before = before_switch.get(alias)
        found += problems_on_s3(report, settings.bucket, settings.media_prefix, settings.endpoint_url,
                                staticfiles_before=before.staticfiles if before else None,
                                public_media=settings.public_media, custom_domain=settings.custom_domain,
                                media_base_url=settings.media_base_url)
    return found


def disk_problems(run: Run, reports: dict[str, StorageReport], before_switch: dict[str, StorageReport]) -> list[str]:
    """Why the settings put back would not serve media from the disk; MEDIA_ROOT compared on the media host,
    staticfiles with what each site selected before the switch."""
    media_root = media_root_real_path(run) if run.settings.media_host in reports else None
    found = []
    for alias, report in reports.items():
        before = before_switch.get(alias)
        found += problems_on_disk(report, media_root if alias == run.settings.media_host else None,
                                  staticfiles_before=before.staticfiles if before else None)
    return found


# --- reloads that would not reload --------------------------------------------------------------

def hup_pidfiles(run: Run) -> dict[str, str]:
    """alias -> the pidfile of each of the run's hosts whose RELOAD_COMMAND is a HUP read from a pidfile."""
    found = {}
    for host in run.targets:
        pidfile = reload_facts.pidfile_of(host.reload_command)
        if pidfile:
            found[host.alias] = pidfile
    return found


def read_reload_facts(run: Run, alias: str) -> dict:
    """What the host's gunicorn master runs with; ``{"error": ...}`` when it cannot be read (no claim then)."""
    settings = run.settings
    pidfile = reload_facts.pidfile_of(settings.host(alias).reload_command)
    try:
        output = remote_run(run.connection(alias),
                            reload_facts.facts_command(shell_path(settings.remote_python), pidfile,
                                                       settings.switch_name),
                            "reading the gunicorn master's command line", timeout=30)
    except MediaCutoverError as error:
        return {"pid": None, "error": str(error)}
    return reload_facts.parse_facts(output)


def reload_problems(run: Run, alias: str, facts: dict) -> list[str]:
    host = run.settings.host(alias)
    return reload_facts.reload_problems(alias, facts, run.settings.switch_name,
                                        switch_in_env_file=host.switch_format == "env")
