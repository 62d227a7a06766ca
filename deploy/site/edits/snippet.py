"""`invoke settings-snippet`: the block for the site's local_settings.py, and an e-mail template tag.

Pure: settings in, Python source out.  The block holds the bucket's public
facts as literals and reads the deploy key from the site's environment, so the
printed text never carries a secret.  It keeps the one plain top-level
``USE_S3 = False`` the cutover flips (deploy/site/edits/settings_file.py).
"""

from __future__ import annotations

import json
from urllib.parse import urlparse

from ...config.keys import PLACEHOLDER
from ...config.types import Settings
from ...errors import ConfigError
from ..site_python import PROGRAMS, program
from . import old_media_redirect

# The e-mail template tag, printed to be saved under this name (`{% load absolute_media %}`).
TAG_MODULE_NAME = "absolute_media.py"
MIRROR_MODULE = PROGRAMS / "media_mirror.py"
PARTS = ("both", "settings", "tag", "mirror", "nginx", "django-redirect")
FLAVORS = ("plain", "environ")


def media_url(settings: Settings, custom_domain: str | None = None) -> str:
    """MEDIA_URL once on S3: a custom domain given on the command line (https), else Settings.media_base_url
    (MEDIA_CUSTOM_DOMAIN's, or the bucket's): the same host and scheme as the block's storage renders."""
    if custom_domain:
        _refuse_private(settings, custom_domain)
        return f"https://{custom_domain}/{settings.media_prefix}/"
    return settings.media_base_url


def _domain(settings: Settings, custom_domain: str | None) -> tuple[str | None, str]:
    """The storage's custom_domain and its scheme: the command line's, else MEDIA_CUSTOM_DOMAIN's, else on
    AWS with public media the bucket's regional host; None for private media (the bucket's URL, signed)."""
    if custom_domain:
        _refuse_private(settings, custom_domain)
        return custom_domain, "https"
    if settings.custom_domain:
        return settings.custom_domain, settings.custom_domain_scheme
    return (_aws_domain(settings) if settings.public_media else None), "https"


def _refuse_private(settings: Settings, custom_domain: str) -> None:
    if not settings.public_media:
        raise ConfigError(f"--custom-domain={custom_domain!r} with PUBLIC_MEDIA=false (--env={settings.env}): "
                          "a custom domain cannot sign URLs (django-storages#165), so every private media URL "
                          "would be refused; drop --custom-domain, or make the media public")


def _aws_domain(settings: Settings) -> str | None:
    """On AWS, the bucket's regional virtual-host name: URLs then match Settings.bucket_url exactly
    (botocore would otherwise pick s3.amazonaws.com for us-east-1)."""
    return None if settings.endpoint_url else urlparse(settings.bucket_url).netloc


def _domain_options(settings: Settings, custom_domain: str | None) -> list[tuple[str, str, str]]:
    """The host the storage's URLs name: (option, Python source of the value, comment)."""
    domain, scheme = _domain(settings, custom_domain)
    options = [("custom_domain", _literal(domain),
                "" if settings.public_media else "None: a custom domain cannot sign (django-storages#165)")]
    if scheme == "http":
        options.append(("url_protocol", _literal("http:"), "the custom domain serves plain HTTP"))
    return options


def _signing_options(settings: Settings) -> list[tuple[str, str, str]]:
    """Plain URLs for public media; signed ones, by the key from the environment, for private media."""
    if settings.public_media:
        return [("querystring_auth", "False", "plain, stable, public URLs")]
    return [("querystring_auth", "True", "signed URLs: private media (PUBLIC_MEDIA=false), signed with the key above"),
            ("querystring_expire", str(settings.querystring_expire),
             "seconds a signed URL stays valid (AWS_QUERYSTRING_EXPIRE)"),
            # botocore may presign with the old SigV2 (AWSAccessKeyId=...&Signature=...) on an endpoint or region
            # it does not know; regions opened since 2014 accept only SigV4, and AWS is retiring SigV2 everywhere.
            ("signature_version", _literal("s3v4"), "SigV4 signatures: every region and store accepts them")]


