"""The types of one environment's configuration: Settings, HostSettings and Secret.

Plain frozen data, built and validated by ``deploy.config.load_settings``; the
rest of the code trusts it.  ``Secret`` keeps the S3 secret out of every repr,
log line and f-string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

# One request to the store (or one HTTP check of it) is tried at most this often, for at most this long
# (deploy.retry): STORE_RETRY_ATTEMPTS, STORE_RETRY_SECONDS.
DEFAULT_STORE_RETRY_ATTEMPTS = 8
DEFAULT_STORE_RETRY_SECONDS = 60.0
# A signed media URL's life in seconds (django-storages' querystring_expire default): AWS_QUERYSTRING_EXPIRE.
DEFAULT_QUERYSTRING_EXPIRE = 3600


class Secret:
    """A string that never shows itself in a repr, a log line or an f-string."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class HostSettings:
    """What differs per web host."""

    alias: str
    settings_path: str
    reload_command: str
    site_url: str
    health_url: str | None                   # None: the health check reads media_check_paths
    manage_py: str | None
    site_python: str | None
    settings_module: str | None = None       # DJANGO_SETTINGS_MODULE for our checks; None: manage.py's own
    switch_format: str = "python"            # "python" or "env": how settings_path holds the switch
    media_check_paths: tuple[str, ...] = ()  # pages whose media URLs the health check fetches
    thumbnail_pages: tuple[str, ...] = ()    # pages the rehearsal views to count thumbnails made again


@dataclass(frozen=True)
class Settings:
    """One environment's validated configuration, built once per run."""

    env: str
    project_root: Path
    hosts: tuple[HostSettings, ...]
    media_host: str
    media_root: str
    bucket: str
    region: str
    endpoint_url: str | None
    media_prefix: str
    access_key_id: str
    secret_access_key: Secret
    checksum_mode: str
    public_media: bool
    cache_control: str | None
    sync_tool: str
    sync_concurrency: int
    reload_timeout: float
    reload_grace: float  # seconds old workers may still write to the storage the site left
    media_list_path: str | None
    ssh_config: Path | None
    remote_python: str
    tools_dir: str
    production: bool
    switch_name: str = "USE_S3"
    changeover: str = "copy"                 # "copy" or "mirror" (CHANGEOVER): what the operator asked for
    mirror_switch_name: str = "MEDIA_MIRROR"
    mirror_failures: str = "~/.media-cutover/mirror-failures.jsonl"
    old_media_hosts: tuple[str, ...] = ()    # OLD_MEDIA_HOSTS: hosts the media were also served from, lower case
    disk_media_url: str | None = None        # DISK_MEDIA_URL; None: the site's own MEDIA_URL on disk
    store_retry_attempts: int = DEFAULT_STORE_RETRY_ATTEMPTS  # tries of one store request (deploy.retry)
    store_retry_seconds: float = DEFAULT_STORE_RETRY_SECONDS  # and its time, from the first try to the last
    querystring_expire: int = DEFAULT_QUERYSTRING_EXPIRE  # AWS_QUERYSTRING_EXPIRE: a signed URL's life (private media)
    custom_domain: str | None = None         # MEDIA_CUSTOM_DOMAIN (host[:port]): media served from it (a CDN)
    custom_domain_scheme: str = "https"      # "http" only where MEDIA_CUSTOM_DOMAIN is written http://...
    # key -> (value as shown, where it came from); secrets already masked
    effective: dict[str, tuple[str, str]] = field(repr=False, compare=False, default_factory=dict)

    @property
    def host_aliases(self) -> tuple[str, ...]:
        return tuple(host.alias for host in self.hosts)

    def host(self, alias: str) -> HostSettings:
        for host in self.hosts:
            if host.alias == alias:
                return host
        raise ConfigError(f"host {alias!r} is not in HOSTS of environment {self.env!r} "
                          f"({', '.join(self.host_aliases)})")

    @property
    def private_cache_problem(self) -> str | None:
        """Why CACHE_CONTROL does not suit private media (None when it does): 'public' lets shared caches keep
        them.  Refused by what uploads or prints it (the cutover's preflight, the snippet), not when the config
        is read: a rollback must never be held up by it."""
        if self.public_media or not self.cache_control or "public" not in self.cache_control.lower().replace(",", " ").split():
            return None
        return (f"CACHE_CONTROL is {self.cache_control!r} while PUBLIC_MEDIA=false: 'public' lets shared caches (a "
                "proxy, a CDN) keep private media and hand them to anyone; set e.g. CACHE_CONTROL=private, "
                f"max-age=3600 in config/{self.env}.env")

    @property
    def media_base_url(self) -> str:
        """Where the site's media URLs point once on S3, ending in "/": the custom domain's (a CDN) or the
        bucket's, + AWS_LOCATION."""
        if self.custom_domain:
            return f"{self.custom_domain_scheme}://{self.custom_domain}/{self.media_prefix}/"
        return f"{self.bucket_url}/{self.media_prefix}/"

    @property
    def bucket_url(self) -> str:
        """Where the bucket's objects are fetched over HTTP (path style)."""
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com"

    @property
    def bucket_origin(self) -> tuple[str, str]:
        """What a CDN in front of the bucket fetches from: (origin, origin path).  AWS: the bucket's regional
        host, the path empty (django keeps AWS_LOCATION in every media URL, so the CDN passes it on as is); an
        S3-compatible endpoint: the endpoint, the path /<bucket> (path style)."""
        if self.endpoint_url:
            base = self.endpoint_url.rstrip("/")
            scheme, _, rest = base.partition("://")
            host, slash, path = rest.partition("/")
            return f"{scheme}://{host}", f"{slash}{path}/{self.bucket}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com", ""

    @property
    def custom_domain_key(self) -> str:
        """The key the custom domain was given by, for messages: MEDIA_CUSTOM_DOMAIN unless only django-storages'
        AWS_S3_CUSTOM_DOMAIN was set."""
        given = [key for key in ("MEDIA_CUSTOM_DOMAIN", "AWS_S3_CUSTOM_DOMAIN") if self.effective.get(key, ("",))[0]]
        return given[0] if given else "MEDIA_CUSTOM_DOMAIN"
