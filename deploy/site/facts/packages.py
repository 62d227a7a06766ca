"""Does each host's site have what the S3 settings block needs?  Asked in the storage probe's start-up.

The storage probe (``deploy.site.facts.storage``), run with the site's Python under its settings
module in the preflight, also runs :data:`REPORT_SOURCE` (deploy/site/programs/packages_report.py):
Django's version, whether django-storages (its S3 backend) and boto3 import in the site's own
environment, and whether ``storages`` is in INSTALLED_APPS.  Judging that report is pure
(:func:`problems`); the preflight says every host's.  One Django start-up a host for both, not two.

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

from dataclasses import dataclass

from ...errors import PreflightError
from ..site_python import program

MIN_DJANGO = (4, 2)
MIN_STORAGES = (1, 14)
STORAGES_APP_UNTIL = (1, 7)   # django-storages before this asked for INSTALLED_APPS

# Runs inside the site, in the storage probe (`manage.py shell -c`): defines site_packages().
REPORT_SOURCE = program("packages_report.py")
FIELDS = ("django", "storages_present", "storages_error", "storages_version", "boto3_error", "boto3_version",
          "storages_in_installed_apps")


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


def from_data(data: dict | None, host: str) -> SiteReport:
    """The probe's "packages" as a report; PreflightError naming the host when the probe had none."""
    if not isinstance(data, dict) or "django" not in data:
        raise PreflightError(f"{host}: the storage check reported no site packages ({str(data)[:200]})")
    return SiteReport(host=host, **{field: data.get(field) for field in FIELDS})


def versions(report: SiteReport) -> str:
    return (f"{report.host} Django {report.django}, django-storages {report.storages_version}, "
            f"boto3 {report.boto3_version}")


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
