"""The readers of one configuration value: ``Reader``, typed access to the merged values (text, flag,
number, choice, URL) that collects problems rather than raising them one by one, and the per-key readers
and validators ``deploy.config.load`` builds Settings with: a host's settings (``KEY__HOST`` overrides),
path lists, OLD_MEDIA_HOSTS, DISK_MEDIA_URL, the custom domain, the switch names and the bucket name.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from .keys import KNOWN_KEYS, REQUIRED_KEYS, SWITCH_FORMATS, host_key
from .types import HostSettings

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HOST_NAME = re.compile(r"^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::[0-9]{1,5})?$")
SETTINGS_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class Reader:
    """Typed access to the merged values; problems are collected, not raised one by one."""

    def __init__(self, env: str, raw: dict[str, tuple[str, str]]):
        self.env, self.raw, self.problems = env, raw, []

    def where(self, key: str) -> str:
        return self.raw[key][1] if key in self.raw else f"config/{self.env}.env"

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where(key)}: {key} {message}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key, ("", ""))[0]
        if value:
            return value
        if default is None and key in REQUIRED_KEYS:
            self.problem(key, f"is missing; expected {KNOWN_KEYS[key]}")
        return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.text(key)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        self.problem(key, f"is {value!r}; expected true or false")
        return default

    def number(self, key: str, default: float, kind=float, zero_allowed: bool = False):
        value = self.text(key)
        if value is None:
            return default
        try:
            number = kind(value)
        except ValueError:
            number = -1
        if number < 0 or (number == 0 and not zero_allowed) or number != number or number == float("inf"):
            expected = "a number of 0 or more" if zero_allowed else f"a positive {kind.__name__}"
            self.problem(key, f"is {value!r}; expected {expected}")
            return default
        return number

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            self.problem(key, f"is {value!r}; expected one of {', '.join(choices)}")
            return default
        return value

    def url(self, key: str, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.problem(key, f"is {value!r}; expected an http:// or https:// URL")
        return value.rstrip("/")


def host_settings(read: Reader, alias: str) -> HostSettings:
    def value(key: str, required: bool = True) -> str | None:
        override = host_key(key, alias)
        if read.raw.get(override, ("", ""))[0]:
            return read.raw[override][0]
        return read.text(key) if required else read.text(key, "") or None

    site_url = read.url("SITE_URL", value("SITE_URL"))
    health_url = read.url("HEALTH_URL", value("HEALTH_URL", required=False))
    manage_py = value("MANAGE_PY", required=False)
    site_python = value("SITE_PYTHON", required=False)
    if manage_py and not site_python:
        read.problem(host_key("SITE_PYTHON", alias), "is missing; expected the site's Python when MANAGE_PY is set")
    settings_path = value("SETTINGS_PATH") or ""
    settings_module = value("DJANGO_SETTINGS_MODULE", required=False)
    if settings_module and not SETTINGS_MODULE.match(settings_module):
        read.problem("DJANGO_SETTINGS_MODULE", f"is {settings_module!r}; expected a dotted module such as "
                                               "shop.settings.production")
    # With check pages (MEDIA_CHECK_PATHS) the health check reads them: no /healthz is assumed.  A config
    # of today's tool (MEDIA_LIST_PATH, the alias, beside the default SITE_URL/healthz) keeps its meaning.
    check_pages = value("MEDIA_CHECK_PATHS", required=False)
    switch_format = value("SWITCH_FORMAT", required=False) or "auto"
    if switch_format not in SWITCH_FORMATS:
        read.problem("SWITCH_FORMAT", f"is {switch_format!r}; expected one of {', '.join(SWITCH_FORMATS)}")
    if switch_format not in ("python", "env"):
        switch_format = "python" if settings_path.endswith(".py") else "env"
    return HostSettings(
        alias=alias,
        settings_path=settings_path,
        reload_command=value("RELOAD_COMMAND") or "",
        site_url=site_url or "",
        health_url=health_url or (None if check_pages else f"{site_url or ''}/healthz"),
        manage_py=manage_py,
        site_python=site_python,
        settings_module=settings_module,
        switch_format=switch_format,
        media_check_paths=path_list(read, check_pages or read.text("MEDIA_LIST_PATH", "")),
        thumbnail_pages=path_list(read, value("THUMBNAIL_PAGES", required=False), "THUMBNAIL_PAGES"),
    )


def path_list(read: Reader, text: str | None, key: str = "MEDIA_CHECK_PATHS") -> tuple[str, ...]:
    paths = tuple(path.strip() for path in (text or "").split(",") if path.strip())
    for path in paths:
        if not path.startswith("/"):
            read.problem(key, f"has {path!r}; expected paths starting with /, comma-separated")
    return paths


def old_media_hosts(read: Reader) -> tuple[str, ...]:
    hosts = tuple(dict.fromkeys(host.strip().lower() for host in (read.text("OLD_MEDIA_HOSTS", "") or "").split(",")
                                if host.strip()))
    for host in hosts:
        if not HOST_NAME.match(host):
            read.problem("OLD_MEDIA_HOSTS", f"has {host!r}; expected host names such as www.example.com or "
                                            "host:port, comma-separated (no scheme, no path)")
    return hosts


def disk_media_url(read: Reader) -> str | None:
    """A path or an http(s) URL, ending in "/" as Django's MEDIA_URL must."""
    value = read.text("DISK_MEDIA_URL", "") or None
    if value is None:
        return None
    parsed = urlparse(value)
    absolute = parsed.scheme in ("http", "https") and parsed.netloc
    if not value.endswith("/") or not (absolute or (value.startswith("/") and not value.startswith("//"))) \
            or parsed.query or parsed.fragment:
        read.problem("DISK_MEDIA_URL", f"is {value!r}; expected a path such as /media/ or a URL such as "
                                       "https://media.example.com/, ending in /")
    return value


