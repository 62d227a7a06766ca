"""Shape "cdn"'s stand-in for a CDN: an nginx of its own in front of the store, with a cache.

A real CDN (CloudFront, Fastly, Cloudflare) fetches from the bucket as its origin and caches; here
nginx on 127.0.0.1:CDN_PORT proxies GET and HEAD to the store's path-style URL of the shape's bucket
(``/<bucket>`` + the request's own URI, passed as sent: names with odd characters stay as encoded)
and caches 200s for ten minutes, saying HIT or MISS in ``X-Cache-Status``.  A second server,
WRONG_ORIGIN_PORT, has another bucket as its origin: a domain that serves another bucket, which
preflight must refuse.  Its own master (``.sandbox/cdn/``), so shape "package"'s nginx never shares
a config with it.
"""

from __future__ import annotations

from pathlib import Path

from .layout import CDN_PORT, WRONG_ORIGIN_PORT, Layout
from .nginx import MIME_TYPES, running, start_master, stop_master, temp_paths, worker_user


def config_text(directory: Path, pidfile: Path, store: str, bucket: str, wrong_bucket: str) -> str:
    return f"""\
# The media-cutover sandbox's stand-in CDN (written by `invoke sandbox.up --shapes=cdn`), loopback only.
user {worker_user()};
worker_processes 1;
pid {pidfile};
error_log {directory}/logs/error.log warn;

events {{
    worker_connections 512;
}}

http {{
    include {MIME_TYPES};
    access_log {directory}/logs/access.log;
    server_tokens off;
{temp_paths(directory)}    proxy_cache_path {directory}/cache levels=1:2 keys_zone=media:10m max_size=200m inactive=10m use_temp_path=off;
{_server(CDN_PORT, store, bucket, "the CDN of shape cdn: its bucket is the origin")}\
{_server(WRONG_ORIGIN_PORT, store, wrong_bucket, "a misconfigured domain: another bucket is its origin")}}}
"""


def _server(port: int, store: str, bucket: str, about: str) -> str:
    return f"""
    # {about}
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        location / {{
            limit_except GET {{ deny all; }}   # GET and HEAD: a CDN in front of media only reads
            proxy_pass {store}/{bucket}$request_uri;
            proxy_set_header Host {store.split("://", 1)[1]};
            proxy_cache media;
            proxy_cache_valid 200 10m;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
"""


def start(layout: Layout, store: str, bucket: str, wrong_bucket: str) -> str:
    """Start the stand-in CDN, or reload it when its config changed."""
    text = config_text(layout.cdn_dir, layout.cdn_pidfile, store.rstrip("/"), bucket, wrong_bucket)
    return start_master("the sandbox's stand-in CDN", layout.cdn_dir, layout.cdn_pidfile, text,
                        [CDN_PORT, WRONG_ORIGIN_PORT])


def stop(layout: Layout) -> None:
    stop_master(layout.cdn_pidfile)


def is_running(layout: Layout) -> bool:
    return running(layout.cdn_pidfile)
