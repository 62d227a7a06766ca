"""The delta passes at scale: the project's pass against rclone's and s5cmd's whole-tree passes.

    python -m bench.run --passes [--pass-trees 100k,1m] [--pass-changes 0,100,1000] [--keep-prefixes]

On each tree (``trees.PASS_SHAPES``: 1-4 KB files, a directory a day, made on
the media host under ``~/bench-trees/`` and kept) it times the bulk upload into
a fresh ``bench-passes-*`` prefix (``deploy.sync.on_host.upload_media``, as the
cutover's first copy), then, for each N of changed files, three passes that
each have N new files to carry:

- project: ``deploy.media.delta.upload_changed`` on a real ``deploy.engine.run.Run``
  (the sandbox's settings with MEDIA_ROOT and the prefix replaced, a Journal under
  a temporary directory, its state the run's passes), ``run.state.disk_mark`` set to
  the host's clock at the end of the previous pass, then N new files written;
- rclone: ``upload_media(..., overwrite=False)`` without a list: the project's flags
  with ``--ignore-existing``, the whole tree compared (the old catch-up pass);
- s5cmd: ``s5cmd sync --size-only`` of the whole tree, otherwise as bench/peers.py runs it.

Each tool gets N files of its own (under ``<tree>/bench-new-<token>/``, removed
at the end of the tree), so every pass copies exactly N.  Memory: the
operator's process peak during the project's pass (``VmHWM``, reset before
through ``/proc/self/clear_refs``), and the remote walk (``media_manifest.py
--since --paths``, run again under a wrapper that reports its descendants'
``ru_maxrss``).  The results of every tree measured so far are kept in
bench/results-passes.json; bench/RESULTS-passes.md is rendered from them.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from deploy.config.paths import shell_path
from deploy.config.types import Settings
from deploy.engine.counts import PassCounts
from deploy.engine.journal import Journal, new_run_id, read_entries
from deploy.engine.run import Options, Run
from deploy.media import delta
from deploy.media.passes import Passes
from deploy.remote.ssh import connect, put_script
from deploy.remote.ssh import run as remote_run
from deploy.sandbox import admin_settings
from deploy.sandbox.layout import Layout
from deploy.sync.install import install_sync_tool
from deploy.sync.on_host import upload_media
from deploy.sync.tools import credentials_file

from .host import BENCH_HOME, RUN_DIR, CommandFailed, prepare_private_dir, private_file, timed_run
from .prefixes import delete_prefix
from .peers import PEER_SPECS, PeerFiles, install_peer, peer_commands
from .trees import PASS_SHAPES, QUICK_PASS_SHAPES, Shape, ensure_base_tree

CHANGES = (0, 100, 1000)
TOOLS = ("project", "rclone", "s5cmd")
QUIET = 3.5   # seconds between the last files written and the project's mark: delta.MARGIN is 2 s, date +%s whole

# N new files of 1-4 KB under DIR (stdlib, on the media host): python3 -c NEW_FILES DIR N
NEW_FILES = ("import os,random,sys\nd,n=sys.argv[1],int(sys.argv[2]);os.makedirs(d,exist_ok=True)\n"
             "r=random.Random(n)\nfor i in range(n):\n"
             " open(os.path.join(d,'IMG_%06d.jpg'%i),'wb').write(r.randbytes(r.randint(1024,4096)))\n")
# A command's wall seconds and its descendants' peak RSS in KB: python3 -c PEAK OUT CMD... (stderr kept)
PEAK = ("import resource,subprocess,sys,time\nt=time.monotonic()\n"
        "p=subprocess.run(sys.argv[2:],stdout=open(sys.argv[1],'wb'),stderr=subprocess.PIPE)\n"
        "sys.stderr.write(p.stderr.decode(errors='replace')[-400:])\n"
        "print(p.returncode,time.monotonic()-t,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def measure_passes(project_root: Path, settings: Settings, keys: list[str], changes: tuple[int, ...],
                   keep_prefixes: bool, quick: bool, say: Callable[[str], None]) -> dict[str, dict]:
    """Every tree in ``keys``: its numbers (see bench/passes_report.py for how they are shown)."""
    shapes = QUICK_PASS_SHAPES if quick else PASS_SHAPES
    bench_settings = admin_settings(Layout(project_root), settings)   # the store's admin key, as bench/run.py
    measured, deleting = {}, []
    connection = connect(bench_settings, settings.media_host)
    try:
        install_sync_tool(connection, bench_settings)
        prepare_private_dir(connection, BENCH_HOME)
        s5cmd_version = install_peer(connection, bench_settings, PEER_SPECS["s5cmd"])
        prepare_private_dir(connection, RUN_DIR)
        credentials = f"{RUN_DIR}/aws-credentials-{secrets.token_hex(6)}"
        with private_file(connection, credentials, credentials_file(replace(bench_settings, sync_tool="s5cmd"))):
            files = PeerFiles("", "", credentials, "", "")
            sync = peer_commands(bench_settings, files)["s5cmd"]
            # --size-only: at its defaults s5cmd also recopies what was uploaded in the second it was written
            # (LastModified has whole seconds, so the file looks newer); the project's s5cmd passes use it too.
            s5cmd = lambda source, prefix: sync(source, prefix).replace(" sync ", " sync --size-only ", 1)  # noqa: E731
            for key in keys:
                tree = measure_tree(connection, bench_settings, shapes[key], changes, s5cmd, say)
                tree.update(key=key, s5cmd_version=s5cmd_version, load=f"{os.getloadavg()[0]:.1f}")
                measured[key] = tree
                if keep_prefixes:
                    say(f"    kept {tree['prefix']} (--keep-prefixes): `python -m bench.run --clean` deletes it")
                    tree["kept_prefix"] = True
                else:   # SeaweedFS deletes ~1,600 objects/s: in the background while the next tree runs
                    say(f"    deleting {tree['prefix']} in the background")
                    deleting.append(_delete_in_background(bench_settings, tree["prefix"]))
    finally:
        connection.close()
        for thread in deleting:
            say("    waiting for the bench-passes prefixes' deletion")
            thread.join()
    return measured


def measure_tree(connection, settings: Settings, shape: Shape, changes: tuple[int, ...], s5cmd,
                 say: Callable[[str], None]) -> dict:
    root = shape.directory
    existed = connection.run(f"test -d {shell_path(root)}", hide=True, warn=True, in_stream=False).ok
    say(f"==> {shape.name}: the tree on {settings.media_host}" + (" (kept from an earlier run)" if existed else ""))
    count, size, seconds = ensure_base_tree(connection, shape, settings.remote_python)
    remote_run(connection, f"rm -rf {shell_path(root)}/bench-new-*", "removing a killed run's new files")
    disk = remote_run(connection, f"du -s --block-size=1M {shell_path(root)}", f"measuring {root}").split()[0]
    tree = {"shape": shape.name, "files": count, "bytes": size, "disk_mb": int(disk),
            "made_seconds": None if existed else round(seconds, 1), "passes": [], "problems": [],
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    say(f"    {count:,} files, {size / 1e6:.0f} MB, {disk} MB on disk" +
        ("" if existed else f", made in {seconds:.1f} s"))
    prefix = tree["prefix"] = f"bench-passes-{shape.name}-{secrets.token_hex(3)}"
    tree_settings = replace(settings, media_root=root, media_prefix=prefix)
    begin = time.monotonic()
    bulk = upload_media(connection, tree_settings)
    tree["bulk_seconds"] = round(time.monotonic() - begin, 2)
    tree["bulk_copied"] = bulk.files_transferred
    say(f"    bulk upload {tree['bulk_seconds']:.1f} s ({bulk.files_transferred} files)")
    new_dir = f"{root}/bench-new-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="bench-passes-") as journal_dir:
        run_id = new_run_id()
        run = Run(tree_settings, Options(), Journal(Path(journal_dir), run_id, "sandbox", "bench-passes"),
                  say=lambda line: None, run_id=run_id, state=Passes())
        try:
            for index, changed in enumerate(changes):
                order = TOOLS[index % 3:] + TOOLS[:index % 3]   # the order turns with N (the page cache)
                for tool in order:
                    files_dir = f"{new_dir}/n{changed}-{tool}"
                    if tool == "project":
                        row = project_pass(run, connection, files_dir, changed)
                    else:
                        make_files(connection, settings, files_dir, changed)
                        row = peer_pass(connection, tree_settings, tool, s5cmd, root, prefix)
                    row.update(tool=tool, changed=changed)
                    if row["copied"] not in (changed, None):
                        tree["problems"].append(f"{tool} at N={changed} copied {row['copied']}, not {changed}")
                    tree["passes"].append(row)
                    say(f"    N={changed:<5} {tool:8} {row['seconds']:7.2f} s" +
                        (f" (walk {row['walk_seconds']:.2f} s, listed {row['listed']}, peak "
                         f"{row['operator_peak_mb']:.0f} MB)" if tool == "project" else ""))
            tree["walk"] = walk_memory(connection, tree_settings, run.state.disk_mark)
            say("    remote walk: " + ", ".join(f"{w['since']}: {w['seconds']:.2f} s, {w['peak_mb']:.0f} MB"
                                               for w in tree["walk"]))
        finally:
            run.close()
            remote_run(connection, f"rm -rf {shell_path(new_dir)}", f"removing {new_dir}")
    return tree


def project_pass(run: Run[Passes], connection, files_dir: str, changed: int) -> dict:
    """The mark, N new files, then ``delta.upload_changed``: wall seconds and the journal's counts."""
    time.sleep(QUIET)   # the other tools' files are then before the mark, minus the margin
    run.state.disk_mark = float(remote_run(connection, "date +%s", "reading the host's clock").strip())
    make_files(connection, run.settings, files_dir, changed)
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")   # resets VmHWM to the current RSS
    begin = time.monotonic()
    delta.upload_changed(run, run.state)
    seconds = time.monotonic() - begin
    peak = _status("VmHWM")
    record = [entry.event for entry in read_entries(run.journal.path) if isinstance(entry.event, PassCounts)][-1]
    return {"seconds": round(seconds, 3), "walk_seconds": record.find_seconds, "listed": record.listed,
            "copied": record.copied, "operator_rss_mb": before, "operator_peak_mb": peak}


