"""Reading the sync tools' output, line by line: counters, progress lines, errors.

Pure: ``deploy.sync.on_host`` cuts the tool's streams into lines (:class:`LineWriter`),
feeds every line a tool prints to a :class:`ToolOutput`
(:func:`tool_output` picks the tool's parser) and shows the operator what it
returns.  rclone reports running totals in its stats lines; s5cmd and s3cmd
report each copied object, so their parsers count.

The store's faults in them (``deploy.retry``): rclone names each file it failed
to copy and why (``"object"``, "... StatusCode: 503 ... api error SlowDown: ...");
when every error of a pass is a transient fault of a named file, those files
can be sent again by list (:meth:`ToolOutput.resendable`, ``deploy.sync.resend``).
s3cmd says each request it retries on a WARNING line: counted by kind (``retried``).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, deque
from typing import Callable

from ..retry import Fault, fault_of_answer

SHOWN_ERRORS = 20
# A file that changed while rclone copied it: not the store's fault, but sent again as the store's are.
SOURCE_CHANGED = "source file changed during the copy"
# rclone's own summaries of a pass's errors, each already named on the line of its file.
_RCLONE_SUMMARY = re.compile(r"^(Attempt \d+/\d+ (failed|succeeded)|Can't retry any of the errors|"
                             r"Fatal error received|Failed to \w+ with \d+ errors)")
_STATUS = re.compile(r"(?:StatusCode:|status code:)\s*(\d{3})|\b(\d{3}) \((\w+)\)")
_API_ERROR = re.compile(r"api error (\w+): ([^,\n]*)")
_S3CMD_ERROR = re.compile(r"\b\d{3} \((\w+)\): ([^)\n]*)")
_SDK_V1_ERROR = re.compile(r"\b([A-Z]\w+): ([^\n]*)\n\s*status code:")   # s5cmd's aws-sdk-go v1
# What Go's and Python's network errors say, and the name deploy.retry gives them.
_NETWORK = (("connection reset", "ConnectionResetError"), ("broken pipe", "BrokenPipeError"),
            ("connection refused", "ConnectionRefusedError"), ("i/o timeout", "TimeoutError"),
            ("timed out", "TimeoutError"), ("timeout", "TimeoutError"), ("unexpected eof", "IncompleteRead"),
            ("remote end closed connection", "RemoteDisconnected"), ("eof", "RemoteDisconnected"))


def tool_fault(text: str) -> Fault | None:
    """The store's fault a tool's error text names: its status and code (Go SDK v1 and v2, s3cmd), or a
    network error by deploy.retry's name for it; a file changed during the copy; None when it names none."""
    if "source file is being updated" in text:
        return Fault(SOURCE_CHANGED, True, text)
    status = _STATUS.search(text)
    if status:
        code, message = "", ""
        if (api := _API_ERROR.search(text) or _S3CMD_ERROR.search(text) or _SDK_V1_ERROR.search(text)):
            code, message = api.group(1), api.group(2).strip()
        return fault_of_answer(int(status.group(1) or status.group(2)), code or status.group(3) or "", message)
    lower = text.lower()
    for phrase, name in _NETWORK:
        if phrase in lower:
            return Fault(name, True, f"{name}: {text.strip()[-160:]}")
    return None


class ToolOutput:
    """Counts what a tool reports, line by line; says what the operator should see.

    ``feed(line, stream)`` returns a line for the operator or None.  Counters stay
    None when the tool did not report them.
    """

    def __init__(self, totals: tuple[int, int] | None = None,
                 clock: Callable[[], float] = time.monotonic, every: float = 1.0, verb: str = "uploaded"):
        self.totals, self.clock, self.every, self.verb = totals, clock, every, verb
        self.files: int | None = None
        self.bytes: int | None = None
        self.displaced: int | None = None     # files moved aside before being replaced (rclone)
        self.checked: int | None = None       # found on the other side already, not sent (rclone)
        self.reported_errors: int | None = None   # the tool's own error count (rclone's stats)
        self.errors = 0
        self.problems: deque[str] = deque(maxlen=5)    # the last error lines, for the exception
        self.failed_files: dict[str, Fault] = {}      # a file the tool failed to copy -> why (rclone)
        self.unexplained: list[str] = []              # errors that name no file (rclone)
        self.retried: Counter[str] = Counter()        # requests the tool retried itself, by kind (s3cmd)
        self._shown_at = float("-inf")

    def feed(self, line: str, stream: str) -> str | None:
        raise NotImplementedError

    def failed(self, exit_code: int) -> bool:
        return exit_code != 0 or self.errors > 0

    def resendable(self) -> list[str] | None:
        """The files to send again when every error was a transient fault of a named file; else None (the
        copy failed for another reason, or a name could not go on a list)."""
        if not self.failed_files or self.unexplained or not all(f.transient for f in self.failed_files.values()):
            return None
        if any("\n" in name or "\r" in name for name in self.failed_files):
            return None
        return list(self.failed_files)

    def final_line(self) -> str | None:
        """A last progress line at the end (tools that only count get one)."""
        return None

    def _problem(self, line: str) -> str | None:
        """Count an error; show the first few (a wrong key fails every file alike)."""
        self.errors += 1
        self.problems.append(line)
        if self.errors <= SHOWN_ERRORS:
            return line
        if self.errors == SHOWN_ERRORS + 1:
            return "(more errors: counted, not shown; the last ones come with the failure)"
        return None

    def _count(self, size: int) -> str | None:
        self.files = (self.files or 0) + 1
        self.bytes = (self.bytes or 0) + size
        if self.clock() - self._shown_at >= self.every:
            return self._progress()
        return None

    def _progress(self) -> str:
        self._shown_at = self.clock()
        line = f"{self.files or 0:,} files {self.verb} ({human_size(self.bytes or 0)})"
        if self.totals:
            line += f"; the tree holds {self.totals[0]:,} files ({human_size(self.totals[1])})"
        return line


