"""Bearer credentials out of text that reaches people or files: errors, logs, the journal.

Pure.  A presigned URL is a secret for as long as it is valid (the listing's are
for 15 minutes): its query string carries the signature, and the credential
scope names the key.  Such a query string is replaced whole; loose signature
fields and Authorization headers are masked too.  A URL a check shows (``url_shown``) loses any query
string, signed or not: a private storage's URL may carry its token under another name.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
_SIGNING_FIELD = r"(?:X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)="
# A URL's query string (up to where a URL ends in prose, JSON or a repr) that carries a signing field.
_SIGNED_QUERY = re.compile(r"\?(?=[^\s'\"<>()]*?" + _SIGNING_FIELD + r")[^\s'\"<>()]*", re.IGNORECASE)
_LOOSE_FIELD = re.compile(r"(" + _SIGNING_FIELD + r")[^&\s'\"<>]+", re.IGNORECASE)
_AUTHORIZATION = re.compile(r"(\bAuthorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` without any presigned query string, signing field or Authorization value."""
    text = _SIGNED_QUERY.sub("?" + REDACTED, text)
    text = _LOOSE_FIELD.sub(REDACTED, text)
    return _AUTHORIZATION.sub(lambda match: match.group(1) + REDACTED, text)


def url_shown(url: str) -> str:
    """``url`` for a message: its query string, whatever it holds, replaced whole (and its fragment dropped)."""
    base, query = url.split("#", 1)[0], ""
    if "?" in base:
        base, query = base.split("?", 1)
    return redact(base + (f"?{REDACTED}" if query else ""))
