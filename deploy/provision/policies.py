"""The documents `invoke provision` sets, and how two policies are compared.

Pure: plain dicts in, plain dicts and text out.

Stores echo policies back in their own shape: SeaweedFS turns a one-element
``["s3:GetObject"]`` into ``"s3:GetObject"``, AWS may reorder statements or
keys.  :func:`canonical` maps every such spelling onto one form, so a policy
counts as drifted only when it *means* something else.
"""

from __future__ import annotations

import difflib
import json
from urllib.parse import unquote

VERSION = "2012-10-17"
# Statement keys whose value may be one string or a list of them.
_LISTY = ("Action", "NotAction", "Resource", "NotResource")

# Block Public Access, per bucket: the public-read bucket policy needs the two
# *policy* switches off; ACLs stay blocked (the tooling never uses ACLs).
PUBLIC_POLICY_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                              "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
# ... and everything blocked when media are not public (PUBLIC_MEDIA=false).
PRIVATE_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
# Object Ownership: ACLs disabled, the bucket owner owns every object.
OWNERSHIP = "BucketOwnerEnforced"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def public_read_policy(bucket: str, prefix: str) -> dict:
    """Anyone may GET objects under the media prefix; nobody anonymous may list.

    The same document the sandbox sets (deploy/sandbox/s3store.py), so a
    sandbox bucket counts as already in place.
    """
    return {"Version": VERSION, "Statement": [{
        "Sid": "PublicReadMedia", "Effect": "Allow", "Principal": "*",
        "Action": ["s3:GetObject"], "Resource": [f"{bucket_arn(bucket)}/{prefix}/*"]}]}


def writer_policy(bucket: str, prefix: str) -> dict:
    """The deploy key's rights: objects under the prefix, a listing limited to it, nothing else.

    ``s3:ListBucket`` restricted by ``s3:prefix`` also lets S3 answer 404 (not
    403) for a missing key under the prefix, which django-storages' ``exists()``
    needs (AWS evaluates the key as ``s3:prefix`` for that decision).
    """
    return {"Version": VERSION, "Statement": [
        {"Sid": "MediaObjects", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
         "Resource": [f"{bucket_arn(bucket)}/{prefix}/*"]},
        {"Sid": "ListMediaPrefix", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [bucket_arn(bucket)],
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/", f"{prefix}/*"]}}},
    ]}


def parse(document) -> dict | None:
    """A policy as a dict, whether the API gave a dict, JSON text or URL-encoded JSON."""
    if document is None or isinstance(document, dict):
        return document
    text = document.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    return json.loads(text)


def canonical(policy: dict | None) -> dict | None:
    """One spelling per meaning: string-or-list values as sorted lists, statements sorted."""
    if policy is None:
        return None
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    canon = [_canonical_statement(statement) for statement in statements]
    canon.sort(key=lambda statement: json.dumps(statement, sort_keys=True))
    rest = {key: value for key, value in policy.items() if key not in ("Statement", "Id")}
    return {**rest, "Statement": canon}


def _canonical_statement(statement: dict) -> dict:
    out = {}
    for key, value in statement.items():
        if key in _LISTY:
            out[key] = _sorted_list(value)
        elif key == "Principal":
            out[key] = _canonical_principal(value)
        elif key == "Condition":
            out[key] = {operator: {name: _sorted_list(values) for name, values in entries.items()}
                        for operator, entries in value.items()}
        else:
            out[key] = value
    return out


def _canonical_principal(value):
    # "*" and {"AWS": "*"} mean the same: anyone.
    if value == {"AWS": "*"} or value == {"AWS": ["*"]}:
        return "*"
    if isinstance(value, dict):
        return {kind: _sorted_list(ids) for kind, ids in value.items()}
    return value


def _sorted_list(value) -> list:
    values = value if isinstance(value, list) else [value]
    return sorted(values, key=str)


def same(observed: dict | None, desired: dict | None) -> bool:
    return canonical(observed) == canonical(desired)


def render(policy: dict | None) -> str:
    """A policy as the stable, sorted JSON shown to people (and diffed)."""
    if policy is None:
        return "(none)\n"
    return json.dumps(canonical(policy), indent=2, sort_keys=True) + "\n"


def policy_diff(observed: dict | None, desired: dict | None, name: str) -> str:
    """A unified diff from what is set to what provision would set; empty when they mean the same."""
    if same(observed, desired):
        return ""
    lines = difflib.unified_diff(render(observed).splitlines(keepends=True),
                                 render(desired).splitlines(keepends=True),
                                 fromfile=f"{name} (now)", tofile=f"{name} (provision)")
    return "".join(lines)
