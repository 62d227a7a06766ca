"""Old media URLs the site's content stores: the forms to look for, the program's command lines, its reports.

Pure.  A FileField stores a name, and Django renders its URL from the storage: it follows the switch.  Rich
text (CKEditor, TinyMCE, summernote, markdown), links pasted by hand and URLs in JSON store the URL itself,
``<img src="/media/uploads/a.png">``, which keeps pointing at the web server after the switch and breaks once
the disk is reclaimed.  The program (deploy/site/programs/content_url_tool.py with its parts
content_url_finder.py and content_url_rows.py) runs inside the site through ``manage.py shell -c`` under
its settings module (``site_python.site_shell``) and reads the content with the site's own ORM; this
module builds its command lines and reads what it prints.  The rewrite's plan and its diff are
``deploy.site.edits.content_urls``; its record and the restore ``deploy.site.edits.content_url_record``.

The forms: the disk MEDIA_URL (``/media/``, ``/static/media/``, ``/uploads/``; the site's own, read by the
settings probe, or DISK_MEDIA_URL), relative, and absolute on each host it was served from: SITE_URL's
host and OLD_MEDIA_HOSTS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Container, Iterable, Sequence
from urllib.parse import urlsplit

from ...config.types import HostSettings
from ...errors import ConfigError, RemoteError
from ...text_table import counted, table
from ..site_python import program, site_shell

MARKER = "MEDIA-CUTOVER-CONTENT "
SCRIPT_FILES = ("content_url_parts.py", "content_url_finder.py", "content_url_rows.py", "content_url_rewrite.py",
                "content_url_tool.py")  # in this order
NAMES_LIMIT = 1000  # names listed a field in a report; a plan asks for all (0)
STORAGE_HOST = "already on the storage's host"


@dataclass(frozen=True)
class UrlForms:
    """The old media URLs of one site: its disk MEDIA_URL and the hosts its absolute form was served from."""

    media_url: str            # a path ending in "/" (/static/media/), or an absolute URL (https://media.example.com/)
    hosts: tuple[str, ...]    # "name" or "name:port", lower case

    @property
    def path(self) -> str:
        return urlsplit(self.media_url).path

    @property
    def relative(self) -> bool:
        """Relative URLs count only when MEDIA_URL is a path: under an absolute one they are the site's pages."""
        return not urlsplit(self.media_url).netloc

    def arguments(self) -> list[str]:
        words = ["--media-url", self.media_url]
        for host in self.hosts:
            words += ["--host", host]
        return words

    def shown(self) -> list[str]:
        """Each form as the report names it: ``/media/…``, ``https://www.example.com/media/…``."""
        forms = [f"{self.path}…"] if self.relative else []
        return forms + [f"//{host}{self.path}…" for host in self.hosts]


def url_forms(media_url: str, site_urls: Iterable[str], old_hosts: Iterable[str] = (),
              bucket_url: str | None = None) -> UrlForms:
    """The forms to look for.  ``media_url``: DISK_MEDIA_URL, else the site's own MEDIA_URL as the settings
    probe read it while on disk (after the switch MEDIA_URL is the bucket's, refused); ``site_urls``: each
    host's SITE_URL; ``old_hosts``: OLD_MEDIA_HOSTS."""
    parts = urlsplit(media_url.strip())
    if parts.scheme not in ("", "http", "https"):
        raise ConfigError(f"MEDIA_URL {media_url!r}: expected a path such as /media/ or an http(s) URL")
    path = "/" + parts.path.strip("/") + "/" if parts.path.strip("/") else "/"
    netloc = parts.netloc.lower()
    hosts = [urlsplit(url).netloc.lower() for url in site_urls] + [host.strip().lower() for host in old_hosts]
    hosts = [host for host in dict.fromkeys([*hosts, netloc]) if host]
    bucket_host = urlsplit(bucket_url).netloc.lower() if bucket_url else None
    if bucket_host and bucket_host in hosts:
        raise ConfigError(f"{bucket_host} is the bucket's host: MEDIA_URL {media_url!r} or OLD_MEDIA_HOSTS "
                          f"names where the media are now, not where they were (set DISK_MEDIA_URL)")
    if path == "/" and not netloc:
        raise ConfigError(f"MEDIA_URL {media_url!r}: a media URL at the site's root cannot be told from its pages")
    base = f"{parts.scheme or 'https'}://{netloc}{path}" if netloc else path
    return UrlForms(base, tuple(hosts))


# --- command lines ---------------------------------------------------------------------------------------

def script(arguments: Sequence[str]) -> str:
    """The text ``manage.py shell -c`` runs: the three parts, then ``main(arguments)``."""
    text = "\n".join(program(name) for name in SCRIPT_FILES)
    return f"{text}\nraise SystemExit(main({[str(argument) for argument in arguments]!r}))\n"


def command(host: HostSettings, arguments: Sequence[str], env_file: str | None = None,
            switch_name: str = "USE_S3") -> str:
    """The program under the site's settings module; an env-file switch loaded first, as the site starts."""
    return site_shell(host, script(arguments), switch_name, env_file)