CUSTOM_DOMAIN_KEYS = ("MEDIA_CUSTOM_DOMAIN", "AWS_S3_CUSTOM_DOMAIN")  # ours, and django-storages' own name


def custom_domain_key(read: Reader) -> str:
    return next((key for key in CUSTOM_DOMAIN_KEYS if read.text(key, "")), CUSTOM_DOMAIN_KEYS[0])


def custom_domain(read: Reader) -> dict:
    """custom_domain (host[:port]) and its scheme, from MEDIA_CUSTOM_DOMAIN or AWS_S3_CUSTOM_DOMAIN: a host name
    (https), or an http(s):// URL with nothing after the host."""
    given = [key for key in CUSTOM_DOMAIN_KEYS if read.text(key, "")]
    if not given:
        return {}
    if len(given) > 1 and read.text(given[0]) != read.text(given[1]):
        read.problem(given[1], f"is {read.text(given[1])!r} but {given[0]} is {read.text(given[0])!r}; set one of them")
    key, value = given[0], read.text(given[0]).strip()
    parsed = urlparse(value if "://" in value else f"https://{value}")
    if (parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path.strip("/") or parsed.query
            or parsed.fragment or "@" in parsed.netloc or not HOST_NAME.match(parsed.netloc.lower())):
        read.problem(key, f"is {value!r}; expected the host name media are served from, such as cdn.example.com "
                          "(https), or http://host:port for a plain-HTTP one (no path)")
        return {}
    return {"custom_domain": parsed.netloc.lower(), "custom_domain_scheme": parsed.scheme}


def switch_name(read: Reader, key: str = "SWITCH_NAME", default: str = "USE_S3") -> str:
    name = read.text(key, default)
    if not IDENTIFIER.match(name):
        read.problem(key, f"is {name!r}; expected a Python name such as {default}")
        return default
    return name


def valid_bucket_name(name: str) -> bool:
    return (bool(BUCKET_NAME.match(name)) and ".." not in name and ".-" not in name
            and "-." not in name and not IP_ADDRESS.match(name)
            and not name.startswith("xn--") and not name.endswith("-s3alias"))

