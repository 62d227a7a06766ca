"""After a rehearsal's traffic: every answered upload checked through every host.

A site with a listing (/files/) says where each file is; a site with only pages is asked which storage
it shows, and each upload is looked for where that storage keeps it (``check_uploads``).  Problems show
URLs without their query (``url_shown``): a private site's media URLs are signed.
"""

from __future__ import annotations

from urllib.parse import quote

from ..config.redact import redact, url_shown
from .fetching import Known, Site, Upload, http, list_all, media_error, url_kind
from .traffic import Traffic


def check_uploads(sites: list[Site], uploads: list[Upload], media_base: str, fetch=http,
                  public_media: bool = True) -> dict:
    """Every answered upload, through every host: listed by /files/ and served with the same bytes.

    A site with only pages lists nothing: each upload is fetched at the URL the storage the site shows
    gives it (SITE_URL/media/NAME on disk, S3's media base + NAME on S3); with private media on S3 only a
    URL the site signs fetches it, so an upload is fetched at the URL its check pages render (one they do
    not show is unconfirmed, counted lost).  A problem shows a URL without its query."""
    lost: dict[str, list[str]] = {}
    served_from: dict[str, int] = {}
    for site in sites:
        try:
            listed = _where_each_is(site, uploads, media_base, fetch, public_media)
        except OSError as error:
            for upload in uploads:
                lost.setdefault(upload.name, []).append(redact(str(error)))
            continue
        for upload in uploads:
            if upload.name not in listed:
                lost.setdefault(upload.name, []).append(
                    f"{site.alias}: not shown on its check pages (PUBLIC_MEDIA=false: only a URL the site signs "
                    "fetches it)" if site.by_pages else f"{site.alias}: not listed by /files/")
                continue
            storage, absolute = url_kind(listed[upload.name], site.url, media_base)
            status, body, _ = fetch(absolute) if absolute else (0, b"", "")
            shown = url_shown(listed[upload.name])
            problem = media_error(status, body, Known(upload.size, upload.sha256)) if absolute \
                else f"URL outside the site and the bucket: {shown}"
            if problem:
                lost.setdefault(upload.name, []).append(f"{site.alias}: {shown}: {problem}")
            else:
                served_from[f"{site.alias} {storage}"] = served_from.get(f"{site.alias} {storage}", 0) + 1
    return {"checked": len(uploads), "lost": len(lost), "served_from": served_from,
            "lost_samples": [{"name": name, "problems": problems} for name, problems in list(lost.items())[:20]]}


def _where_each_is(site: Site, uploads: list[Upload], media_base: str, fetch,
                   public_media: bool = True) -> dict[str, str]:
    if not site.by_pages:
        return list_all(site, fetch)
    probe = Traffic([site], media_base, fetch=fetch)
    storage = probe.storage_now(site)
    if storage not in ("s3", "disk"):
        raise OSError(f"{site.alias}: {site.pages[0]} shows no one storage ({storage})")
    if storage == "s3" and not public_media:
        return probe.read_pages(site)   # the signed URLs the pages render, by name
    bases = probe.bases(site)
    base = bases.bucket if storage == "s3" else bases.disk
    return {upload.name: base + quote(upload.name) for upload in uploads}
