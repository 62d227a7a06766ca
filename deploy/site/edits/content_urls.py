"""The rewrite of old media URLs in the site's content: its plan, its dry run's output and diff, its result.

Pure.  The plan maps each file's name to the URL the site's storage gives it now, only for names known to
be in the bucket and only where that URL is a plain, stable one (a signed URL expires: written into a page
it would break).  The program (deploy/site/programs/content_url_rows.py) replaces, in each row, exactly
the old media URLs of those names (``deploy.site.facts.content_urls`` says which forms).  Its dry run
prints each row's key and hash (``PlannedRow``: the rewrite's "expected") and a few rows whole (the
diffs).  The rewrite's record on the host (a ``RowChange`` a line) and its restore are
``deploy.site.edits.content_url_record``'s.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Container, Iterable
from urllib.parse import urlsplit

from ...text_table import counted
from ..facts.content_urls import ContentReport, FieldReport, UrlForms, marked

ROW_MARKER = "MEDIA-CUTOVER-CONTENT-ROW "
HASH_MARKER = "MEDIA-CUTOVER-CONTENT-HASH "
UNSAFE = re.compile(r"[\s\"'<>\\`]")
# What would end a URL written into an HTML attribute's value ('...' or "..."), a JSON string or prose: in a new
# URL's path, percent-encoded.  The bucket decodes a path (%27 names the key with a '), and a browser sends all
# but the ' percent-encoded anyway.  A tab, a line break or a backslash a browser would drop or read as "/": refused.
ENCODED = re.compile(r"[ \"'<>`]")
ABSOLUTE = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)(?P<path>[^?#]*)(?P<rest>.*)", re.DOTALL)
WIDTH = 100  # a diff's lines: long HTML is cut after its tags so that a change shows in a short line


@dataclass(frozen=True)
class RewritePlan:
    """Name -> its new URL, and the names left as they are with why."""

    urls: dict[str, str]
    left: dict[str, str] = field(default_factory=dict)
    encoded: tuple[str, ...] = ()   # names whose new URL is the storage's with its quotes or spaces %-encoded

    def lines(self) -> list[str]:
        reasons: dict[str, list[str]] = {}
        for name, why in sorted(self.left.items()):
            reasons.setdefault(why, []).append(name)
        lines = [f"{counted(len(self.urls), 'file')}: their old URLs become the storage's URLs"]
        if self.encoded:
            lines.append(f"{counted(len(self.encoded), 'file')} {'has' if len(self.encoded) == 1 else 'have'} a "
                         f"quote, a space or an angle bracket in the storage's URL: written %-encoded (the same key; "
                         f"e.g. {', '.join(self.encoded[:3])})")
        lines += [f"{counted(len(names), 'file')} left as {'it is' if len(names) == 1 else 'they are'}: {why} "
                  f"(e.g. {', '.join(names[:3])})" for why, names in reasons.items()]
        return lines


def attribute_safe(url: str) -> str:
    """``url`` with each quote, space, angle bracket or backtick of its path percent-encoded (``%27``, ``%20``):
    written as it is into ``src='...'`` or a JSON string, Django's ``photo's%20(1).png`` would end the value
    at its apostrophe.  The scheme and host, an existing ``%XX`` and anything else are left as they are."""
    parts = ABSOLUTE.fullmatch(url)
    if not parts:
        return url
    path = ENCODED.sub(lambda character: f"%{ord(character.group()):02X}", parts["path"])
    return parts["head"] + path + parts["rest"]


def plan_rewrite(names: Iterable[str], in_bucket: Container[str], url_of: Callable[[str], str | None],
                 forms: UrlForms) -> RewritePlan:
    """Each name's new URL: the one the site's storage gives it (``url_of``: ``facts.content_urls``'s
    storage-urls answer), for names in the bucket, when that URL is absolute, unsigned and not itself an
    old form (a second run must change nothing); a quote or a space in its path percent-encoded
    (``attribute_safe``)."""
    urls, left, encoded = {}, {}, []
    for name in sorted(set(names)):
        given = url_of(name) if name in in_bucket else None
        url = attribute_safe(given) if given else given
        parts = urlsplit(url or "")
        if name not in in_bucket:
            left[name] = "not in the bucket"
        elif not url or parts.scheme not in ("http", "https") or not parts.netloc:
            left[name] = "the storage gives no absolute URL (the site does not serve from the bucket)"
        elif parts.query or parts.fragment:
            left[name] = "the storage's URL has a query (a signed URL expires: querystring_auth=False)"
        elif UNSAFE.search(url):
            left[name] = ("the storage's URL holds a backslash or a whitespace other than a space, or a quote or "
                          "a space in its host")
        elif parts.netloc.lower() in forms.hosts:
            left[name] = "the storage's URL is on an old media host"
        else:
            urls[name] = url
            if url != given:
                encoded.append(name)
    return RewritePlan(urls, left, tuple(encoded))


def plan_input(plan: RewritePlan, expected: dict[str, dict[str, str]] | None = None) -> bytes:
    """What ``rewrite`` reads on stdin.  ``expected`` (``expected_hashes`` of the dry run the operator saw):
    a row changed since, or not listed, is skipped and named."""
    return json.dumps({"urls": plan.urls, "expected": expected}, sort_keys=True).encode("utf-8")


@dataclass(frozen=True)
class RowChange:
    """One row's field, before and after a rewrite: a line of the record."""

    model: str          # app.Model
    field: str
    pk: object          # as JSON gives it: an int, or a str (a UUID)
    before: object      # a str, or a JSONField's value
    after: object
    hash: str           # of before, as the program computes it (content_url_finder.value_hash)

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"

    def data(self) -> dict:
        return {"model": self.model, "field": self.field, "pk": self.pk, "before": self.before,
                "after": self.after, "hash": self.hash}

    @classmethod
    def read(cls, data: dict) -> RowChange:
        return cls(data["model"], data["field"], data["pk"], data["before"], data["after"], data["hash"])

    @property
    def key(self) -> tuple[str, str, str]:
        """(model, field, pk as JSON): the row, whatever type its pk came back as."""
        return self.model, self.field, json.dumps(self.pk)

    def swapped(self) -> RowChange:
        """The change the other way: a restore of it writes ``after`` again where the row holds ``before``."""
        return RowChange(self.model, self.field, self.pk, self.after, self.before, self.hash)


