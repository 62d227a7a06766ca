"""What `invoke provision` should make for an environment, from its settings: pure.

Names (fixed, derived from the environment, so a second run finds what the
first made): IAM user and group ``media-cutover-<env>``, inline policy
``media-cutover-media-writer`` on the group (on the user where the store has
no IAM groups).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.types import Settings
from . import policies

POLICY_NAME = "media-cutover-media-writer"


@dataclass(frozen=True)
class Names:
    user: str
    group: str
    policy: str = POLICY_NAME


def names_for(env: str) -> Names:
    return Names(user=f"media-cutover-{env}", group=f"media-cutover-{env}")


@dataclass(frozen=True)
class Desired:
    """What the environment needs, from its settings."""

    bucket: str
    region: str
    prefix: str
    names: Names
    bucket_policy: dict | None      # None: media are not public, no bucket policy
    access_block: dict
    ownership: str
    writer_policy: dict


def desired_for(settings: Settings) -> Desired:
    public = settings.public_media
    return Desired(
        bucket=settings.bucket, region=settings.region, prefix=settings.media_prefix,
        names=names_for(settings.env),
        bucket_policy=policies.public_read_policy(settings.bucket, settings.media_prefix) if public else None,
        access_block=policies.PUBLIC_POLICY_ACCESS_BLOCK if public else policies.PRIVATE_ACCESS_BLOCK,
        ownership=policies.OWNERSHIP,
        writer_policy=policies.writer_policy(settings.bucket, settings.media_prefix))