def peer_pass(connection, settings: Settings, tool: str, s5cmd, root: str, prefix: str) -> dict:
    """A whole-tree pass: rclone with the project's flags and --ignore-existing, or s5cmd sync."""
    if tool == "rclone":
        begin = time.monotonic()
        result = upload_media(connection, settings, overwrite=False)
        return {"seconds": round(time.monotonic() - begin, 3), "copied": result.files_transferred}
    seconds, output = timed_run(connection, s5cmd(root, prefix), f"s5cmd sync to {prefix}", timeout=3600)
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    if errors:
        raise CommandFailed(f"s5cmd reported {len(errors)} errors: {errors[0][:300]}")
    return {"seconds": round(seconds, 3), "copied": sum(line.startswith("cp ") for line in output.splitlines())}


def make_files(connection, settings: Settings, directory: str, count: int) -> None:
    if count:
        remote_run(connection, f"{shell_path(settings.remote_python)} -c {shell_path(NEW_FILES)} "
                               f"{shell_path(directory)} {count}", f"writing {count} files into {directory}")


def walk_memory(connection, settings: Settings, mark: float) -> list[dict]:
    """The pass's remote walk again, under a wrapper: since the last pass, and since 0 (every file listed)."""
    script = put_script(connection, settings.tools_dir, "media_manifest.py")
    python = shell_path(settings.remote_python)
    found = []
    for label, since in (("since the last pass", mark - delta.MARGIN), ("every file listed", 0.0)):
        command = (f"{python} -c {shell_path(PEAK)} /dev/null nice --adjustment=10 {python} {shell_path(script)} "
                   f"--since {since:.6f} --paths {shell_path(settings.media_root)}")
        output = remote_run(connection, command, "measuring the remote walk", timeout=1800)
        code, seconds, peak_kb = output.split()[-3:]
        if code != "0":
            raise CommandFailed(f"media_manifest.py exited {code}: {output[-300:]}")
        found.append({"since": label, "seconds": round(float(seconds), 3), "peak_mb": int(peak_kb) / 1024})
    return found


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _delete_in_background(settings: Settings, prefix: str) -> threading.Thread:
    thread = threading.Thread(target=delete_prefix, args=(settings, prefix), name=f"delete {prefix}")
    thread.start()
    return thread


def load_results(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