def find_command(host: HostSettings, forms: UrlForms, media_root: str | None = None, names_limit: int = NAMES_LIMIT,
                 env_file: str | None = None, switch_name: str = "USE_S3", storage_urls: bool = False,
                 chars: bool = False) -> str:
    """The find; with ``storage_urls`` the storage's URL for each name listed too (the rewrite's plan asks it),
    with ``chars`` each field's characters in the rows holding old media URLs (the room its record takes)."""
    words = ["find", *forms.arguments(), "--names-limit", str(names_limit)]
    words += ["--storage-urls"] if storage_urls else []
    words += ["--chars"] if chars else []
    if media_root:
        words += ["--media-root", media_root]
    return command(host, words, env_file, switch_name)


def rewrite_command(host: HostSettings, forms: UrlForms, dry_run: bool, record: str | None = None,
                    env_file: str | None = None, switch_name: str = "USE_S3", shown: int | None = None,
                    hashes: bool = False, record_reserve: int | None = None) -> str:
    """The rewrite; its plan on stdin (``edits.content_urls.plan_input``).  ``record``: a new file on the
    host the rows are written to before each commit (the caller fetches it: ``edits.RecordCheck``);
    ``shown``: the rows printed whole (None: every one); ``hashes``: every row's key and hash printed (a
    dry run's plan); ``record_reserve``: the bytes the record leaves free (None: the program's 64 MiB)."""
    words = ["rewrite", *forms.arguments(), *(["--dry-run"] if dry_run else [])]
    words += ["--record", record] if record else []
    words += ["--record-reserve", str(int(record_reserve))] if record_reserve is not None else []
    words += ["--shown", str(int(shown))] if shown is not None else []
    words += ["--hashes"] if hashes else []
    return command(host, words, env_file, switch_name)


def restore_command(host: HostSettings, env_file: str | None = None, switch_name: str = "USE_S3") -> str:
    """The restore; the record's rows on stdin (``edits.content_url_record.restore_input``)."""
    return command(host, ["restore"], env_file, switch_name)


def storage_urls_command(host: HostSettings, env_file: str | None = None, switch_name: str = "USE_S3") -> str:
    """The URL the site's default storage gives each name (a JSON list on stdin: ``storage_urls_input``)."""
    return command(host, ["storage-urls"], env_file, switch_name)


def storage_urls_input(names: Iterable[str]) -> bytes:
    return json.dumps(sorted(set(names))).encode("utf-8")


def marked(output: str, host: str, what: str) -> dict:
    """The JSON of the program's last marker line; RemoteError with its message, or the output's tail."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            if data.get("error"):
                raise RemoteError(f"{host}: {what} failed: {data['error']}")
            return data
    tail = " | ".join(output.strip().splitlines()[-3:]) or "no output"
    raise RemoteError(f"{host}: {what} printed no report ({tail})")


# --- the find's report -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldReport:
    """One field's old media URLs (form "url"), or its whole values naming a file (form "path")."""

    field: str                      # app.Model.field
    type: str                       # the field's class: TextField, RichTextField, JSONField, FileBrowseField...
    form: str
    rows: int
    urls: int                       # occurrences (for "path": the rows)
    examples: tuple[str, ...]
    names: tuple[str, ...]          # distinct names, up to the limit asked
    names_total: int
    on_disk: int                    # of names_total
    missing_on_disk: tuple[str, ...] = ()
    foreign_hosts: dict[str, int] = field(default_factory=dict)  # the media path on hosts not named
    unnamed: int = 0                # URLs naming no file under MEDIA_ROOT (a ".." segment)
    on_storage: int = 0             # the media path on the storage's own hosts (ContentReport.storage_hosts)

    @property
    def complete(self) -> bool:
        return self.names_total == len(self.names)

    def line(self, in_bucket: Container[str] | None = None) -> str:
        """``app.Model.field: N rows, M URLs, e.g. …; K files: X on disk, Y in the bucket``."""
        if self.form == "path":
            head = (f"{self.field} ({self.type}): {counted(self.rows, 'row')} {'holds' if self.rows == 1 else 'hold'} "
                    f"a file's path (a name: it follows the switch)")
        else:
            head = f"{self.field} ({self.type}): {counted(self.rows, 'row')}, {counted(self.urls, 'URL')}"
        example = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        files = f"; {counted(self.names_total, 'file')}: {self.on_disk} on disk"
        if in_bucket is not None:
            found = sum(1 for name in self.names if name in in_bucket)
            files += f", {found} in the bucket" + ("" if self.complete else f" (of the {len(self.names)} listed)")
        return head + example + (files if self.names_total else "")


