"""The rehearsal's timeline picture: steps, change-over windows, the storage each host reported,
and request latency with failures, on one time axis (matplotlib, Agg backend: no display needed).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.lines import Line2D  # noqa: E402

from .fetching import Record  # noqa: E402

STEP_COLORS = {("cutover", "ok"): "tab:blue", ("rollback", "ok"): "tab:green"}
RESULT_COLORS = {"failed": "tab:red", "crashed": "tab:red", "undone": "tab:orange", "undo failed": "black"}
KIND_COLORS = {"page": "tab:blue", "health": "tab:gray", "media": "tab:green", "upload": "tab:purple"}
STORAGE_COLORS = {"disk": "tab:brown", "s3": "tab:cyan"}
MIN_BAR = 0.08  # seconds: the shortest bar still visible


def draw_timeline(report: dict, records: list[Record], origin: float, path: Path) -> Path:
    phases, windows = report["phases"], report["windows"]
    rows = [(f"{phase['phase']}: {step['name']}", step, phase["phase"]) for phase in phases for step in phase["steps"]]
    hosts = report["rehearsal"]["hosts"]
    figure, (steps_axis, storage_axis, latency_axis) = plt.subplots(
        3, 1, sharex=True, figsize=(13, 3.2 + 0.24 * (len(rows) + len(windows)) + 5),
        gridspec_kw={"height_ratios": [max(3, 0.24 * (len(rows) + len(windows))), 0.35 * len(hosts) + 0.5, 3.5]})
    _steps(steps_axis, rows, windows)
    _storage(storage_axis, records, hosts, origin)
    _latency(latency_axis, records, origin)
    for phase in phases:
        if phase["flip_t"] is not None:
            for axis in (steps_axis, storage_axis, latency_axis):
                axis.axvline(phase["flip_t"], color="tab:red", linestyle="--", linewidth=0.8)
            latency_axis.annotate(f"{phase['phase']} flip", (phase["flip_t"], 0), xycoords=("data", "axes fraction"),
                                  xytext=(3, 4), textcoords="offset points", fontsize=8, color="tab:red")
    meta = report["rehearsal"]
    figure.suptitle(f"Rehearsal {meta['run_id']} on {meta['env']}: {'PASSED' if report['passed'] else 'FAILED'}"
                    f" — {report['requests']['made']} requests, {report['requests']['failed']} failed, "
                    f"{report['uploads']['answered']} uploads, {report['uploads']['lost']} lost", fontsize=11)
    latency_axis.set_xlabel("seconds since the rehearsal started")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _steps(axis, rows, windows) -> None:
    labels = []
    for index, (label, step, phase) in enumerate(rows):
        color = RESULT_COLORS.get(step["result"], STEP_COLORS.get((phase, step["result"]), "tab:gray"))
        axis.barh(index, max(step["seconds"], MIN_BAR), left=step["start"], color=color, height=0.7)
        labels.append(label if len(label) < 52 else label[:50] + "…")
    for offset, window in enumerate(windows):
        if window["from_t"] is None or window["to_t"] is None:
            continue
        index = len(rows) + offset
        axis.barh(index, max(window["to_t"] - window["from_t"], MIN_BAR), left=window["from_t"],
                  color="tab:pink", height=0.7)
        axis.text(window["to_t"], index, f" {window['seconds']:.1f} s", va="center", fontsize=7)
        labels.append(f"change-over window {window['host']} ({window['phase']})")
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    axis.invert_yaxis()
    axis.grid(axis="x", alpha=0.3)
    axis.set_title("steps (blue: cutover, green: rollback, red: failed, orange: undone) and change-over windows",
                   fontsize=9, loc="left")


def _storage(axis, records: list[Record], hosts: list[str], origin: float) -> None:
    for index, host in enumerate(hosts):
        for storage, color in STORAGE_COLORS.items():
            times = [r.time - origin for r in records
                     if r.host == host and r.kind == "health" and r.storage == storage]
            axis.scatter(times, [index] * len(times), s=6, color=color, marker="|",
                         label=storage if index == 0 else None)
        down = [r.time - origin for r in records if r.host == host and r.kind == "health" and r.error]
        axis.scatter(down, [index] * len(down), s=30, color="tab:red", marker="x")
    axis.set_yticks(range(len(hosts)), [f"{host} /healthz" for host in hosts], fontsize=8)
    axis.set_ylim(-0.6, len(hosts) - 0.4)
    axis.invert_yaxis()
    axis.legend(loc="upper right", fontsize=7, ncols=2, title="storage reported", title_fontsize=7)


def _latency(axis, records: list[Record], origin: float) -> None:
    for kind, color in KIND_COLORS.items():
        good = [r for r in records if r.kind == kind and not r.error]
        axis.scatter([r.time - origin for r in good], [max(r.seconds, 1e-4) * 1000 for r in good],
                     s=5, color=color, alpha=0.5, label=f"{kind} ({len(good)})")
    failed = [r for r in records if r.error]
    axis.scatter([r.time - origin for r in failed], [max(r.seconds, 1e-4) * 1000 for r in failed],
                 s=40, color="tab:red", marker="x", label=f"failed ({len(failed)})", zorder=3)
    axis.set_yscale("log")
    axis.set_ylabel("latency, ms (log)")
    axis.grid(alpha=0.3)
    handles, labels = axis.get_legend_handles_labels()
    handles.append(Line2D([], [], color="tab:red", linestyle="--", linewidth=0.8))
    labels.append("settings flip")
    axis.legend(handles, labels, loc="upper left", fontsize=7, ncols=6)
    axis.set_title("requests: latency by kind; failed requests as red crosses", fontsize=9, loc="left")
