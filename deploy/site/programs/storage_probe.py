"""What the site's settings really select, asked of Django itself: one line "MEDIA-CUTOVER-STORAGE <json>".

Runs inside the site (``manage.py shell -c``) under its settings module; deploy/site/facts/storage.py builds
the text, judges the report and keeps the marker (MARKER, checked equal to the one printed here).  It takes
no argv, so it reads variables of ours: MEDIA_CUTOVER_SWITCH and MEDIA_CUTOVER_MIRROR_SWITCH (the
switches' names), MEDIA_CUTOVER_ENV_FILE, MEDIA_CUTOVER_CHECK (run `manage.py check` too),
MEDIA_CUTOVER_SORL_COST, MEDIA_CUTOVER_STAGED (set by staged_settings.py).

Sent after what defines the names it expects:
- ``_THUMBNAILS_SCRIPT``: the text of thumbnail_tool.py and thumbnail_rows.py (an assignment the sender
  prepends);
- ``site_packages``: packages_report.py.
Needs Django: the integration tests run it in the sandbox's sites.
"""

import json, os
env_file, switch = os.environ.get("MEDIA_CUTOVER_ENV_FILE"), os.environ.get("MEDIA_CUTOVER_SWITCH", "USE_S3")
mirror_switch = os.environ.get("MEDIA_CUTOVER_MIRROR_SWITCH", "MEDIA_MIRROR")
from django.conf import settings
from django.core.files.storage import storages

def names(cls):
    return [klass.__module__ + "." + klass.__qualname__ for klass in cls.__mro__]

PROBE_NAME = "media-cutover-probe.txt"

def rendered_url(storage):
    """An S3 storage's URL of a media name, as (signed, base): does it carry a signature, and the URL without
    its query and the name (the host and prefix it renders).  Never the URL itself: a signed one is a bearer
    token.  S3Storage signs locally (no request); (None, None) when it cannot (no key here) or is not S3."""
    if not any(name.endswith(".S3Storage") for name in names(type(storage))):
        return None, None
    try:
        url = str(storage.url(PROBE_NAME))
    except Exception:
        return None, None
    base, _, query = url.split("#")[0].partition("?")
    signed = "Signature=" in query  # X-Amz-Signature= (SigV4), Signature= (SigV2, CloudFront)
    return signed, base[:-len(PROBE_NAME)] if base.endswith(PROBE_NAME) else base

def describe_storage(storage, backend):
    location = getattr(storage, "location", None)
    signed, url_base = rendered_url(storage)
    return {"backend": backend or names(type(storage))[0], "classes": names(type(storage)),
             "bucket": getattr(storage, "bucket_name", None), "location": location,
             "real_location": os.path.realpath(location) if isinstance(location, str) and
                              location.startswith("/") else None,
             "endpoint": getattr(storage, "endpoint_url", None),
             "custom_domain": getattr(storage, "custom_domain", None),
             "querystring_auth": getattr(storage, "querystring_auth", None),
             "url_protocol": getattr(storage, "url_protocol", None),
             "signed_url": signed, "url_base": url_base}

def sides(storage):
    """A mirror storage's two (media_mirror.MirrorStorage: a primary and a secondary), or None."""
    primary, secondary = getattr(storage, "primary", None), getattr(storage, "secondary", None)
    return (primary, secondary) if primary is not None and secondary is not None else None

def describe(alias):
    if alias not in settings.STORAGES:
        return None
    storage = storages[alias]
    found = describe_storage(storage, settings.STORAGES[alias].get("BACKEND"))
    if sides(storage):
        found["mirror"] = {"primary": describe_storage(sides(storage)[0], None),
                           "secondary": describe_storage(sides(storage)[1], None),
                           "failures": getattr(storage, "failures", None)}
    return found

WRITE_ATTEMPTS = 6   # each of the check's requests, through the site's own boto3 (which retries 2 more times itself)
TRANSIENT_CODES = ("SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling",
                   "RequestLimitExceeded", "500", "502", "503", "504")
TRANSIENT_ERRORS = ("ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError", "ResponseStreamingError",
                    "IncompleteReadError", "ProtocolError", "ConnectionResetError")