def _literal(value) -> str:
    """Python source for a str, None or flat dict of str, double-quoted like the rest of the block."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(key)}: {_literal(item)}" for key, item in value.items()) + "}"
    return "None" if value is None else json.dumps(value)


# Parts of both blocks (copy and mirror), as they are printed.
_KEEP_OTHER_STORAGES = '''    # Only "default" changes: the site's staticfiles backend and every other STORAGES entry stay.
    # The settings module being executed is in sys.modules and holds the STORAGES defined so far,
    # also when this is a local.py it star-imports at its end.
    _site = sys.modules.get(os.environ.get("DJANGO_SETTINGS_MODULE", ""))
    STORAGES = dict(getattr(_site, "STORAGES", None) or globals().get("STORAGES")
                    or {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}})
'''
_THUMBNAILS_FOLLOW = '''    # Thumbnails are stored where they are linked: easy_thumbnails' alias, if the site has one, follows.
    _thumbnails = getattr(_site, "THUMBNAIL_DEFAULT_STORAGE_ALIAS", None) or "easy_thumbnails"
    if _thumbnails in STORAGES:
        STORAGES[_thumbnails] = STORAGES["default"]
'''


def settings_block(settings: Settings, custom_domain: str | None = None, flavor: str = "plain") -> str:
    """The storage block for the site's settings (its local.py, local_settings.py or the module itself).

    ``flavor`` "environ" reads the switch and the key through django-environ, for
    sites whose switch lives in an env file (SWITCH_FORMAT=env).
    """
    if flavor not in FLAVORS:
        raise ConfigError(f"--flavor={flavor!r}: expected one of {', '.join(FLAVORS)}")
    if settings.private_cache_problem:  # the block would set it on every object the site stores
        raise ConfigError(settings.private_cache_problem)
    environ = flavor == "environ"
    read = ('env("{}", default=None)' if environ else 'os.environ.get("{}")').format
    options = [  # (name, Python source of the value, comment)
        ("bucket_name", _literal(settings.bucket), ""),
        ("location", _literal(settings.media_prefix), "the key prefix the media were uploaded to"),
        ("region_name", _literal(settings.region), ""),
        ("endpoint_url", _literal(settings.endpoint_url), "None: AWS"),
        *_domain_options(settings, custom_domain),
        ("access_key", read("AWS_ACCESS_KEY_ID"), "from the environment, never this file"),
        ("secret_key", read("AWS_SECRET_ACCESS_KEY"), ""),
        ("default_acl", "None", "ACLs are off; the bucket policy decides who reads"),
        *_signing_options(settings),
        ("file_overwrite", "False", "a second upload of a name gets a new key, as on disk"),
    ]
    if settings.cache_control:
        options.append(("object_parameters", _literal({"CacheControl": settings.cache_control}), ""))
    options.append(("addressing_style", _literal("path" if settings.endpoint_url else "virtual"), ""))
    option_lines = "".join(f'            "{name}": {value},' + (f"  # {comment}" if comment else "") + "\n"
                           for name, value, comment in options)
    checksum = ""
    if settings.checksum_mode == "when_required":
        checksum = ("    # boto3 >= 1.36 sends CRC checksums that some S3-compatible stores refuse.\n"
                    '    os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")\n'
                    '    os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")\n')
    key_hint = (f"AWS_ACCESS_KEY_ID={settings.access_key_id}"
                if settings.access_key_id and settings.access_key_id != PLACEHOLDER
                else "AWS_ACCESS_KEY_ID (run `invoke provision` first)")
    if environ:
        switch = ("import environ\n\nenv = environ.Env()\n"
                  "# The switch `invoke cutover` flips is the line USE_S3=false in the site's env file\n"
                  "# (SETTINGS_PATH=<that file>, SWITCH_FORMAT=env); here it is only read.\n"
                  'USE_S3 = env.bool("USE_S3", default=False)\n')
    else:
        switch = "# USE_S3 is the one line `invoke cutover` flips: keep it a plain top-level True/False.\nUSE_S3 = False\n"
    header = f'''# --- Media storage: generated by `invoke settings-snippet --env={settings.env}` ---
# Needs Django >= 4.2 (STORAGES), django-storages >= 1.14 and boto3 in the site's environment.
# Paste it at the end of the settings: into the module itself, or the local.py it imports last.
# The deploy key comes from the site's environment, never from this file:
#   {key_hint}
#   AWS_SECRET_ACCESS_KEY=... (in config/{settings.env}.secrets.env; do not commit it)
import os
import sys

{switch}'''
    if settings.changeover == "mirror":
        return header + _mirror_block(settings, environ, checksum, option_lines, media_url(settings, custom_domain))
    return header + f'''
if USE_S3:
{checksum}{_KEEP_OTHER_STORAGES}    STORAGES["default"] = {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{
{option_lines}        }},
    }}
{_THUMBNAILS_FOLLOW}    MEDIA_URL = {_literal(media_url(settings, custom_domain))}
# With USE_S3 off the site's own STORAGES and MEDIA_URL (on disk) stay in force.
'''


def _mirror_block(settings: Settings, environ: bool, checksum: str, option_lines: str, url: str) -> str:
    """The block's storage part with the mirror's switch (CHANGEOVER=mirror): the same S3 storage, and with
    the mirror on, media_mirror.MirrorStorage over the one USE_S3 selects (primary) and the other."""
    name = settings.mirror_switch_name
    if environ:
        switch = f'{name} = env.bool("{name}", default=False)  # the {name}=false line of the env file\n'
    else:
        switch = (f"# {name} is the second line `invoke cutover` flips (CHANGEOVER=mirror): keep it a plain "
                  f"top-level True/False.\n{name} = False\n")
    style = "path" if settings.endpoint_url else "virtual"
    return f'''{switch}
if USE_S3 or {name}:
{checksum}{_KEEP_OTHER_STORAGES}    _disk_media = STORAGES.get("default") or {{"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    _s3_media = {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{
{option_lines}        }},
    }}
    STORAGES["default"] = _s3_media if USE_S3 else _disk_media
    if {name}:
        # Every file saved goes to both storages, under one name; reads, URLs and names come from the one
        # USE_S3 selects.  media_mirror.py (`invoke settings-snippet --part=mirror`) must be importable:
        # put it beside manage.py.  The bucket as the second storage gives up quickly: a store that does
        # not answer holds the user's upload at most ~8 s, one attempt (the failure is recorded, and the
        # tool's verify copies the file).
        from botocore.config import Config

        _s3_second = {{**_s3_media, "OPTIONS": {{**_s3_media["OPTIONS"], "client_config": Config(
            s3={{"addressing_style": "{style}"}}, connect_timeout=3, read_timeout=5, retries={{"total_max_attempts": 1}})}}}}
        STORAGES["default"] = {{"BACKEND": "media_mirror.MirrorStorage", "OPTIONS": {{
            "primary": STORAGES["default"], "secondary": _disk_media if USE_S3 else _s3_second,
            "failures": {_literal(settings.mirror_failures)},  # MIRROR_FAILURES: where media-cutover reads them
        }}}}
{_THUMBNAILS_FOLLOW}if USE_S3:
    MEDIA_URL = {_literal(url)}
# With both off the site's own STORAGES and MEDIA_URL (on disk) stay in force.
'''


def template_tag_module() -> str:
    """The e-mail template tag module, deploy/site/programs/absolute_media.py."""
    return program(TAG_MODULE_NAME)


def mirror_module() -> str:
    """The mirror storage (``media_mirror.MirrorStorage``): every file written to two storages."""
    return MIRROR_MODULE.read_text()


def render(settings: Settings, custom_domain: str | None = None, part: str = "both", flavor: str = "plain",
           media_url_override: str | None = None, media_root: str | None = None) -> str:
    """What settings-snippet prints: the block, the tag module, or both clearly separated; the mirror
    storage; the old media URLs' nginx locations or Django view (``media_url_override``: the old MEDIA_URL,
    default DISK_MEDIA_URL or /media/; ``media_root``: MEDIA_ROOT's absolute path, for nginx)."""
    if part not in PARTS:
        raise ConfigError(f"--part={part!r}: expected one of {', '.join(PARTS)}")
    if part == "nginx":
        return old_media_redirect.nginx_block(settings, media_url(settings, custom_domain), media_url_override,
                                              media_root)
    if part == "django-redirect":
        return old_media_redirect.django_redirect(settings, media_url_override)
    block = settings_block(settings, custom_domain, flavor)
    tag = template_tag_module()
    if part == "settings":
        return block
    if part == "tag":
        return tag
    if part == "mirror":
        return mirror_module()
    rule = "# " + "=" * 76
    return (f"{rule}\n# 1. Add at the end of the site's settings (its local.py or local_settings.py)\n{rule}\n{block}\n"
            f"{rule}\n# 2. Optional, for e-mail templates: <app>/templatetags/{TAG_MODULE_NAME}\n"
            f"#    (and an empty <app>/templatetags/__init__.py)\n{rule}\n{tag}")
