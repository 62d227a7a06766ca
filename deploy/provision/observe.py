"""Inspect the store for `invoke provision`: what ``deploy.provision.plan.plan`` compares.

:func:`observe` reads everything the plan needs, with the admin keys; it reads
only.  The store's refusals become one line each (``deploy.store.errors``).
"""

from __future__ import annotations

import botocore.exceptions

from ..config import credentials
from ..config.types import Settings
from ..errors import ProvisionError
from ..store import bucket_admin, iam
from ..store.errors import store_errors, unsupported
from .desired import Desired
from .plan import Observed


def observe(s3, iam_api, settings: Settings, desired: Desired) -> Observed:
    """Read everything :func:`plan` compares; reads only."""
    names = desired.names
    values: dict = {}
    with store_errors(settings, f"reading bucket {settings.bucket}"):
        values["bucket"] = bucket_admin.bucket_state(s3, settings) == "present"
        if values["bucket"]:
            if not settings.endpoint_url:
                region = bucket_admin.bucket_region(s3, settings)
                if region != settings.region:
                    raise ProvisionError(f"bucket {settings.bucket} is in region {region}, not in "
                                         f"AWS_S3_REGION_NAME={settings.region}: fix AWS_S3_REGION_NAME")
            values["bucket_policy"] = bucket_admin.bucket_policy(s3, settings.bucket)
            values["access_block"] = bucket_admin.public_access_block(s3, settings.bucket)
            values["ownership"] = bucket_admin.ownership(s3, settings.bucket)
    warnings = []
    with store_errors(settings, "reading the IAM user and group"):
        try:
            values["group"] = iam.group_exists(iam_api, names.group)
        except botocore.exceptions.ClientError as error:
            if not unsupported(error):
                raise
            values["groups_supported"] = False
        if values.get("group"):
            values["group_policy"] = iam.group_policy(iam_api, names.group, names.policy)
            warnings += _foreign_policies(iam_api, "group", names.group, names.policy)
        values["user"] = iam.user_exists(iam_api, names.user)
        if values["user"]:
            if values.get("groups_supported", True):
                groups = iam.groups_of(iam_api, names.user)
                values["member"] = names.group in groups
                warnings += [f"user {names.user} is also in group {group}, whose rights it has too: "
                             "remove it from that group for least privilege"
                             for group in groups if group != names.group]
            values["user_policy"] = iam.user_policy(iam_api, names.user, names.policy)
            warnings += _foreign_policies(iam_api, "user", names.user, names.policy)
            values["keys"] = tuple(iam.access_key_ids(iam_api, names.user))
    on_file = credentials.key_on_file(settings)
    values["key_on_file"] = on_file[0] if on_file else None
    extra = [key for key in values.get("keys", ()) if key != values["key_on_file"]]
    if extra and values["key_on_file"] in values.get("keys", ()):
        warnings.append(f"user {names.user} has another access key {', '.join(extra)} not in the secrets "
                        "file: delete it if nothing uses it")
    values["warnings"] = tuple(warnings)
    return Observed(**values)


def _foreign_policies(iam_api, kind: str, name: str, ours: str) -> list[str]:
    inline = [policy for policy in iam.inline_policy_names(iam_api, kind, name) if policy != ours]
    attached = iam.attached_policy_names(iam_api, kind, name)
    return [f"{kind} {name} also has policy {policy}, not made by provision: remove it for least privilege"
            for policy in [*inline, *attached]]
