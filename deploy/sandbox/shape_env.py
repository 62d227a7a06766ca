"""A sandbox site shape's environment file: its values, its text as first written and as refreshed, its write.

The file (``Shape.env_file`` in the shape's directory, mode 600: it holds the deploy key) carries what the
shape's site reads from its environment: shape (a)'s values (``sites.site_env_values``) with the shape's own
port, media, database and static root.  Written once whole (``pristine_env_text``); an ``up`` again brings
only the sandbox's values up to date (``refreshed_env_text``), so that a switch the tool flipped there stays.
"""

from __future__ import annotations

import pwd

from ..config.types import Settings
from .layout import Layout
from .shapes import Shape, put_file, static_root
from .sites import site_env_values


def env_values(layout: Layout, settings: Settings, shape: Shape, alias: str) -> dict[str, str]:
    """What the shape's site reads from its environment file, but the switch."""
    env_path = layout.shape_dir(alias, shape.name) / shape.env_file
    values = site_env_values(layout, settings, alias, shape.gunicorn_port(alias), env_path)
    if shape.own_data:
        values["MEDIA_ROOT"] = str(layout.shape_media(shape.name))
        values["DATABASE_PATH"] = str(layout.shape_database(shape.name))
    values.update(shape.site_env)
    if shape.front_end:
        values["STATIC_ROOT"] = str(static_root(layout, shape, alias))
    if shape.switch_in_env_file:  # django-environ's spelling, as cookiecutter-style projects write it
        values["DATABASE_URL"] = f"sqlite:///{values.pop('DATABASE_PATH')}"
        values["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    return values


def pristine_env_text(shape: Shape, values: dict[str, str]) -> str:
    """The environment file as the sandbox first writes it; with the switch ``USE_S3=false`` if it lives there."""
    lines = [f"# Shape {shape.name}'s environment (written by `invoke sandbox.up --shapes={shape.name}`; mode 600)."]
    if shape.switch_in_env_file:
        lines.append("# django-environ reads it (envsite/settings.py); the storage switch is USE_S3.")
    aws = [key for key in values if key.startswith("AWS_") or key == "CACHE_CONTROL"]
    lines += [f"{key}={value}" for key, value in values.items() if key not in aws]
    if shape.switch_in_env_file:
        lines += ["", "# Media storage: false = the local disk (MEDIA_ROOT), true = the S3 bucket below.",
                  "USE_S3=false"]
    lines += [f"{key}={values[key]}" for key in aws]
    return "\n".join(lines) + "\n"


def refreshed_env_text(previous: str, values: dict[str, str]) -> str:
    """``previous`` with the sandbox's values brought up to date: the switch, comments and order stay."""
    lines, written = [], set()
    for line in previous.splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
        if key in values:
            lines.append(f"{key}={values[key]}")
            written.add(key)
        else:
            lines.append(line)
    lines += [f"{key}={value}" for key, value in values.items() if key not in written]
    return "\n".join(lines) + "\n"


def write_env_file(layout: Layout, settings: Settings, shape: Shape, alias: str, account: pwd.struct_passwd,
                   pristine: bool = False) -> bool:
    """Write the shape's environment file (mode 600); True when its content changed."""
    path = layout.shape_dir(alias, shape.name) / shape.env_file
    values = env_values(layout, settings, shape, alias)
    if pristine or not path.is_file():
        text = pristine_env_text(shape, values)
    else:
        text = refreshed_env_text(path.read_text(encoding="utf-8"), values)
    before = path.read_bytes() if path.is_file() else None
    put_file(path, text.encode("utf-8"), account, 0o600)
    return text.encode("utf-8") != before
