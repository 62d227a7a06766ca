"""Per-environment configuration: ``config/<env>.env`` into one typed Settings.

Precedence, lowest first: ``config/<env>.env`` (committed), then the git-ignored
``config/<env>.secrets.env``, then real environment variables.  The S3 keys are
named as django-storages names them, so one file can feed the site and us.

Per-host values (``SETTINGS_PATH``, ``SITE_URL``, ...) may be overridden for
one host with ``KEY__HOST``, the host alias upper-cased with every other
character than a letter or digit turned into ``_`` (``SITE_URL__WEB2``).

Everything is validated here, once per run; the rest of the code trusts it.
The types it builds live in ``deploy.config.types``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

from dotenv import dotenv_values

from ..errors import ConfigError
from .keys import (CHANGEOVERS, DEPLOY_KEYS, KNOWN_KEYS, PER_HOST_KEYS, PLACEHOLDER, REQUIRED_KEYS, SECRET_KEYS,
                   SWITCH_FORMATS, host_key, mask, unknown_key_problem)
from .types import (DEFAULT_QUERYSTRING_EXPIRE, DEFAULT_STORE_RETRY_ATTEMPTS, DEFAULT_STORE_RETRY_SECONDS, HostSettings,
                    Secret, Settings)

ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
HOST_ALIAS = re.compile(r"^[A-Za-z0-9_.@:-]+$")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
SYNC_TOOLS = ("rclone", "s5cmd", "s3cmd")
CHECKSUM_MODES = ("when_required", "when_supported")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HOST_NAME = re.compile(r"^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::[0-9]{1,5})?$")
SETTINGS_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

def known_environments(config_dir: Path) -> list[str]:
    return sorted(path.name[:-4] for path in config_dir.glob("*.env")
                  if not path.name.endswith(".secrets.env"))


def load(env: str | None, project_root: Path, environ: Mapping[str, str] | None = None, *,
         deploy_key_optional: bool = False) -> Settings:
    """The environment a command was given (``--env``): the one way in for every command.

    ConfigError when none was given.  With ``deploy_key_optional`` (provision, which
    makes the deploy key, and the commands that may run before it) a placeholder that
    signs nothing stands in for a deploy key the environment does not have yet.
    """
    if not env:
        raise ConfigError("no environment given: pass --env=NAME (a config/NAME.env file)")
    if deploy_key_optional:
        environ = _with_placeholder_key(env, project_root, environ)
    return load_settings(env, project_root, environ)


def _with_placeholder_key(env: str, project_root: Path, environ: Mapping[str, str] | None) -> dict[str, str]:
    environ = dict(os.environ if environ is None else environ)
    files = {}
    for name in (f"{env}.env", f"{env}.secrets.env"):
        path = project_root / "config" / name
        if path.is_file():
            files.update({key: value for key, value in dotenv_values(path, interpolate=False).items() if value})
    for key in DEPLOY_KEYS:
        if not environ.get(key) and not files.get(key):
            environ[key] = PLACEHOLDER
    return environ


def load_settings(env: str, project_root: Path,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read, overlay and validate the configuration of ``env`` (a name already given)."""
    environ = os.environ if environ is None else environ
    config_dir = project_root / "config"
    env_file = config_dir / f"{env}.env"
    if not ENV_NAME.match(env or "") or not env_file.is_file():
        known = ", ".join(known_environments(config_dir)) or "none"
        raise ConfigError(f"unknown environment {env!r}: there is no config/{env}.env "
                          f"(known: {known}); copy config/prod.env.example to start one")
    raw = _read_layers(env, config_dir, environ)
    return _validate(env, project_root, raw)