class RcloneOutput(ToolOutput):
    """rclone with --use-json-log: every stats line carries the counters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.elapsed: float | None = None

    def feed(self, line: str, stream: str) -> str | None:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            return line or None
        stats = entry.get("stats")
        if isinstance(stats, dict):
            self.files, self.bytes = stats.get("transfers"), stats.get("bytes")
            self.displaced = stats.get("renames")      # --backup-dir moves; nothing else renames
            self.checked, self.reported_errors = stats.get("checks"), stats.get("errors")
            self.elapsed = stats.get("elapsedTime")
            return _rclone_stats_line(stats)
        message = str(entry.get("msg", "")).strip()
        if entry.get("object"):
            message = f"{entry['object']}: {message}"
        level = str(entry.get("level", "info"))
        if level in ("error", "critical", "fatal"):
            # An error line is not yet a failure; the exit code says.
            self.problems.append(message)
            self._judge(str(entry.get("msg", "")).strip(), entry.get("object"))
        return f"rclone {level}: {message}"

    def _judge(self, text: str, name) -> None:
        if name and text.startswith("Failed to copy"):
            self.failed_files[str(name)] = tool_fault(text) or Fault("error", False, text)
        elif not _RCLONE_SUMMARY.match(text):
            self.unexplained.append(text)

    def failed(self, exit_code: int) -> bool:
        return exit_code != 0


class _Counting(ToolOutput):
    """A tool that reports every copied object: no report means nothing copied."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.files, self.bytes = 0, 0

    def final_line(self) -> str | None:
        return self._progress()


class S5cmdOutput(_Counting):
    """s5cmd --json: one line per copied object; errors as JSON or ``ERROR ...`` lines.

    A wildcard source that matches nothing (``cp 's3://b/prefix/*'`` on an empty
    prefix) is its "no object found" with exit 1: nothing to copy, not a failure.
    """

    NOTHING_FOUND = "no object found"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.nothing_found = False

    def feed(self, line: str, stream: str) -> str | None:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            if line.startswith("ERROR") and line.rstrip().endswith(self.NOTHING_FOUND):
                self.nothing_found = True
                return None
            if line.startswith("ERROR"):
                return self._problem(f"s5cmd: {line}")
            return line or None
        if entry.get("error") == self.NOTHING_FOUND:
            self.nothing_found = True
            return None
        if entry.get("error"):
            return self._problem(f"s5cmd error: {entry['error']}")
        if entry.get("operation") == "cp" and entry.get("success") is True:
            return self._count(int((entry.get("object") or {}).get("size") or 0))
        return None

    def failed(self, exit_code: int) -> bool:
        if self.nothing_found and exit_code == 1 and not self.errors and not self.files:
            return False
        return super().failed(exit_code)


_S3CMD_UPLOAD = re.compile(r"^upload: '.*' -> '.*' \((\d+) bytes in ")
_S3CMD_DONE = re.compile(r"^Done\. Uploaded (\d+) bytes in ([0-9.]+) seconds")


class S3cmdOutput(_Counting):
    """s3cmd --no-progress --stats: ``upload: 'a' -> 's3://b' (N bytes in ...)`` per object."""

    def feed(self, line: str, stream: str) -> str | None:
        upload = _S3CMD_UPLOAD.match(line)
        if upload:
            return self._count(int(upload.group(1)))
        if _S3CMD_DONE.match(line):
            return None
        if line.startswith("ERROR"):
            return self._problem(f"s3cmd: {line}")
        if line.startswith("WARNING: Retrying failed request") and (fault := tool_fault(line)) is not None:
            self.retried[fault.kind] += 1
        if line.startswith(("WARNING", "Stats:", "INFO")):
            return f"s3cmd: {line}"
        return None


class LineWriter:
    """A stream for Invoke's out_stream/err_stream: calls ``handle(line)`` once per complete line."""

    def __init__(self, handle: Callable[[str], None]):
        self._handle = handle
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._handle(line.rstrip("\r"))
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Hand over a last line that had no newline."""
        if self._pending:
            line, self._pending = self._pending, ""
            self._handle(line.rstrip("\r"))


def tool_output(tool: str, totals: tuple[int, int] | None = None, **kwargs) -> ToolOutput:
    return {"rclone": RcloneOutput, "s5cmd": S5cmdOutput, "s3cmd": S3cmdOutput}[tool](totals, **kwargs)


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _rclone_stats_line(stats: dict) -> str:
    total_files, total_bytes = stats.get("totalTransfers") or 0, stats.get("totalBytes") or 0
    done = stats.get("bytes") or 0
    line = (f"rclone: {stats.get('transfers', 0):,}/{total_files:,} files, "
            f"{human_size(done)}/{human_size(total_bytes)}")
    if total_bytes:
        line += f" ({100 * done / total_bytes:.0f}%)"
    line += f", {human_size(stats.get('speed') or 0)}/s"
    if stats.get("eta") is not None:
        line += f", ETA {stats['eta']}s"
    line += f", {stats.get('checks', 0):,} checked"
    if stats.get("renames"):
        line += f", {stats['renames']:,} displaced"
    if stats.get("errors"):
        line += f", {stats['errors']} errors"
    return line
