"""Admin keys for one command, and the deploy key in ``config/<env>.secrets.env``.

The admin keys (create buckets, users, policies) come from ``--admin-env=FILE``
or from ``MEDIA_CUTOVER_ADMIN_ACCESS_KEY_ID`` / ``MEDIA_CUTOVER_ADMIN_SECRET_ACCESS_KEY``;
for the sandbox they default to ``.sandbox/s3-admin.env``.  They live in a
``Settings`` copy for the run only: never written, never printed.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

from ..errors import ConfigError
from .keys import DEPLOY_KEYS
from .types import Secret, Settings

ADMIN_KEY_VAR = "MEDIA_CUTOVER_ADMIN_ACCESS_KEY_ID"
ADMIN_SECRET_VAR = "MEDIA_CUTOVER_ADMIN_SECRET_ACCESS_KEY"
SANDBOX_ADMIN_ENV = ".sandbox/s3-admin.env"
_KEY_LINE = re.compile(r"^\s*(?:export\s+)?(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)\s*=")


def secrets_path(settings: Settings) -> Path:
    return settings.project_root / "config" / f"{settings.env}.secrets.env"


def backup_path(settings: Settings) -> Path:
    """The secrets file as it was before provision wrote a key (non-production only).

    Named ``*.secrets.env`` so the project's .gitignore covers it.
    """
    return settings.project_root / "config" / f"{settings.env}.before-provision.secrets.env"


def admin_settings(settings: Settings, admin_env: str | None,
                   environ: Mapping[str, str] | None = None) -> Settings:
    """``settings`` with the admin keys, from the file, the environment or the sandbox's default."""
    environ = os.environ if environ is None else environ
    if admin_env:
        path = Path(admin_env).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        return _from_file(settings, path, "--admin-env")
    if environ.get(ADMIN_KEY_VAR) or environ.get(ADMIN_SECRET_VAR):
        key_id, secret = environ.get(ADMIN_KEY_VAR, ""), environ.get(ADMIN_SECRET_VAR, "")
        if not key_id or not secret:
            raise ConfigError(f"set both {ADMIN_KEY_VAR} and {ADMIN_SECRET_VAR} (only one is set)")
        return replace(settings, access_key_id=key_id, secret_access_key=Secret(secret))
    if settings.env == "sandbox":
        return _from_file(settings, settings.project_root / SANDBOX_ADMIN_ENV, "the sandbox's admin file")
    raise ConfigError(f"no admin keys for environment {settings.env!r}: pass --admin-env=FILE (a dotenv "
                      f"file with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or set {ADMIN_KEY_VAR} and "
                      f"{ADMIN_SECRET_VAR}; they are used for this command only and never stored")


def _from_file(settings: Settings, path: Path, what: str) -> Settings:
    if not path.is_file():
        hint = " (run `invoke sandbox.up` first)" if what.startswith("the sandbox") else ""
        raise ConfigError(f"{what} {path} does not exist{hint}")
    values = dotenv_values(path, interpolate=False)
    key_id, secret = (values.get("AWS_ACCESS_KEY_ID") or "").strip(), (values.get("AWS_SECRET_ACCESS_KEY") or "").strip()
    if not key_id or not secret:
        raise ConfigError(f"{what} {path} lacks AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY")
    return replace(settings, access_key_id=key_id, secret_access_key=Secret(secret))


def key_on_file(settings: Settings) -> tuple[str, Secret] | None:
    """The deploy key written in the secrets file (not the environment's override), if complete."""
    path = secrets_path(settings)
    if not path.is_file():
        return None
    values = dotenv_values(path, interpolate=False)
    key_id, secret = (values.get("AWS_ACCESS_KEY_ID") or "").strip(), (values.get("AWS_SECRET_ACCESS_KEY") or "").strip()
    return (key_id, Secret(secret)) if key_id and secret else None


def with_key(settings: Settings, key_id: str, secret: Secret) -> Settings:
    return replace(settings, access_key_id=key_id, secret_access_key=secret)


def replace_key_lines(text: str, key_id: str, secret: str, header: str = "") -> str:
    """``text`` with only the two deploy-key lines replaced (appended if absent); other lines kept."""
    values = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name} contains a line break")
    lines, written = [], set()
    for line in text.splitlines():
        match = _KEY_LINE.match(line)
        if match:
            name = match.group(1)
            if name not in written:
                lines.append(f"{name}={values[name]}")
                written.add(name)
            continue  # a repeated line of the same key would override ours: dropped
        lines.append(line)
    if not text and header:
        lines.append(header)
    lines += [f"{name}={value}" for name, value in values.items() if name not in written]
    return "\n".join(lines) + "\n"


def drop_key_lines(text: str) -> str:
    """``text`` without the two deploy-key lines."""
    kept = [line for line in text.splitlines() if not _KEY_LINE.match(line)]
    return "\n".join(kept) + "\n" if kept else ""


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, mode 600 from the first byte."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def store_deploy_key(settings: Settings, key_id: str, secret: str) -> Path:
    """Write the new deploy key into ``config/<env>.secrets.env`` (mode 600), keeping other lines.

    Outside production the previous file is kept once beside it, so teardown-provision can put
    it back (a sandbox's previous key is the one its sites and tests use).
    """
    path = secrets_path(settings)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    backup = backup_path(settings)
    if old and not settings.production and not backup.exists():
        write_private(backup, old)
    header = f"# config/{settings.env}.secrets.env: git-ignored, mode 600. Deploy key by `invoke provision`."
    write_private(path, replace_key_lines(old, key_id, secret, header))
    return path


def environment_overrides(environ: Mapping[str, str] | None = None) -> list[str]:
    """Deploy-key variables in the real environment, which override the secrets file."""
    environ = os.environ if environ is None else environ
    return [key for key in DEPLOY_KEYS if environ.get(key)]