def transient(problem):
    """A store that stumbled (503 SlowDown, a reset), not a key or a setting that is wrong."""
    response = getattr(problem, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code", ""))
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return type(problem).__name__ in TRANSIENT_ERRORS or code in TRANSIENT_CODES or status in (500, 502, 503, 504)

def again(action, sleep=None):
    """``action()``, tried again (up to WRITE_ATTEMPTS, waits doubling from 0.2 s) while it fails transiently:
    a stumbling store must not read as a bad key."""
    import time
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return action()
        except Exception as problem:
            if attempt == WRITE_ATTEMPTS - 1 or not transient(problem):
                raise
            (sleep or time.sleep)(min(2.0, 0.2 * 2 ** attempt))

def write_check():
    """With S3 selected (served, or a mirror's second storage), store, find and delete one small file
    through the site's own storage and key; each request tried again while the store stumbles (``again``)."""
    storage = storages["default"]
    for side in (storage, *(sides(storage) or ())):
        if any(name.endswith(".S3Storage") for name in names(type(side))):
            storage = side
            break
    else:
        return None
    import uuid
    from django.core.files.base import ContentFile
    try:
        wanted = ".media-cutover-site-check-%s.txt" % uuid.uuid4().hex   # the same name each try
        name = again(lambda: storage.save(wanted, ContentFile(b"media-cutover")))
        found = again(lambda: storage.exists(name))
        again(lambda: storage.delete(name))
        if name != wanted:   # a try that stored it, then lost its answer, and a storage that does not overwrite
            again(lambda: storage.delete(wanted))
    except Exception as problem:
        kind = type(problem).__name__
        if kind in ("NoCredentialsError", "PartialCredentialsError"):
            return "no credentials"
        return ("failed: " + kind + ": " + str(problem))[:300]
    return "ok" if found else "failed: the file it stored was not found"

def system_check():
    """`manage.py check` in this same start-up (MEDIA_CUTOVER_CHECK=1): "ok" or "failed: <what it said>"."""
    if not os.environ.get("MEDIA_CUTOVER_CHECK"):
        return None
    import io
    from django.core.management import call_command
    said = io.StringIO()
    try:
        call_command("check", stdout=said, stderr=said)
    except Exception as problem:
        return ("failed: " + (str(problem) or type(problem).__name__)).strip()[:2000]
    return "ok"

def thumbnails_report():
    """easy_thumbnails and sorl-thumbnail as this start-up sees them (deploy/site/programs/thumbnail_tool.py)."""
    namespace = {"__name__": "media_cutover_thumbnails"}
    try:
        exec(compile(_THUMBNAILS_SCRIPT, "thumbnails.py", "exec"), namespace)  # noqa: F821 (prepended)
        report = namespace["detect"](None)
        if os.environ.get("MEDIA_CUTOVER_SORL_COST") and report["sorl"].get("installed"):
            import argparse
            report["sorl_cost"] = namespace["sorl_cost"](argparse.Namespace(sample=20))
        return report
    except Exception as problem:
        return {"error": ("%s: %s" % (type(problem).__name__, problem))[:500]}

alias = getattr(settings, "THUMBNAIL_DEFAULT_STORAGE_ALIAS", None)
print('MEDIA-CUTOVER-STORAGE ' + json.dumps({
    "system_check": system_check(),
    "packages": site_packages(),  # noqa: F821 (packages_report.py, sent before)
    "staged": os.environ.get("MEDIA_CUTOVER_STAGED"),
    "thumbnails": thumbnails_report(),
    "write": write_check(),
    "settings_module": os.environ.get("DJANGO_SETTINGS_MODULE"),
    "switch": repr(getattr(settings, switch, None)),
    "mirror_switch": repr(getattr(settings, mirror_switch, None)),
    "default": describe("default"),
    "staticfiles": (settings.STORAGES.get("staticfiles") or {}).get("BACKEND"),
    "media_url": str(settings.MEDIA_URL), "media_root": str(settings.MEDIA_ROOT),
    "legacy_default_file_storage": getattr(settings, "DEFAULT_FILE_STORAGE", None),
    "thumbnail_alias": alias, "thumbnail_storage": describe(alias) if alias else None,
}, default=str))
