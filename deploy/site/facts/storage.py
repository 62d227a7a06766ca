"""What the site's settings really select: a probe run with the site's Python, and the judging of its report.

Pure: this module builds the probe's command (the probe is deploy/site/programs/storage_probe.py) and
judges its report; the SSH adapter runs it.  ``manage.py check`` passes a flip that changes nothing (the
recipe's ``DEFAULT_FILE_STORAGE``, ignored since Django 5.1), one that points at
another bucket or prefix, and one that drops the site's ``staticfiles`` backend;
the probe catches each before any reload, by asking Django itself what
``storages["default"]`` is under the site's settings module.

An env-file switch may reach the site only through its process environment (a
systemd ``EnvironmentFile``): the probe then loads that file into its own
environment first, as systemd would, the switch's value winning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ...config.types import HostSettings
from ...errors import PreflightError
from . import packages
from . import thumbnails
from ..site_python import prelude, program, site_shell

MARKER = "MEDIA-CUTOVER-STORAGE "
S3_BACKEND = "storages.backends.s3.S3Storage"
DISK_BACKEND = "django.core.files.storage.filesystem.FileSystemStorage"

# Runs inside the site (`manage.py shell -c`), after packages_report.py: programs/storage_probe.py.
SCRIPT = program("storage_probe.py")


@dataclass(frozen=True)
class StorageReport:
    """What one host's site selects under its settings module (plain data from the probe)."""

    host: str
    settings_module: str | None
    switch: str
    default: dict | None
    staticfiles: str | None
    media_url: str
    media_root: str
    legacy_default_file_storage: str | None
    thumbnail_alias: str | None
    thumbnail_storage: dict | None
    write: str | None = None    # with S3 selected: "ok", "no credentials" or "failed: ..." (the site's own key)
    system_check: str | None = None  # when asked: `manage.py check`'s "ok" or "failed: <what it said>"
    thumbnails: dict | None = None    # deploy/site/programs/thumbnail_tool.py's detect (deploy.site.facts.thumbnails reads it)
    staged: str | None = None         # with staged settings: "imported" (a Python file) or "environment"
    mirror_switch: str | None = None  # repr of the mirror's switch (MIRROR_SWITCH_NAME) as the settings read it
    packages: dict | None = None      # deploy.site.facts.packages: Django, django-storages and boto3 as the site has them

    def saw_staged(self, use_s3: bool, mirror: bool | None = None) -> bool:
        """Did the staged probe see the switched settings?  Their source was used, and the switch (and,
        given ``mirror``, the mirror's) reads as set; otherwise (settings read some other way) only the file
        itself, once written, can be checked."""
        return (self.staged is not None and self.switch == repr(use_s3)
                and (mirror is None or self.mirror_switch == repr(mirror)))

    @property
    def mirror(self) -> dict | None:
        """The default storage's two sides when it is the mirror (media_mirror.MirrorStorage): primary,
        secondary, failures (the file it records failed writes to the secondary in)."""
        return (self.default or {}).get("mirror")

    @property
    def serving(self) -> dict:
        """The storage media are read and served from: the mirror's primary, or the default storage."""
        return self.mirror["primary"] if self.mirror else (self.default or {})

    def check_problem(self) -> str | None:
        """Why `manage.py check` refused these settings, or None (passed, or not asked)."""
        if self.system_check and self.system_check != "ok":
            said = self.system_check.removeprefix("failed: ")
            return f"{self.host}: `manage.py check` of the new settings failed: {said}"
        return None

    @property
    def default_classes(self) -> list[str]:
        """The classes of the storage media are served from (a mirror's primary)."""
        return self.serving.get("classes") or []

    def summary(self) -> str:
        default = self.serving
        where = (f"bucket {default.get('bucket')}, location {default.get('location')!r}"
                 if default.get("bucket") is not None else f"location {default.get('location')}")
        mirrored = ""
        if self.mirror:
            mirrored = f", mirrored to {self.mirror['secondary'].get('backend')} by {(self.default or {}).get('backend')}"
        return (f"{self.host}: {self.settings_module or 'default settings'}: default storage "
                f"{default.get('backend')} ({where}){mirrored}, MEDIA_URL {self.media_url}, staticfiles {self.staticfiles}"
                + (f", thumbnails {self.thumbnail_alias}" if self.thumbnail_alias else "")
                + {None: "", "ok": ", the site's own key stores a file there",
                   "no credentials": ", the site's own key NOT checked (none in the environment manage.py gets; "
                                     "the site must find it at run time)"}.get(self.write, ""))


