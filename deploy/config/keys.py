"""Every key the configuration has: what each means, which are required, secret or per host.

``KNOWN_KEYS`` is also what `invoke config` lists, and what the shipped
examples (config/*.env.example) must document.
"""

from __future__ import annotations

import difflib
import re

PER_HOST_KEYS = ("SETTINGS_PATH", "SWITCH_FORMAT", "RELOAD_COMMAND", "SITE_URL", "HEALTH_URL",
                 "MEDIA_CHECK_PATHS", "MANAGE_PY", "SITE_PYTHON", "DJANGO_SETTINGS_MODULE", "THUMBNAIL_PAGES")
SECRET_KEYS = ("AWS_SECRET_ACCESS_KEY",)
# Every key this tool reads, with a one-line description (also the --help of `invoke config`).
KNOWN_KEYS = {
    "HOSTS": "comma-separated SSH aliases or user@host[:port] of every web host",
    "MEDIA_HOST": "the host whose disk holds MEDIA_ROOT and runs the sync (default: first of HOSTS)",
    "MEDIA_ROOT": "the media directory on the media host (~/ is the SSH user's home)",
    "SETTINGS_PATH": "the file holding the switch on each host: a Python settings file (its local.py or "
                     "local_settings.py) or an env file (.env, a systemd EnvironmentFile; per-host overridable)",
    "SWITCH_FORMAT": "python | env | auto (default auto: python for a .py SETTINGS_PATH, else env; "
                     "per-host overridable)",
    "SWITCH_NAME": "the switch the site reads (default USE_S3)",
    "CHANGEOVER": "copy | mirror (default copy): mirror first turns on the site's second switch, so every new "
                  "file is written to both storages, and the change-over has no window (the site must install "
                  "media_mirror.py: `invoke settings-snippet --part=mirror`)",
    "MIRROR_SWITCH_NAME": "the second switch, read by the site's mirror block (default MEDIA_MIRROR; in the same "
                          "SETTINGS_PATH as the first)",
    "MIRROR_FAILURES": "where the site's mirror storage records a write to its second storage that failed, on "
                       "each host (default ~/.media-cutover/mirror-failures.jsonl: the block's default too)",
    "DJANGO_SETTINGS_MODULE": "the settings module the site runs under (e.g. shop.settings.production), for "
                              "every check the tool runs with the site's Python (default: manage.py's own; "
                              "per-host overridable)",
    "RELOAD_COMMAND": "shell command that gracefully reloads the site on a host (per-host overridable)",
    "RELOAD_TIMEOUT": "seconds the reload command may take (default 60)",
    "RELOAD_GRACE_SECONDS": "seconds old workers may still finish requests after a reload: the web server's "
                            "graceful timeout (gunicorn --graceful-timeout; default 30)",
    "SITE_URL": "the site's base URL as reached from this machine (per-host overridable)",
    "HEALTH_URL": "URL answering 200 with the active storage (default: none with MEDIA_CHECK_PATHS, whose "
                  "pages then tell the storage; else SITE_URL + /healthz)",
    "MEDIA_CHECK_PATHS": "comma-separated paths of site pages (HTML or JSON) whose media URLs the health check "
                         "fetches (optional; per-host overridable)",
    "MEDIA_LIST_PATH": "older name of MEDIA_CHECK_PATHS (one path)",
    "OLD_MEDIA_HOSTS": "comma-separated host names (or host:port) the site's media were also served from, as "
                       "absolute URLs stored in its content may name them (the public www.example.com when "
                       "SITE_URL is an internal address; an old domain); SITE_URL's host always counts (optional)",
    "DISK_MEDIA_URL": "where the media were served from disk, a path (/static/media/) or a URL "
                      "(https://media.example.com/), when a front end serves them elsewhere than the site's own "
                      "MEDIA_URL says (default: the site's MEDIA_URL, as its settings give it on disk)",
    "THUMBNAIL_PAGES": "comma-separated paths of site pages that render thumbnails: `invoke rehearse` views them "
                       "after each change-over and counts what easy_thumbnails and sorl-thumbnail made again "
                       "(optional; per-host overridable)",
    "MANAGE_PY": "the site's manage.py on each host, for `manage.py check` (optional)",
    "SITE_PYTHON": "the Python that runs the site on each host (required with MANAGE_PY)",
    "SSH_CONFIG": "ssh_config file resolving the host aliases (relative to the project; optional)",
    "REMOTE_PYTHON": "Python 3 on the hosts for our helper scripts and the sync tool's venv (default python3)",
    "TOOLS_DIR": "where the sync tool is installed on the media host (default ~/.media-cutover)",
    "SYNC_TOOL": "rclone | s5cmd | s3cmd (default rclone, the fastest measured)",
    "SYNC_CONCURRENCY": "parallel transfers of the sync tool (default 32)",
    "AWS_STORAGE_BUCKET_NAME": "the bucket",
    "AWS_S3_REGION_NAME": "the bucket's region (default us-east-1)",
    "AWS_S3_ENDPOINT_URL": "endpoint of an S3-compatible store (empty for AWS)",
    "AWS_LOCATION": "key prefix of the media in the bucket (default media)",
    "AWS_ACCESS_KEY_ID": "access key of the deploying IAM user",
    "AWS_SECRET_ACCESS_KEY": "its secret (put it in config/<env>.secrets.env)",
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required (default; S3-compatible stores) | when_supported",
    "STORE_RETRY_ATTEMPTS": "tries of one request to the store before it is given up, when the store answers "
                            "500, 502, 503, 504, SlowDown, or resets or times out (never a 403 or 404); also the "
                            "sync tools' retries of one request (default 8)",
    "STORE_RETRY_SECONDS": "the longest one request to the store (or one HTTP check of it) is retried, waits "
                           "included (default 60)",
    "PUBLIC_MEDIA": "true if anyone may GET media objects (default true)",
    "CACHE_CONTROL": "Cache-Control set on every uploaded object (optional)",
    "AWS_QUERYSTRING_EXPIRE": "with PUBLIC_MEDIA=false, the seconds a signed media URL stays valid (default 3600)",
    "MEDIA_CUSTOM_DOMAIN": "the host media are served from instead of the bucket's own (a CDN: cdn.example.com, "
                           "or http://host:port); preflight checks it serves the bucket (optional; public media only)",
    "AWS_S3_CUSTOM_DOMAIN": "django-storages' name for MEDIA_CUSTOM_DOMAIN (set one of them)",
    "PRODUCTION": "true for production: rehearsals refuse it (default false)",
}
REQUIRED_KEYS = ("HOSTS", "MEDIA_ROOT", "SETTINGS_PATH", "RELOAD_COMMAND", "SITE_URL",
                 "AWS_STORAGE_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

SWITCH_FORMATS = ("auto", "python", "env")
# Names of keys only this tool would use: one of these that it does not know is a typo, or a key
# of a newer version of the tool, and is refused rather than silently ignored.
OWN_PREFIXES = ("MEDIA_CUTOVER_", "SYNC_", "RELOAD_", "SWITCH_", "HEALTH_", "MEDIA_CHECK_", "MEDIA_LIST_",
                "MEDIA_MIRROR", "MIRROR_", "CHANGEOVER", "REHEARSAL_", "OLD_MEDIA_", "DISK_MEDIA_", "MEDIA_CUSTOM_",
                "STORE_RETRY_")
CHANGEOVERS = ("copy", "mirror")

# The deploy key: the site's and ours (provision makes it, config/<env>.secrets.env holds it).
DEPLOY_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# Stands in for a deploy key that provision has not made yet; never used to sign anything.
PLACEHOLDER = "not-provisioned-yet"


def host_key(key: str, alias: str) -> str:
    """The name of a per-host override of ``key``: ``SITE_URL__WEB2``."""
    return f"{key}__{re.sub(r'[^A-Za-z0-9]', '_', alias).upper()}"


def unknown_key_problem(key: str) -> str | None:
    """Why a key in config/<env>.env is refused, or None: keys the site reads itself are fine.

    Refused: a key close to one of ours (``HEALTH_ULR``), one in our namespace that
    this version does not know, a per-host override of a key that is not per host.
    """
    base, _, alias = key.partition("__")
    if key in KNOWN_KEYS or (alias and base in PER_HOST_KEYS):
        return None
    if alias and base in KNOWN_KEYS:
        return f"is a per-host override of {base}, which is the same for every host"
    nearest = difflib.get_close_matches(base, list(KNOWN_KEYS), n=1, cutoff=0.8)
    if nearest:
        return f"is not a key media-cutover knows: did you mean {nearest[0]}?"
    if base.startswith(OWN_PREFIXES):
        return ("is not a key this version of media-cutover knows (a newer version's, or a typo); "
                "`invoke config --env=NAME` lists the keys it reads")
    return None


def mask(value: str) -> str:
    """How a secret is shown: never more than its length class."""
    return "********" if value else "(empty)"