@dataclass(frozen=True)
class PlannedRow:
    """A row a dry run would change: its key and the hash of its value as read (no before, no after)."""

    model: str
    field: str
    pk: object
    hash: str

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"


def rows_of(output: str) -> list[RowChange]:
    return [RowChange.read(json.loads(line[len(ROW_MARKER):])) for line in output.splitlines()
            if line.startswith(ROW_MARKER)]


def planned_of(output: str) -> list[PlannedRow]:
    """The HASH_MARKER lines of a dry run (``--hashes``): every row it would change (parsed as one JSON list:
    a dry run of 100,000 rows prints 200,000 of them)."""
    lines = [line[len(HASH_MARKER):] for line in output.splitlines() if line.startswith(HASH_MARKER)]
    return [PlannedRow(data["model"], data["field"], data["pk"], data["hash"])
            for data in json.loads("[" + ",".join(lines) + "]")]


def expected_hashes(rows: Iterable[RowChange | PlannedRow]) -> dict[str, dict[str, str]]:
    """The dry run's rows as the rewrite checks them: field -> str(pk) -> hash of the value shown."""
    expected: dict[str, dict[str, str]] = {}
    for row in rows:
        expected.setdefault(row.label, {})[str(row.pk)] = row.hash
    return expected


@dataclass(frozen=True)
class RewriteResult:
    host: str
    dry_run: bool
    rows: tuple[RowChange, ...]      # those printed whole (--shown)
    fields: tuple[dict, ...]         # {"field", "changed", "skipped": [{"pk", "why"}], "skipped_total"}
    planned: tuple[PlannedRow, ...] = ()   # every row, key and hash (--hashes)
    left: tuple[dict, ...] = ()      # {"field", "type", "rows", "urls"}: old media URLs the content holds after
    fields_scanned: int | None = None     # None: an older program's output says nothing of what is left
    record: dict | None = None       # the record on the host: {"path", "rows", "bytes", "sha256"}

    @property
    def changed(self) -> int:
        return sum(count["changed"] for count in self.fields)

    def remains(self, forms: UrlForms) -> ContentReport | None:
        """What a find would report after the rewrite (its summary, its journaled counts), from the program's
        own count of what it left; None when it did not count."""
        if self.fields_scanned is None:
            return None
        fields = tuple(FieldReport(field=item["field"], type=item["type"], form="url", rows=item["rows"],
                                   urls=item["urls"], examples=(), names=(), names_total=0, on_disk=0)
                       for item in self.left)
        return ContentReport(self.host, forms, self.fields_scanned, fields)

    def lines(self) -> list[str]:
        verb = "would change" if self.dry_run else "changed"
        lines = []
        for count in self.fields:
            line = f"{self.host}: {count['field']}: {verb} {counted(count['changed'], 'row')}"
            if count["skipped_total"]:
                named = ", ".join(f"pk {item['pk']} ({item['why']})" for item in count["skipped"])
                more = count["skipped_total"] - len(count["skipped"])
                line += f"; skipped {count['skipped_total']}: {named}" + (f" and {more} more" if more else "")
            lines.append(line)
        return lines or [f"{self.host}: no row to change: no old URL of a planned file is left"]


def parse_rewrite(output: str, host: str) -> RewriteResult:
    data = marked(output, host, "rewriting old media URLs")
    return RewriteResult(host, data["dry_run"], tuple(rows_of(output)), tuple(data["fields"]),
                         tuple(planned_of(output)), tuple(data.get("left", ())), data.get("fields_scanned"),
                         data.get("record"))


# --- the diff a dry run shows ----------------------------------------------------------------------------

def display_lines(value: object) -> list[str]:
    """A value as the diff shows it: a JSON value indented; a text's long lines cut after each tag and,
    still too long, at spaces (kept at the end of the piece)."""
    if not isinstance(value, str):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    lines = []
    for line in value.splitlines() or [""]:
        pieces = re.split(r"(?<=>)", line) if len(line) > WIDTH else [line]
        for piece in filter(None, pieces):
            current = ""
            for word in re.findall(r"\S+\s*|\s+", piece):
                if current and len(current) + len(word) > WIDTH:
                    lines.append(current)
                    current = ""
                current += word
            lines.append(current)
    return lines


def diff(row: RowChange) -> str:
    """A unified diff of one row's field, labelled with its model, pk and field."""
    where = f"{row.label} pk={row.pk}"
    return "\n".join(difflib.unified_diff(display_lines(row.before), display_lines(row.after),
                                          f"{where} (now)", f"{where} (rewritten)", n=1, lineterm=""))