def probe_command(host: HostSettings, switch_name: str, env_file: str | None, system_check: bool = False,
                  sorl_cost: bool = False, staged: bool = False, mirror_switch: str = "MEDIA_MIRROR") -> str:
    """The probe's command line under the site's settings module: no secret on it (an env file is
    read by the probe, not by the shell).  With ``system_check`` it also runs `manage.py check`, in
    the same Django start-up (one start-up per host between the flip and the reload, not two).  The
    thumbnail libraries are looked at in the same start-up too (``deploy.site.facts.thumbnails``); with
    ``sorl_cost``, what sorl-thumbnail's first views would cost after a switch.  With ``staged`` the
    settings file's new content is read from stdin (``staged_input``), before any flip."""
    variables = [f"MEDIA_CUTOVER_MIRROR_SWITCH={mirror_switch}"]  # a Python name: checked by the config
    if system_check:
        variables.append("MEDIA_CUTOVER_CHECK=1")
    if sorl_cost:
        variables.append("MEDIA_CUTOVER_SORL_COST=1")
    script = prelude(_THUMBNAILS_SCRIPT=thumbnails.script_text()) + packages.REPORT_SOURCE + SCRIPT
    return site_shell(host, script, switch_name, env_file, variables, staged)


def staged_input(host: HostSettings, content: bytes) -> bytes:
    """What the staged probe reads on stdin: the settings file as the switch would write it."""
    return json.dumps({"format": host.switch_format, "path": host.settings_path,
                       "source": content.decode("utf-8")}).encode("utf-8")


def parse_report(output: str, host: str) -> StorageReport:
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            return StorageReport(host=host, **data)
    tail = " | ".join(output.strip().splitlines()[-3:]) or "no output"
    raise PreflightError(f"{host}: the storage check printed no report ({tail})")


def problems_on_s3(report: StorageReport, bucket: str, prefix: str, endpoint: str | None,
                   staticfiles_before: str | None, *, public_media: bool = True, custom_domain: str | None = None,
                   media_base_url: str | None = None) -> list[str]:
    """Why these settings do not serve media from ``bucket``/``prefix``; [] when they do (a mirror's
    primary is what serves).  With PUBLIC_MEDIA=false (``public_media``) its URLs must be signed; with a
    MEDIA_CUSTOM_DOMAIN (``custom_domain``) go through that domain, under ``media_base_url``."""
    host, default = report.host, report.serving
    if S3_BACKEND not in report.default_classes:
        if report.legacy_default_file_storage:
            return [f"{host}: the flipped settings set DEFAULT_FILE_STORAGE = "
                    f"{report.legacy_default_file_storage!r}, which Django 5.1 and later ignore: the default "
                    f"storage is still {default.get('backend')}. Set STORAGES['default'] to "
                    f"{{'BACKEND': '{S3_BACKEND}', 'OPTIONS': {{...}}}} inside the switch's block instead "
                    "(`invoke settings-snippet` prints one that keeps the other STORAGES entries)"]
        return [f"{host}: with the switch on, the default storage is {default.get('backend')}, not "
                f"{S3_BACKEND}: the site would keep storing media on disk; fix the block the switch guards"]
    found = []
    if default.get("bucket") != bucket:
        found.append(f"{host}: the site's S3 storage uses bucket {default.get('bucket')!r}, but the media were "
                     f"uploaded to {bucket!r} (AWS_STORAGE_BUCKET_NAME)")
    if (default.get("location") or "").strip("/") != prefix.strip("/"):
        found.append(f"{host}: the site's S3 storage has location {default.get('location')!r}, but the media "
                     f"were uploaded under {prefix!r} (AWS_LOCATION): its URLs would point at nothing")
    if endpoint and (default.get("endpoint") or "").rstrip("/") != endpoint.rstrip("/"):
        found.append(f"{host}: the site's S3 storage talks to {default.get('endpoint') or 'AWS'}, "
                     f"but the media were uploaded to {endpoint} (AWS_S3_ENDPOINT_URL)")
    if report.write and report.write.startswith("failed"):
        found.append(f"{host}: the site's own S3 key could not store a file through its storage "
                     f"({report.write}): every upload would fail after the reload; check the AWS keys the "
                     "site reads (a key provision replaced, a typo)")
    found += media_url_problems(host, default, public_media, custom_domain, media_base_url)
    found += _staticfiles_kept(report, staticfiles_before)
    return found


