"""The programs sent to the hosts as ``python3 -c TEXT`` (deploy/remote/scripts/), run here as they are sent.

media_root_inspect.py is run by test_sync_commands.py (from inspect_command's line) and gunicorn_facts.py
against a stand-in master by test_reload_facts.py; the uploaded scripts by test_remote_scripts.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from deploy.media import manifest
from deploy.site.facts import gunicorn
from deploy.site.ops import thumbnails


def python_c(text, *arguments, stdin=""):
    return subprocess.run([sys.executable, "-c", text, *map(str, arguments)], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_the_gunicorn_facts_of_this_very_process(tmp_path):
    """The test process stands in for the master: its pidfile, its command line and environment."""
    (tmp_path / "g.pid").write_text(f"{os.getpid()}\n")
    result = python_c(gunicorn.SCRIPT, tmp_path / "g.pid", "PATH")
    facts = gunicorn.parse_facts(result.stdout)
    assert facts["pid"] == os.getpid() and "error" not in facts, result.stdout + result.stderr
    assert facts["args"] == [arg.decode() for arg in Path("/proc/self/cmdline").read_bytes().split(b"\0") if arg]
    assert facts["switch_in_environment"] is True  # PATH: in our environment
    unset = gunicorn.parse_facts(python_c(gunicorn.SCRIPT, tmp_path / "g.pid", "MEDIA_CUTOVER_UNSET").stdout)
    assert unset["switch_in_environment"] is False


def test_a_missing_pidfile_is_reported_not_raised(tmp_path):
    facts = gunicorn.parse_facts(python_c(gunicorn.SCRIPT, tmp_path / "none.pid", "USE_S3").stdout)
    assert facts["pid"] is None and facts["error"].startswith("FileNotFoundError: ")


def record(directory: Path, name: str, to_hash) -> Path:
    path = directory / name
    path.write_text(json.dumps({"hashes": {"from": "f", "to": to_hash}}) if to_hash else "{not json")
    return path


def test_the_newest_record_of_a_move_to_a_hash_of_this_environment(tmp_path):
    records = tmp_path / "thumbnails"
    records.mkdir()
    record(records, "20240101-r1-prod-easy-rows.json", "s3hash")
    wanted = record(records, "20240301-r3-prod-easy-rows.json", "s3hash")
    record(records, "20240401-r4-prod-easy-rows.json", "diskhash")    # a move the other way
    record(records, "20240501-r5-prod-easy-rows.json", None)          # unreadable: skipped
    record(records, "20240601-r6-staging-easy-rows.json", "s3hash")   # another environment's
    record(records, "20240701-r7-prod-easy-rows.json.restored", "s3hash")  # put back already

    def newest(to_hash, env="prod"):
        return json.loads(python_c(thumbnails._NEWEST, records, to_hash, env).stdout)["record"]
    assert newest("s3hash") == str(wanted)
    assert newest("other") is None and newest("s3hash", "test") is None


def test_the_names_on_disk_are_those_that_exist_dangling_links_included(tmp_path):
    root = tmp_path / "media"
    (root / "a").mkdir(parents=True)
    (root / "a" / "here.jpg").write_bytes(b"x")
    (root / "a" / "dangling.jpg").symlink_to(root / "nowhere")
    names = ["a/here.jpg", "a/dangling.jpg", "a/gone.jpg", "b/x.jpg"]
    result = python_c(manifest._EXISTING, root, stdin=json.dumps(names))
    assert json.loads(result.stdout) == ["a/here.jpg", "a/dangling.jpg"], result.stderr
