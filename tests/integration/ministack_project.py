"""A temporary project whose environments point at one MiniStack: for test_ministack*.py.

Each environment gets its own config/<env>.env (config/sandbox.env with the
bucket, MiniStack's endpoint and PUBLIC_MEDIA replaced), so the sandbox's own
config and bucket are never touched; the admin keys are MiniStack's, in a
dotenv file as an operator would pass with --admin-env.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import botocore.exceptions

from deploy.config import credentials
from deploy.config.load import load
from deploy.store import bucket_admin
from deploy.store.errors import error_code
from deploy.provision.apply import ProvisionOptions, run_provision
from deploy.store.client import s3_client
from deploy.sandbox import ministack

ENV, BUCKET = "mstest", "media-cutover-ministack"
CHECKS = 10          # the "check   " lines of a complete provision_check.verify


@dataclass
class Project:
    """A temporary project root whose environments point at one MiniStack."""

    root: Path
    store: ministack.MiniStack
    template: str                  # config/sandbox.env, with the sandbox's SSH config
    env: str = ENV                 # the environment the methods default to

    @property
    def admin_env(self) -> Path:
        return self.root / "ministack-admin.env"

    def add_env(self, env: str, bucket: str, public_media: bool = True) -> None:
        text = re.sub(r"(?m)^AWS_STORAGE_BUCKET_NAME=.*$", f"AWS_STORAGE_BUCKET_NAME={bucket}", self.template)
        text = re.sub(r"(?m)^AWS_S3_ENDPOINT_URL=.*$", f"AWS_S3_ENDPOINT_URL={self.store.endpoint_url}", text)
        text = re.sub(r"(?m)^PUBLIC_MEDIA=.*$", f"PUBLIC_MEDIA={'true' if public_media else 'false'}", text)
        if not public_media:  # shared caches must not keep private media (Settings.private_cache_problem)
            text = re.sub(r"(?m)^CACHE_CONTROL=.*$", "CACHE_CONTROL=private, max-age=3600", text)
        (self.root / "config" / f"{env}.env").write_text(text)

    def settings(self, env: str | None = None):
        return load(env or self.env, self.root, {}, deploy_key_optional=True)

    def admin(self, env: str | None = None):
        return credentials.admin_settings(self.settings(env), str(self.admin_env), {})

    def key_settings(self, env: str | None = None):
        """The environment with the key provision wrote."""
        settings = self.settings(env)
        return credentials.with_key(settings, *credentials.key_on_file(settings))

    def provision(self, env: str | None = None, **options) -> tuple[list, str]:
        lines: list[str] = []
        steps = run_provision(self.settings(env), self.admin(env), ProvisionOptions(**options), lines.append)
        return steps, "\n".join(lines)

    def admin_s3(self, env: str | None = None):
        return s3_client(self.admin(env))


@contextmanager
def ministack_project(sandbox, root: Path, store: ministack.MiniStack, env: str = ENV,
                      bucket: str = BUCKET) -> Iterator[Project]:
    """A project root at ``root`` whose environment ``env`` (bucket ``bucket``) uses ``store``: one MiniStack
    for every module (``ministack_store``), each module its own environment, bucket and IAM user."""
    (root / "config").mkdir()
    template = (sandbox.project_root / "config" / "sandbox.env").read_text()
    template = re.sub(r"(?m)^SSH_CONFIG=.*$", f"SSH_CONFIG={sandbox.ssh_config}", template)
    made = Project(root, store, template, env)
    made.admin_env.write_text(store.admin_env())
    made.admin_env.chmod(0o600)
    made.add_env(env, bucket)
    yield made


def checked_with_nothing_skipped(output: str) -> bool:
    return (output.count("check   ") == CHECKS and "FAILED" not in output and "skipped" not in output
            and "warning" not in output)


def bucket_settings(client, bucket: str) -> tuple:
    """(Block Public Access, Object Ownership, bucket policy) as the admin reads them."""
    return (bucket_admin.public_access_block(client, bucket), bucket_admin.ownership(client, bucket),
            bucket_admin.bucket_policy(client, bucket))


def everything_public(bucket: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "OldPublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}


def code_of(call) -> str:
    try:
        call()
        return "ok"
    except botocore.exceptions.ClientError as error:
        return error_code(error)