def media_url_problems(host: str, storage: dict, public_media: bool, custom_domain: str | None,
                       media_base_url: str | None) -> list[str]:
    """Why the URLs an S3 storage renders would not serve the media: unsigned for private media (the bucket
    answers 403), or not through the configured custom domain.  A report from before the probe said how it
    renders URLs (no querystring_auth) is not judged; a storage with a custom domain while the config has none
    (the snippet's bucket host on AWS, or the site's own CDN) is fine."""
    if "querystring_auth" not in storage:
        return []
    found, domain = [], storage.get("custom_domain")
    if not public_media and _unsigned(storage):
        why = ", ".join(filter(None, ["querystring_auth off" if not storage.get("querystring_auth") else "",
                                      f"custom_domain {domain!r} set: it cannot sign" if domain else ""]))
        found.append(f"{host}: PUBLIC_MEDIA=false but the site's settings render unsigned media URLs "
                     f"({why or 'no signature in them'}): every media URL would answer 403 from the private bucket; "
                     "set querystring_auth True and no custom_domain in STORAGES['default'] "
                     "(`invoke settings-snippet` prints it)")
    if not custom_domain:
        return found
    if (domain or "").strip("/").lower() != custom_domain.lower():
        found.append(f"{host}: MEDIA_CUSTOM_DOMAIN is {custom_domain!r} but the site's S3 storage has "
                     f"custom_domain {domain!r}: its media URLs would not go through the domain; set custom_domain "
                     f"{custom_domain!r} in STORAGES['default'] (`invoke settings-snippet` prints it)")
    elif media_base_url and storage.get("url_base") and storage["url_base"] != media_base_url:
        found.append(f"{host}: the site's S3 storage renders media URLs under {storage['url_base']}, not "
                     f"{media_base_url} (MEDIA_CUSTOM_DOMAIN, AWS_LOCATION): check the storage's url_protocol "
                     f"({storage.get('url_protocol')!r}; 'http:' for a plain-HTTP domain) and location "
                     "(`invoke settings-snippet` prints the block)")
    return found


def _unsigned(storage: dict) -> bool:
    """Would its URLs carry no signature?  As the probe saw one rendered, else (it could not sign: no key in
    the probe's environment) as django-storages decides: querystring_auth, and no custom_domain (#165)."""
    if storage.get("signed_url") is not None:
        return not storage["signed_url"]
    return storage.get("querystring_auth") is False or bool(storage.get("querystring_auth") and
                                                             storage.get("custom_domain"))


def problems_on_disk(report: StorageReport, media_root: str | None, staticfiles_before: str | None) -> list[str]:
    """Why these settings do not serve media from the disk (rollback); ``media_root`` checked where given."""
    host, default = report.host, report.serving
    if DISK_BACKEND not in report.default_classes:
        return [f"{host}: with the switch off, the default storage is {default.get('backend')}, not "
                "FileSystemStorage: the site would keep storing media in the bucket; fix the settings"]
    found = []
    if media_root and default.get("real_location") != media_root:
        found.append(f"{host}: the site stores media in {default.get('location')}, not in MEDIA_ROOT "
                     f"({media_root})")
    return found + _staticfiles_kept(report, staticfiles_before)


def _staticfiles_kept(report: StorageReport, before: str | None) -> list[str]:
    if before is None or report.staticfiles == before:
        return []
    return [f"{report.host}: the flip changed the staticfiles backend from {before} to {report.staticfiles}: "
            "the block the switch guards replaces STORAGES whole; update only STORAGES['default'] "
            "(`invoke settings-snippet` prints such a block)"]


MIRROR_BACKEND = "media_mirror.MirrorStorage"


def problems_of_mirror(report: StorageReport, on: bool, name: str, bucket: str, prefix: str,
                       endpoint: str | None, media_root: str | None) -> list[str]:
    """Why these settings do not mirror as the mirror's switch (``name``) set ``on`` calls for: with it on,
    the default storage must be the mirror, its second storage the other one (the bucket and prefix the
    media went to, or MEDIA_ROOT); with it off, not the mirror.  The primary is judged by the callers."""
    host, default = report.host, report.default or {}
    if not on:
        return [] if report.mirror is None else [
            f"{host}: with {name} off the default storage is still the mirror ({default.get('backend')}): the "
            f"block {name} guards does not decide it; fix the settings"]
    if report.mirror is None:
        return [f"{host}: with {name} on, the default storage is {default.get('backend')}, not the mirror "
                f"({MIRROR_BACKEND}): the site's settings do not build it; add the mirror block "
                "(`invoke settings-snippet` with CHANGEOVER=mirror prints it) and media_mirror.py beside the "
                "settings (`invoke settings-snippet --part=mirror`)"]
    secondary = replace(report, default=report.mirror["secondary"])
    if S3_BACKEND in report.default_classes:
        found = problems_on_disk(secondary, media_root, None)
    else:  # its URLs are not served while it is second: they are judged once the switch makes it the primary
        found = problems_on_s3(secondary, bucket, prefix, endpoint, None)
    return [f"the mirror's second storage: {problem}" for problem in found]