def _read_layers(env: str, config_dir: Path, environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """key -> (value, source), the later layer winning."""
    layers = [(config_dir / f"{env}.env", f"config/{env}.env"),
              (config_dir / f"{env}.secrets.env", f"config/{env}.secrets.env")]
    merged: dict[str, tuple[str, str]] = {}
    for path, label in layers:
        if path.is_file():
            # interpolate=False: a value means what it says, not what the shell has.
            for key, value in dotenv_values(path, interpolate=False).items():
                merged[key] = ((value or "").strip(), label)
    for key, value in environ.items():
        if key in KNOWN_KEYS or key.split("__")[0] in PER_HOST_KEYS and "__" in key:
            merged[key] = (value.strip(), "environment")
    return merged


class _Reader:
    """Typed access to the merged values; problems are collected, not raised one by one."""

    def __init__(self, env: str, raw: dict[str, tuple[str, str]]):
        self.env, self.raw, self.problems = env, raw, []

    def where(self, key: str) -> str:
        return self.raw[key][1] if key in self.raw else f"config/{self.env}.env"

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where(key)}: {key} {message}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key, ("", ""))[0]
        if value:
            return value
        if default is None and key in REQUIRED_KEYS:
            self.problem(key, f"is missing; expected {KNOWN_KEYS[key]}")
        return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.text(key)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        self.problem(key, f"is {value!r}; expected true or false")
        return default

    def number(self, key: str, default: float, kind=float, zero_allowed: bool = False):
        value = self.text(key)
        if value is None:
            return default
        try:
            number = kind(value)
        except ValueError:
            number = -1
        if number < 0 or (number == 0 and not zero_allowed) or number != number or number == float("inf"):
            expected = "a number of 0 or more" if zero_allowed else f"a positive {kind.__name__}"
            self.problem(key, f"is {value!r}; expected {expected}")
            return default
        return number

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            self.problem(key, f"is {value!r}; expected one of {', '.join(choices)}")
            return default
        return value

    def url(self, key: str, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.problem(key, f"is {value!r}; expected an http:// or https:// URL")
        return value.rstrip("/")


def _validate(env: str, project_root: Path, raw: dict[str, tuple[str, str]]) -> Settings:
    read = _Reader(env, raw)
    for key, (_, source) in raw.items():
        if source != "environment" and (problem := unknown_key_problem(key)):
            read.problem(key, problem)
    aliases = [alias.strip() for alias in (read.text("HOSTS") or "").split(",") if alias.strip()]
    for alias in aliases:
        if not HOST_ALIAS.match(alias):
            read.problem("HOSTS", f"has {alias!r}; expected SSH aliases or user@host[:port], comma-separated")
    if len(set(aliases)) != len(aliases):
        read.problem("HOSTS", "lists a host twice")
    media_host = read.text("MEDIA_HOST", aliases[0] if aliases else "")
    if aliases and media_host not in aliases:
        read.problem("MEDIA_HOST", f"is {media_host!r}; expected one of HOSTS ({', '.join(aliases)})")

    hosts = tuple(_host_settings(read, alias) for alias in aliases)
    bucket = read.text("AWS_STORAGE_BUCKET_NAME") or ""
    if bucket and not _valid_bucket_name(bucket):
        read.problem("AWS_STORAGE_BUCKET_NAME", f"is {bucket!r}; expected an S3 bucket name: 3-63 "
                     "lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit")
    prefix = (read.text("AWS_LOCATION", "media") or "").strip("/")
    if not prefix or "//" in prefix or prefix.startswith("."):
        read.problem("AWS_LOCATION", f"is {prefix!r}; expected a key prefix such as media")
    secret = read.text("AWS_SECRET_ACCESS_KEY") or ""
    ssh_config = read.text("SSH_CONFIG", "")
    media_list_path = read.text("MEDIA_LIST_PATH", "") or None
    if media_list_path and not media_list_path.startswith("/"):
        read.problem("MEDIA_LIST_PATH", f"is {media_list_path!r}; expected a path starting with /")

    settings = Settings(
        env=env,
        project_root=project_root,
        hosts=hosts,
        media_host=media_host or "",
        media_root=read.text("MEDIA_ROOT") or "",
        bucket=bucket,
        region=read.text("AWS_S3_REGION_NAME", "us-east-1"),
        endpoint_url=read.url("AWS_S3_ENDPOINT_URL", read.text("AWS_S3_ENDPOINT_URL", "") or None),
        media_prefix=prefix,
        access_key_id=read.text("AWS_ACCESS_KEY_ID") or "",
        secret_access_key=Secret(secret),
        checksum_mode=read.choice("AWS_REQUEST_CHECKSUM_CALCULATION", CHECKSUM_MODES, "when_required"),
        public_media=read.flag("PUBLIC_MEDIA", True),
        cache_control=read.text("CACHE_CONTROL", "") or None,
        sync_tool=read.choice("SYNC_TOOL", SYNC_TOOLS, "rclone"),
        sync_concurrency=read.number("SYNC_CONCURRENCY", 32, int),
        reload_timeout=read.number("RELOAD_TIMEOUT", 60.0),
        reload_grace=read.number("RELOAD_GRACE_SECONDS", 30.0, zero_allowed=True),
        media_list_path=media_list_path,
        ssh_config=(project_root / ssh_config) if ssh_config else None,
        remote_python=read.text("REMOTE_PYTHON", "python3"),
        tools_dir=read.text("TOOLS_DIR", "~/.media-cutover"),
        production=read.flag("PRODUCTION", False),
        switch_name=_switch_name(read),
        changeover=read.choice("CHANGEOVER", CHANGEOVERS, "copy"),
        mirror_switch_name=_switch_name(read, "MIRROR_SWITCH_NAME", "MEDIA_MIRROR"),
        mirror_failures=read.text("MIRROR_FAILURES", "~/.media-cutover/mirror-failures.jsonl"),
        old_media_hosts=_old_media_hosts(read),
        disk_media_url=_disk_media_url(read),
        store_retry_attempts=read.number("STORE_RETRY_ATTEMPTS", DEFAULT_STORE_RETRY_ATTEMPTS, int),
        store_retry_seconds=read.number("STORE_RETRY_SECONDS", DEFAULT_STORE_RETRY_SECONDS),
        querystring_expire=read.number("AWS_QUERYSTRING_EXPIRE", DEFAULT_QUERYSTRING_EXPIRE, int),
        **_custom_domain(read),
        effective=_effective(raw),
    )
    if settings.mirror_switch_name == settings.switch_name:
        read.problem("MIRROR_SWITCH_NAME", f"is {settings.mirror_switch_name!r}, the same as SWITCH_NAME; expected "
                     "a second name, such as MEDIA_MIRROR")
    if settings.custom_domain and not settings.public_media:
        read.problem(_custom_domain_key(read), f"is {settings.custom_domain!r} while PUBLIC_MEDIA=false: a custom domain "
                     "cannot sign URLs for a plain bucket (django-storages drops query-string auth with custom_domain, "
                     "django-storages#165), so every media URL would be refused; serve private media from the "
                     "bucket's own URL (no custom domain), or make them public")
    if settings.ssh_config and not settings.ssh_config.is_file():
        read.problem("SSH_CONFIG", f"is {ssh_config!r} but {settings.ssh_config} does not exist"
                     + (" (run `invoke sandbox.up` first)" if env == "sandbox" else ""))
    if read.problems:
        raise ConfigError("\n".join(read.problems))
    return settings


def _host_settings(read: _Reader, alias: str) -> HostSettings:
    def value(key: str, required: bool = True) -> str | None:
        override = host_key(key, alias)
        if read.raw.get(override, ("", ""))[0]:
            return read.raw[override][0]
        return read.text(key) if required else read.text(key, "") or None

    site_url = read.url("SITE_URL", value("SITE_URL"))
    health_url = read.url("HEALTH_URL", value("HEALTH_URL", required=False))
    manage_py = value("MANAGE_PY", required=False)
    site_python = value("SITE_PYTHON", required=False)
    if manage_py and not site_python:
        read.problem(host_key("SITE_PYTHON", alias), "is missing; expected the site's Python when MANAGE_PY is set")
    settings_path = value("SETTINGS_PATH") or ""
    settings_module = value("DJANGO_SETTINGS_MODULE", required=False)
    if settings_module and not SETTINGS_MODULE.match(settings_module):
        read.problem("DJANGO_SETTINGS_MODULE", f"is {settings_module!r}; expected a dotted module such as "
                                               "shop.settings.production")
    # With check pages (MEDIA_CHECK_PATHS) the health check reads them: no /healthz is assumed.  A config
    # of today's tool (MEDIA_LIST_PATH, the alias, beside the default SITE_URL/healthz) keeps its meaning.
    check_pages = value("MEDIA_CHECK_PATHS", required=False)
    switch_format = value("SWITCH_FORMAT", required=False) or "auto"
    if switch_format not in SWITCH_FORMATS:
        read.problem("SWITCH_FORMAT", f"is {switch_format!r}; expected one of {', '.join(SWITCH_FORMATS)}")
    if switch_format not in ("python", "env"):
        switch_format = "python" if settings_path.endswith(".py") else "env"
    return HostSettings(
        alias=alias,
        settings_path=settings_path,
        reload_command=value("RELOAD_COMMAND") or "",
        site_url=site_url or "",
        health_url=health_url or (None if check_pages else f"{site_url or ''}/healthz"),
        manage_py=manage_py,
        site_python=site_python,
        settings_module=settings_module,
        switch_format=switch_format,
        media_check_paths=_paths(read, check_pages or read.text("MEDIA_LIST_PATH", "")),
        thumbnail_pages=_paths(read, value("THUMBNAIL_PAGES", required=False), "THUMBNAIL_PAGES"),
    )


def _paths(read: _Reader, text: str | None, key: str = "MEDIA_CHECK_PATHS") -> tuple[str, ...]:
    paths = tuple(path.strip() for path in (text or "").split(",") if path.strip())
    for path in paths:
        if not path.startswith("/"):
            read.problem(key, f"has {path!r}; expected paths starting with /, comma-separated")
    return paths


def _old_media_hosts(read: _Reader) -> tuple[str, ...]:
    hosts = tuple(dict.fromkeys(host.strip().lower() for host in (read.text("OLD_MEDIA_HOSTS", "") or "").split(",")
                                if host.strip()))
    for host in hosts:
        if not HOST_NAME.match(host):
            read.problem("OLD_MEDIA_HOSTS", f"has {host!r}; expected host names such as www.example.com or "
                                            "host:port, comma-separated (no scheme, no path)")
    return hosts


def _disk_media_url(read: _Reader) -> str | None:
    """A path or an http(s) URL, ending in "/" as Django's MEDIA_URL must."""
    value = read.text("DISK_MEDIA_URL", "") or None
    if value is None:
        return None
    parsed = urlparse(value)
    absolute = parsed.scheme in ("http", "https") and parsed.netloc
    if not value.endswith("/") or not (absolute or (value.startswith("/") and not value.startswith("//"))) \
            or parsed.query or parsed.fragment:
        read.problem("DISK_MEDIA_URL", f"is {value!r}; expected a path such as /media/ or a URL such as "
                                       "https://media.example.com/, ending in /")
    return value


CUSTOM_DOMAIN_KEYS = ("MEDIA_CUSTOM_DOMAIN", "AWS_S3_CUSTOM_DOMAIN")  # ours, and django-storages' own name


def _custom_domain_key(read: _Reader) -> str:
    return next((key for key in CUSTOM_DOMAIN_KEYS if read.text(key, "")), CUSTOM_DOMAIN_KEYS[0])


def _custom_domain(read: _Reader) -> dict:
    """custom_domain (host[:port]) and its scheme, from MEDIA_CUSTOM_DOMAIN or AWS_S3_CUSTOM_DOMAIN: a host name
    (https), or an http(s):// URL with nothing after the host."""
    given = [key for key in CUSTOM_DOMAIN_KEYS if read.text(key, "")]
    if not given:
        return {}
    if len(given) > 1 and read.text(given[0]) != read.text(given[1]):
        read.problem(given[1], f"is {read.text(given[1])!r} but {given[0]} is {read.text(given[0])!r}; set one of them")
    key, value = given[0], read.text(given[0]).strip()
    parsed = urlparse(value if "://" in value else f"https://{value}")
    if (parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path.strip("/") or parsed.query
            or parsed.fragment or "@" in parsed.netloc or not HOST_NAME.match(parsed.netloc.lower())):
        read.problem(key, f"is {value!r}; expected the host name media are served from, such as cdn.example.com "
                          "(https), or http://host:port for a plain-HTTP one (no path)")
        return {}
    return {"custom_domain": parsed.netloc.lower(), "custom_domain_scheme": parsed.scheme}


def _switch_name(read: _Reader, key: str = "SWITCH_NAME", default: str = "USE_S3") -> str:
    name = read.text(key, default)
    if not IDENTIFIER.match(name):
        read.problem(key, f"is {name!r}; expected a Python name such as {default}")
        return default
    return name


def _valid_bucket_name(name: str) -> bool:
    return (bool(BUCKET_NAME.match(name)) and ".." not in name and ".-" not in name
            and "-." not in name and not IP_ADDRESS.match(name)
            and not name.startswith("xn--") and not name.endswith("-s3alias"))


def _effective(raw: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """What `invoke config` prints: only our keys, secrets masked."""
    shown = {}
    for key, (value, source) in sorted(raw.items()):
        base = key.split("__")[0]
        if key in KNOWN_KEYS or (base in PER_HOST_KEYS and "__" in key):
            shown[key] = (mask(value) if base in SECRET_KEYS else value, source)
    return shown
