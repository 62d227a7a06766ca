"""The record of a rewrite of old media URLs in the site's content, and its restore.

Pure.  The rewrite (``deploy.site.edits.content_urls``) writes a row line per change to its record on the
host: JSON lines, a header first (``record_header``).  The operator fetches it once and checks it as it
streams (``RecordCheck``: every line a row, its rows, bytes and sha256 those the program said), keeping it
with mode 600.  ``read_record`` reads it back; the restore sends its rows (``restore_input``), and the
program puts ``before`` back where the row still holds ``after`` (``parse_restore``, ``put_back_rows``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

from ...errors import RemoteError
from ...text_table import counted
from ..facts.content_urls import MARKER, marked
from .content_urls import RowChange

ROW_KEYS = ("model", "field", "pk", "before", "after", "hash")
RECORD_KIND = "media-cutover content rewrite"


def record_report(output: str) -> dict | None:
    """The program's word on its record on the host ({"path", "rows", "bytes", "sha256"}), error or not:
    when a later model failed, the rows of those that committed are in it."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):]).get("record")
    return None


def record_text(rows: Iterable[RowChange], **header: str) -> str:
    """The record: a header line (the run, the environment, the forms), then a JSON line a row."""
    lines = [record_header(**header).rstrip("\n")]
    # Not sort_keys: a JSONField's value keeps its keys' order, or it would not be put back as it was (and
    # SQLite compares JSON as text: the restore would not find the row holding what was written).
    lines += [json.dumps(row.data()) for row in rows]
    return "\n".join(lines) + "\n"


class RecordCheck:
    """The host's record as it streams to the operator's: every line a row (a JSON object with the row's
    keys), counted, its bytes hashed; ``finish`` compares them with what the program said it wrote."""

    def __init__(self, host: str, path: str):
        self.host, self.path = host, path
        self.rows, self.bytes, self.sha256, self.rest = 0, 0, hashlib.sha256(), b""

    def feed(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.bytes += len(chunk)
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            self._row(line)

    def _row(self, line: bytes) -> None:
        self.rows += 1
        try:
            data = json.loads(line)
            good = isinstance(data, dict) and all(key in data for key in ROW_KEYS) \
                and isinstance(data["model"], str) and isinstance(data["field"], str) and isinstance(data["hash"], str)
        except ValueError:
            good = False
        if not good:
            raise RemoteError(f"{self.host}: {self.path}: line {self.rows} of the rewrite's record is not a row")

    def finish(self, said: dict | None = None) -> int:
        """The rows read; RemoteError when the last line is cut short, or the rows, bytes or sha256 are not
        those the program said (``said``: its "record")."""
        if self.rest:
            raise RemoteError(f"{self.host}: {self.path}: the rewrite's record ends in the middle of a line")
        if said is not None:
            got = {"rows": self.rows, "bytes": self.bytes, "sha256": self.sha256.hexdigest()}
            wrong = [f"{key} {got[key]} (the program wrote {said.get(key)})" for key in got if said.get(key) != got[key]]
            if wrong:
                raise RemoteError(f"{self.host}: {self.path}: the rewrite's record is not the one written: "
                                  + ", ".join(wrong))
        return self.rows


def record_header(**header: str) -> str:
    return json.dumps({"record": RECORD_KIND, **header}, sort_keys=True) + "\n"


def read_record(text: str) -> tuple[dict, list[RowChange]]:
    """(header, rows) of a record; a line that is neither is a ValueError naming it."""
    header, rows = {}, []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if data.get("record") == RECORD_KIND:
                header = data
            else:
                rows.append(RowChange.read(data))
        except (ValueError, KeyError, AttributeError) as problem:
            raise ValueError(f"line {number} of the record is not a row: {problem}") from None
    return header, rows


def restore_input(rows: Iterable[RowChange]) -> bytes:
    """What ``restore`` reads on stdin: the rows in the record's order (it goes back newest first)."""
    return "".join(json.dumps(row.data()) + "\n" for row in rows).encode("utf-8")


@dataclass(frozen=True)
class RestoreResult:
    host: str
    restored: int
    already: int
    named: tuple[dict, ...]     # {"model", "field", "pk", "why"}: rows not put back
    keys: frozenset[tuple[str, str, str]] = frozenset()   # RowChange.key of each row put back

    def lines(self) -> list[str]:
        lines = [f"{self.host}: {counted(self.restored, 'row')} put back"
                 + (f", {self.already} held their old value already" if self.already else "")]
        lines += [f"{self.host}: NOT put back: {item['model']}.{item['field']} pk {item['pk']} ({item['why']})"
                  for item in self.named]
        return lines

    def reapplied_lines(self) -> list[str]:
        """Said of a restore of swapped rows (the undo of a restore): the rewrite applied again."""
        lines = [f"{self.host}: {counted(self.restored, 'row')} {'holds' if self.restored == 1 else 'hold'} the "
                 f"rewritten URLs again"
                 + (f", {self.already} held them already" if self.already else "")]
        lines += [f"{self.host}: NOT rewritten again: {item['model']}.{item['field']} pk {item['pk']} "
                  f"({item['why'].replace('since the rewrite', 'since it was put back')})" for item in self.named]
        return lines


def parse_restore(output: str, host: str) -> RestoreResult:
    data = marked(output, host, "putting the content's old URLs back")
    keys = frozenset((item["model"], item["field"], json.dumps(item["pk"])) for item in data.get("rows", ()))
    return RestoreResult(host, data["restored"], data["already"], tuple(data["named"]), keys)


def put_back_rows(rows: Iterable[RowChange], result: RestoreResult) -> list[RowChange]:
    """The rows of a record this restore put back (``result.keys``), in the record's order."""
    return [row for row in rows if row.key in result.keys]


# --- the room the record takes ---------------------------------------------------------------------

RECORD_PER_CHAR = 3     # each changed row's value twice (before, after: longer URLs), JSON-escaped: the sandbox's
                        # 100,000 articles, 72 million characters, made a 197 MB record (2.7 bytes a character)
RECORD_PER_ROW = 200    # a line's model, field, key, hash and punctuation
RECORD_MARGIN = 64 << 20   # left free besides: the program keeps as much free on the host (RECORD_RESERVE)


def record_estimate(chars: int, rows: int) -> int:
    """The bytes a rewrite's record of ``rows`` rows whose values hold ``chars`` characters takes, about
    (content mostly ASCII; the program checks each model's exact lines on the host before it commits)."""
    return chars * RECORD_PER_CHAR + rows * RECORD_PER_ROW


def record_room_problem(where: str, directory: str, chars: int, rows: int, free: int) -> str | None:
    """One line naming the place, the directory, the bytes the record needs (with the margin) and the bytes
    free; None if it fits."""
    needed = record_estimate(chars, rows) + RECORD_MARGIN
    if rows == 0 or needed <= free:
        return None
    return (f"{where}: the rewrite's record of {counted(rows, 'row')} needs about {needed:,} bytes in {directory} "
            f"({chars:,} characters of content, twice, with {RECORD_MARGIN >> 20} MiB kept free) but its "
            f"filesystem has {free:,} bytes free: free some space there, then run the rewrite again; nothing "
            "was changed")