@dataclass(frozen=True)
class ContentReport:
    host: str
    forms: UrlForms
    fields_scanned: int
    fields: tuple[FieldReport, ...]
    errors: tuple[str, ...] = ()
    storage_hosts: tuple[str, ...] = ()   # the site's storage serves from these now (MEDIA_URL's, the storage's URLs')
    storage: "StorageUrls | None" = None   # with --storage-urls: the URL the storage gives each name listed
    chars: dict[str, int] = field(default_factory=dict)   # with --chars: app.Model.field: characters of its rows

    def names(self, form: str = "url") -> set[str]:
        return {name for report in self.fields if report.form == form for name in report.names}

    @property
    def url_fields(self) -> tuple[FieldReport, ...]:
        return tuple(report for report in self.fields if report.form == "url" and report.urls)

    def lines(self, in_bucket: Container[str] | None = None) -> list[str]:
        """The report: a line a field that holds any, the storage's own URLs, other hosts' media paths, the
        fields not read."""
        lines = [report.line(in_bucket) for report in self.fields if report.urls]
        if not lines:
            lines.append(f"no old media URL ({', '.join(self.forms.shown())}) in the content "
                         f"({counted(self.fields_scanned, 'text field')} read)")
        on_storage = sum(report.on_storage for report in self.fields)
        if on_storage:
            lines.append(f"{counted(on_storage, 'URL')} {STORAGE_HOST} ({', '.join(self.storage_hosts)})")
        foreign: dict[str, int] = {}
        for report in self.fields:
            for host, count in report.foreign_hosts.items():
                if host not in self.storage_hosts:   # never offered as an old host to name
                    foreign[host] = foreign.get(host, 0) + count
        if foreign:
            hosts = ", ".join(f"{host} ({count})" for host, count in sorted(foreign.items(), key=lambda item: -item[1]))
            lines.append(f"{self.forms.path} URLs on other hosts, left alone: {hosts}; name the site's old hosts "
                         f"in OLD_MEDIA_HOSTS")
        lines += [f"not read: {error}" for error in self.errors]
        return [f"{self.host}: {line}" for line in lines]

    def summary(self) -> str:
        """One line: ``N old media URLs in M fields (app.Model.field K, ...)``, or none, with the forms."""
        fields = sorted(self.url_fields, key=lambda report: -report.urls)
        if not fields:
            return f"no old media URL ({', '.join(self.forms.shown())}) in {counted(self.fields_scanned, 'text field')}"
        named = ", ".join(f"{report.field} {report.urls}" for report in fields[:5])
        more = f" and {len(fields) - 5} more" if len(fields) > 5 else ""
        return (f"{counted(sum(report.urls for report in fields), 'old media URL')} in {counted(len(fields), 'field')} "
                f"({named}{more}; {', '.join(self.forms.shown())})")

    def table(self, in_bucket: Container[str] | None = None) -> str:
        """The fields that hold old media URLs: rows, URLs, where their files are, three examples."""
        rows = []
        for report in self.url_fields:
            listed = "" if report.complete else f" ({len(report.names)} listed)"
            found = "-" if in_bucket is None else sum(1 for name in report.names if name in in_bucket)
            rows.append((report.field, report.rows, report.urls, f"{report.on_disk}/{report.names_total}",
                         f"{found}/{report.names_total}{listed}", ", ".join(report.examples)))
        return table(("FIELD", "ROWS", "URLS", "FILES ON DISK", "IN BUCKET", "E.G."), rows)

    def notes(self) -> list[str]:
        """What the table does not say: fields that hold bare paths, other hosts' URLs, fields not read."""
        lines = [report.line() for report in self.fields if report.form == "path"]
        lines += [line.removeprefix(f"{self.host}: ") for line in self.lines() if " URLs on other hosts" in line
                  or STORAGE_HOST in line or line.startswith(f"{self.host}: not read: ")]
        unnamed = sum(report.unnamed for report in self.url_fields)
        if unnamed:
            lines.append(f"{counted(unnamed, 'URL')} {'names' if unnamed == 1 else 'name'} no file under MEDIA_ROOT "
                         f"(a '..' segment): left as {'it is' if unnamed == 1 else 'they are'}")
        return lines


def parse_find(output: str, host: str, forms: UrlForms) -> ContentReport:
    data = marked(output, host, "looking for old media URLs in the content")
    fields = tuple(FieldReport(field=item["field"], type=item["type"], form=item["form"], rows=item["rows"],
                               urls=item["urls"], examples=tuple(item["examples"]), names=tuple(item["names"]),
                               names_total=item["names_total"], on_disk=item["on_disk"],
                               missing_on_disk=tuple(item.get("missing_on_disk", ())),
                               foreign_hosts=dict(item.get("foreign_hosts", {})), unnamed=item.get("unnamed", 0),
                               on_storage=item.get("on_storage", 0))   # an older program's output has none
                   for item in data["fields"])
    errors = tuple(f"{item['field']}: {item['error']}" for item in data.get("errors", ()))
    storage = data.get("storage")
    return ContentReport(host, forms, data["fields_scanned"], fields, errors, tuple(data.get("storage_hosts", ())),
                         StorageUrls(storage["backend"], storage["local"], dict(storage["urls"])) if storage else None,
                         {name: int(count) for name, count in data.get("chars", {}).items()})


@dataclass(frozen=True)
class StorageUrls:
    """The URL the site's default storage gives each name now, and which storage that is."""

    backend: str
    local: bool
    urls: dict[str, str]


def parse_storage_urls(output: str, host: str) -> StorageUrls:
    data = marked(output, host, "asking the site's storage for URLs")
    return StorageUrls(data["backend"], data["local"], dict(data["urls"]))
