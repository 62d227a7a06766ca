"""Per-environment configuration: ``config/<env>.env`` into one typed Settings.

Precedence, lowest first: ``config/<env>.env`` (committed), then the git-ignored
``config/<env>.secrets.env``, then real environment variables.  The S3 keys are
named as django-storages names them, so one file can feed the site and us.

Per-host values (``SETTINGS_PATH``, ``SITE_URL``, ...) may be overridden for
one host with ``KEY__HOST``, the host alias upper-cased with every other
character than a letter or digit turned into ``_`` (``SITE_URL__WEB2``).

Everything is validated here, once per run; the rest of the code trusts it.
The types it builds live in ``deploy.config.types``; the readers of each value, and
the per-key validators, in ``deploy.config.values``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

from ..errors import ConfigError
from .keys import CHANGEOVERS, DEPLOY_KEYS, KNOWN_KEYS, PER_HOST_KEYS, PLACEHOLDER, SECRET_KEYS, mask, unknown_key_problem
from .types import DEFAULT_QUERYSTRING_EXPIRE, DEFAULT_STORE_RETRY_ATTEMPTS, DEFAULT_STORE_RETRY_SECONDS, Secret, Settings
from .values import (Reader, custom_domain, custom_domain_key, disk_media_url, host_settings, old_media_hosts,
                     switch_name, valid_bucket_name)

ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
HOST_ALIAS = re.compile(r"^[A-Za-z0-9_.@:-]+$")
SYNC_TOOLS = ("rclone", "s5cmd", "s3cmd")
CHECKSUM_MODES = ("when_required", "when_supported")

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


def _validate(env: str, project_root: Path, raw: dict[str, tuple[str, str]]) -> Settings:
    read = Reader(env, raw)
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

    hosts = tuple(host_settings(read, alias) for alias in aliases)
    bucket = read.text("AWS_STORAGE_BUCKET_NAME") or ""
    if bucket and not valid_bucket_name(bucket):
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
        switch_name=switch_name(read),
        changeover=read.choice("CHANGEOVER", CHANGEOVERS, "copy"),
        mirror_switch_name=switch_name(read, "MIRROR_SWITCH_NAME", "MEDIA_MIRROR"),
        mirror_failures=read.text("MIRROR_FAILURES", "~/.media-cutover/mirror-failures.jsonl"),
        old_media_hosts=old_media_hosts(read),
        disk_media_url=disk_media_url(read),
        store_retry_attempts=read.number("STORE_RETRY_ATTEMPTS", DEFAULT_STORE_RETRY_ATTEMPTS, int),
        store_retry_seconds=read.number("STORE_RETRY_SECONDS", DEFAULT_STORE_RETRY_SECONDS),
        querystring_expire=read.number("AWS_QUERYSTRING_EXPIRE", DEFAULT_QUERYSTRING_EXPIRE, int),
        **custom_domain(read),
        effective=_effective(raw),
    )
    if settings.mirror_switch_name == settings.switch_name:
        read.problem("MIRROR_SWITCH_NAME", f"is {settings.mirror_switch_name!r}, the same as SWITCH_NAME; expected "
                     "a second name, such as MEDIA_MIRROR")
    if settings.custom_domain and not settings.public_media:
        read.problem(custom_domain_key(read), f"is {settings.custom_domain!r} while PUBLIC_MEDIA=false: a custom domain "
                     "cannot sign URLs for a plain bucket (django-storages drops query-string auth with custom_domain, "
                     "django-storages#165), so every media URL would be refused; serve private media from the "
                     "bucket's own URL (no custom domain), or make them public")
    if settings.ssh_config and not settings.ssh_config.is_file():
        read.problem("SSH_CONFIG", f"is {ssh_config!r} but {settings.ssh_config} does not exist"
                     + (" (run `invoke sandbox.up` first)" if env == "sandbox" else ""))
    if read.problems:
        raise ConfigError("\n".join(read.problems))
    return settings



def _effective(raw: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """What `invoke config` prints: only our keys, secrets masked."""
    shown = {}
    for key, (value, source) in sorted(raw.items()):
        base = key.split("__")[0]
        if key in KNOWN_KEYS or (base in PER_HOST_KEYS and "__" in key):
            shown[key] = (mask(value) if base in SECRET_KEYS else value, source)
    return shown
