"""Will a HUP give the site its flipped settings?  The reload command read, gunicorn's facts judged."""

import json
import os
import subprocess
import sys

import pytest

from deploy.site.facts.gunicorn import (MARKER, facts_command, parse_facts, pidfile_of, preloads,
                                      reload_problems)


@pytest.mark.parametrize("command, pidfile", [
    ('kill -HUP "$(cat ~/run/gunicorn.pid)"', "~/run/gunicorn.pid"),
    ("kill -s HUP $(cat /run/gunicorn/site.pid)", "/run/gunicorn/site.pid"),
    ("kill -HUP `cat /tmp/g.pid`", "/tmp/g.pid"),
    ("systemctl restart site", None),
    ("~/shapes/envfile/restart.sh", None),
    ("kill -HUP 1234", None),
])
def test_the_pidfile_a_hup_reads(command, pidfile):
    assert pidfile_of(command) == pidfile


@pytest.mark.parametrize("facts, expected", [
    ({"args": ["gunicorn", "--preload", "app:application"]}, True),
    ({"args": ["gunicorn", "app"], "cmd_args_env": "--workers 3 --preload"}, True),
    ({"args": ["gunicorn", "-c", "g.py", "app"], "config_text": "workers = 2\npreload_app = True\n"}, True),
    ({"args": ["gunicorn", "-c", "g.py", "app"], "config_text": "# preload_app = True\npreload_app = False\n"}, False),
    ({"args": ["gunicorn", "app"]}, False),
])
def test_preload_is_found_wherever_gunicorn_reads_it(facts, expected):
    assert preloads(facts) is expected


def test_a_preloading_master_or_a_switch_in_its_environment_needs_a_restart():
    facts = {"pid": 42, "args": ["gunicorn", "--preload"], "switch_in_environment": True}
    first, second = reload_problems("web1", facts, "USE_S3", switch_in_env_file=True)
    assert first.startswith("web1: gunicorn (pid 42) runs with --preload") and "RELOAD_COMMAND" in first
    assert second.startswith("web1: gunicorn's master (pid 42) has USE_S3 in its environment")
    assert reload_problems("web1", facts, "USE_S3", switch_in_env_file=False) == [first]
    assert reload_problems("web1", {"pid": None, "error": "no pidfile"}, "USE_S3", True) == []


def facts_of_a_stand_in_master(tmp_path, cwd, environ: dict) -> tuple[dict, int]:
    """The facts script's answer about a process that looks like a gunicorn master run as `... -c g.py`."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "-c", "g.py"],
                             cwd=cwd, env={**os.environ, **environ})
    try:
        pidfile = tmp_path / "g.pid"
        pidfile.write_text(f"{child.pid}\n")
        output = subprocess.run(facts_command(sys.executable, str(pidfile), "USE_S3"), shell=True,
                                capture_output=True, text=True, check=True).stdout
    finally:
        child.kill()
        child.wait()
    return parse_facts(output), child.pid


def test_the_facts_script_reads_a_real_gunicorn_like_process(tmp_path):
    """A stand-in master: its command line, config file and environment, read through /proc."""
    (tmp_path / "g.py").write_text("preload_app = True\n")
    facts, pid = facts_of_a_stand_in_master(tmp_path, tmp_path, {"USE_S3": "false"})
    assert facts["pid"] == pid and facts["switch_in_environment"] is True
    assert facts["config_text"] == "preload_app = True\n" and preloads(facts)


def test_no_master_is_no_claim():
    facts = parse_facts(MARKER + json.dumps({"pid": None, "error": "FileNotFoundError: x"}))
    assert reload_problems("web2", facts, "USE_S3", True) == []


def test_a_relative_config_is_read_from_where_gunicorn_started_though_it_chdir_ed(tmp_path):
    """gunicorn's `chdir` moves the master's cwd; its PWD still names the start directory."""
    start, elsewhere = tmp_path / "start", tmp_path / "elsewhere"
    start.mkdir()
    elsewhere.mkdir()
    (start / "g.py").write_text("chdir = '/'\npreload_app = True\n")
    facts, _ = facts_of_a_stand_in_master(tmp_path, elsewhere, {"PWD": str(start)})
    assert facts["config_read"] is True and preloads(facts)
