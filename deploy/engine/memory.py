"""The operator process's peak memory, step by step, for the journal (Linux; None elsewhere).

``VmHWM`` in /proc/self/status is the process's peak resident set; writing 5 to
/proc/self/clear_refs starts it again from the current size (Linux 4.0+), so
each step's record says what that step itself needed.
"""

from __future__ import annotations

from pathlib import Path

_STATUS, _CLEAR = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def reset_peak() -> None:
    try:
        _CLEAR.write_text("5")
    except OSError:
        pass


def peak_mb() -> float | None:
    """The peak resident set since the last reset_peak(), in MB."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None
