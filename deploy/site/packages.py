"""Does each host's site have what the S3 settings block needs?

For every host with MANAGE_PY and SITE_PYTHON, one `manage.py shell -c` over SSH
reports Django's version, whether django-storages (its S3 backend) and boto3
import in the site's own environment, and whether ``storages`` is in
INSTALLED_APPS.  Parsing and judging the report are pure (:func:`parse_report`,
:func:`problems`).

What is required, and why:
- Django >= 4.2: the block configures storage with ``STORAGES``; older Django
  ignores it silently and would keep media on disk after the flip.
- django-storages >= 1.14: ``storages.backends.s3.S3Storage`` (older releases
  only have ``s3boto3``).
- boto3 importable: the S3 backend needs it.
- ``storages`` in INSTALLED_APPS only with django-storages < 1.7, whose docs
  asked for it; later releases have no models, templates or commands to load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..engine.run import Run
from ..errors import PreflightError, RemoteError
from ..config.types import HostSettings
from ..remote.ssh import run as remote_run
from .commands import manage_shell

MARKER = "MEDIA-CUTOVER-SITE-CHECK "
MIN_DJANGO = (4, 2)
MIN_STORAGES = (1, 14)
STORAGES_APP_UNTIL = (1, 7)   # django-storages before this asked for INSTALLED_APPS

# Runs inside the site (`manage.py shell -c`): prints one marked JSON line.
SCRIPT = f'''
import importlib, json
import django
from django.conf import settings

def version(name):
    try:
        from importlib.metadata import version as v
        return v(name)
    except Exception:
        return None

def error(module):
    try:
        importlib.import_module(module)
        return None
    except Exception as problem:
        return type(problem).__name__ + ": " + str(problem)

print({MARKER!r} + json.dumps({{
    "django": django.get_version(),
    "storages_error": error("storages.backends.s3"),
    "storages_present": error("storages") is None,
    "storages_version": version("django-storages"),
    "boto3_error": error("boto3"),
    "boto3_version": version("boto3"),
    "storages_in_installed_apps": "storages" in settings.INSTALLED_APPS,
}}))
'''


@dataclass(frozen=True)
class SiteReport:
    host: str
    django: str
    storages_present: bool
    storages_error: str | None
    storages_version: str | None
    boto3_error: str | None
    boto3_version: str | None
    storages_in_installed_apps: bool


def _version_tuple(text: str | None) -> tuple[int, ...]:
    numbers = []
    for part in (text or "").split("."):
        digits = "".join(ch for ch in part if ch.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def parse_report(output: str, host: str) -> SiteReport:
    """The marked JSON line among whatever else manage.py printed."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER):])
                return SiteReport(host=host, **{field: data.get(field) for field in (
                    "django", "storages_present", "storages_error", "storages_version", "boto3_error",
                    "boto3_version", "storages_in_installed_apps")})
            except (ValueError, TypeError):
                break
    tail = " | ".join(output.strip().splitlines()[-3:]) or "no output"
    raise PreflightError(f"{host}: the site check printed no report ({tail})")


def problems(report: SiteReport) -> list[str]:
    """What the S3 settings block would lack on this host, one line each, naming the host."""
    host, found = report.host, []
    if _version_tuple(report.django) < MIN_DJANGO:
        found.append(f"{host}: the site runs Django {report.django}; the S3 settings block needs Django "
                     ">= 4.2 (STORAGES): upgrade Django first")
    if not report.storages_present:
        found.append(f"{host}: django-storages is not installed in the site's environment (SITE_PYTHON): "
                     "pip install 'django-storages[s3]'")
    elif _version_tuple(report.storages_version) and _version_tuple(report.storages_version) < MIN_STORAGES:
        found.append(f"{host}: django-storages {report.storages_version} has no storages.backends.s3: "
                     "upgrade to >= 1.14")
    elif report.storages_error and not report.boto3_error:
        found.append(f"{host}: storages.backends.s3 does not import: {report.storages_error}")
    if report.boto3_error:
        found.append(f"{host}: boto3 does not import in the site's environment ({report.boto3_error}): "
                     "pip install boto3 (or 'django-storages[s3]')")
    if (report.storages_present and not report.storages_in_installed_apps
            and _version_tuple(report.storages_version)
            and _version_tuple(report.storages_version) < STORAGES_APP_UNTIL):
        found.append(f"{host}: add 'storages' to INSTALLED_APPS (django-storages "
                     f"{report.storages_version} requires it)")
    return found


def check_command(host: HostSettings) -> str:
    return manage_shell(host, SCRIPT)


def _check_host(run: Run, alias: str) -> tuple[list[str], str | None]:
    """(problems, versions seen) of one host's site."""
    host = run.settings.host(alias)
    try:
        output = remote_run(run.connection(alias), check_command(host),
                            f"checking the site's packages ({host.manage_py} shell)", timeout=120)
        report = parse_report(output, alias)
    except (RemoteError, PreflightError) as error:
        return [str(error)], None
    return problems(report), (f"{alias} Django {report.django}, django-storages {report.storages_version}, "
                              f"boto3 {report.boto3_version}")


def check_site_packages(run: Run) -> str:
    """Every host with MANAGE_PY and SITE_PYTHON: the site can use the S3 backend.

    Raises PreflightError naming each host and what it lacks (all hosts in one
    message); returns a one-line summary.  Hosts without MANAGE_PY are skipped.
    """
    checked = [host.alias for host in run.targets if host.manage_py and host.site_python]
    skipped = [alias for alias in run.aliases if alias not in checked]
    found, seen = [], []
    for problems_found, versions in run.on_every_host(_check_host, checked):  # at once: each starts Django
        found += problems_found
        seen += [versions] if versions else []
    if found:
        raise PreflightError("\n".join(found))
    summary = "; ".join(seen) if seen else "no host has MANAGE_PY and SITE_PYTHON"
    if skipped and seen:
        summary += f" (not checked: {', '.join(skipped)}, no MANAGE_PY)"
    return f"site packages: {summary}"
