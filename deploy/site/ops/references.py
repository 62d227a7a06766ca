"""The files the site's database references (every FileField/ImageField value of every model, and the file
paths in CharFields: file-browser fields store a path under MEDIA_ROOT as text).

Run on the media host with the site's own Python and settings; only references
whose file is missing on disk come back.  Files on disk are already proven in
the bucket by the verify, so those few are looked up in the bucket one by one:
found there, or missing everywhere (not the cutover's fault, but the operator
must see them).  A CharField's path counts only when its file is on disk (text
that names no file is just text: programs/reference_scan.py says why), so
those are all covered by the verify, which compares the whole tree with the
bucket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import botocore.exceptions

from ...engine.run import Run
from ...media.compare import object_key
from ...remote.ssh import LineStream
from ...errors import StoreUnavailable
from ...retry import gave_up, policy_of
from ...store.client import attempts_made, client_fault, s3_client
from ..site_python import manage_shell, prelude, program

# Looked up in the bucket one by one; past that they are only counted.
LOOKUP_LIMIT = 1000
# The path CharFields named in the summary; past that they are only counted.
FIELDS_SHOWN = 5

# Runs inside the site (`manage.py shell -c`) after a prelude MEDIA_ROOT = ...: programs/reference_scan.py.
SCRIPT = program("reference_scan.py")


@dataclass
class ReferenceReport:
    references: int = 0          # both kinds
    missing_on_disk: int = 0     # FileField values whose file is not on disk
    in_bucket: int = 0
    missing_everywhere: list[str] = field(default_factory=list)
    not_looked_up: int = 0
    path_references: int = 0     # of references, the file paths in CharFields (every one on disk)
    path_fields: dict[str, int] = field(default_factory=dict)   # "app.Model.field": its paths
    path_fields_capped: list[str] = field(default_factory=list)  # read only up to the scan's row limit
    path_rows: int = 0           # that limit

    def summary(self) -> str:
        line = f"{self.references} file references in the database"
        if self.path_references:
            most = sorted(self.path_fields.items(), key=lambda item: (-item[1], item[0]))
            shown = ", ".join(f"{name} {count}" for name, count in most[:FIELDS_SHOWN])
            more = len(self.path_fields) - FIELDS_SHOWN
            line += (f" ({self.references - self.path_references} in FileFields, {self.path_references} "
                     f"paths in CharFields: {shown}{f' and {more} more fields' if more > 0 else ''})")
        if self.path_fields_capped:
            line += (f" (of {', '.join(self.path_fields_capped)} only the first {self.path_rows:,} rows with a "
                     f"'.' were read)")
        if not self.missing_on_disk:
            return line + ", every one on disk (and so in the bucket)"
        line += (f"; {self.missing_on_disk} were already missing on disk: {self.in_bucket} of them are in "
                 f"the bucket, {len(self.missing_everywhere)} are nowhere (not caused by the cutover)")
        shown = [f"\n    - {name}" for name in self.missing_everywhere[:10]]
        more = len(self.missing_everywhere) - len(shown) + self.not_looked_up
        return line + "".join(shown) + (f"\n    ... and {more} more" if more > 0 else "")


def check_references(run: Run) -> ReferenceReport | None:
    """None when the media host's MANAGE_PY is not configured."""
    settings = run.settings
    host = settings.host(settings.media_host)
    if not host.manage_py:
        return None
    script = prelude(MEDIA_ROOT=settings.media_root) + SCRIPT
    command = manage_shell(host, script)
    report, client = ReferenceReport(), s3_client(settings, faults=run.faults)
    for raw in LineStream(run.media_connection, command, "listing the database's file references"):
        kind, _, value = raw.decode("utf-8", "replace").rstrip("\n").partition("\t")
        if kind == "counts":
            take_counts(report, json.loads(value))
        elif kind == "missing":
            _look_up(client, settings, value, report)
    return report


def take_counts(report: ReferenceReport, counts: dict) -> None:
    """The scan's "counts" line into the report."""
    report.references, report.missing_on_disk = counts["references"], counts["missing_on_disk"]
    # a scan from before the path CharFields has none of these
    report.path_references = counts.get("path_references", 0)
    report.path_fields = counts.get("path_fields", {})
    report.path_fields_capped = counts.get("path_fields_capped", [])
    report.path_rows = counts.get("path_rows", 0)


def _look_up(client, settings, name: str, report: ReferenceReport) -> None:
    if report.in_bucket + len(report.missing_everywhere) >= LOOKUP_LIMIT:
        report.not_looked_up += 1
        return
    key = object_key(settings.media_prefix, name)
    try:
        client.head_object(Bucket=settings.bucket, Key=key)
        report.in_bucket += 1
    except botocore.exceptions.ClientError as error:
        fault = client_fault(error)
        if fault.transient:   # the store did not answer well (botocore retried it): not a missing file
            raise StoreUnavailable(gave_up(f"looking up s3://{settings.bucket}/{key}", fault, attempts_made(error),
                                           None, {}, policy_of(settings))) from None
        report.missing_everywhere.append(name)
