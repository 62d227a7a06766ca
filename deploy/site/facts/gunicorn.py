"""Will the reload command make the site read the flipped settings?  Facts about its gunicorn, judged.

Pure: builds a read-only command and judges its output.  A HUP replaces
gunicorn's workers, which import the settings afresh, unless:

- gunicorn runs with ``--preload`` (``preload_app``): the app was imported once
  in the master, and the new workers are forked from it with the old settings;
- the switch comes from the environment and the master has it there (a systemd
  ``EnvironmentFile``, the shell that started it): the workers inherit the old
  value, and django-environ / python-decouple prefer the process environment
  over the env file.

Both need RELOAD_COMMAND to restart the site, not HUP it.  The master is found
through the pidfile the reload command reads (``kill -HUP "$(cat FILE)"``), where
it names one; otherwise nothing is claimed.
"""

from __future__ import annotations

import json
import re
import shlex

from ...host_scripts import host_script

MARKER = "MEDIA-CUTOVER-RELOAD "
_PIDFILE = re.compile(r"""\$\(\s*cat\s+("[^"]+"|'[^']+'|[^\s)]+)\s*\)|`cat\s+([^`\s]+)`""")
_HUP = re.compile(r"(?:-HUP|-s\s+HUP|-1\b|-SIGHUP|systemctl\s+reload|\breload\b)")

# Runs on the host with REMOTE_PYTHON as the SSH user: reads the master's command line, environment and
# config (deploy/remote/scripts/gunicorn_facts.py).
SCRIPT = host_script("gunicorn_facts.py")


def pidfile_of(reload_command: str) -> str | None:
    """The pidfile a HUP-style reload command reads, or None (a restart, or nothing to tell)."""
    if not _HUP.search(reload_command):
        return None
    match = _PIDFILE.search(reload_command)
    if not match:
        return None
    word = match.group(1) or match.group(2)
    try:
        return shlex.split(word)[0]
    except ValueError:
        return None


def facts_command(remote_python: str, pidfile: str, switch_name: str) -> str:
    return f"{remote_python} -c {shlex.quote(SCRIPT)} {shlex.quote(pidfile)} {shlex.quote(switch_name)}"


def parse_facts(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    return {"error": "no report"}


def preloads(facts: dict) -> bool:
    """gunicorn imports the app in its master: on the command line, in GUNICORN_CMD_ARGS, or its config."""
    args = facts.get("args") or []
    if "--preload" in args or "--preload" in (facts.get("cmd_args_env") or "").split():
        return True
    config = facts.get("config_text") or ""
    return re.search(r"(?m)^\s*preload_app\s*=\s*True\b", config) is not None


def reload_problems(host: str, facts: dict, switch_name: str, switch_in_env_file: bool) -> list[str]:
    """Why a HUP would not give the site its flipped settings; [] when it would, or when nothing is known."""
    if facts.get("pid") is None:
        return []
    found = []
    if preloads(facts):
        found.append(f"{host}: gunicorn (pid {facts['pid']}) runs with --preload: a HUP restarts its workers "
                     "from the app already imported in the master, with the old settings. Set RELOAD_COMMAND to "
                     "restart the site (e.g. `systemctl restart <unit>`), or drop --preload")
    if switch_in_env_file and facts.get("switch_in_environment"):
        found.append(f"{host}: gunicorn's master (pid {facts['pid']}) has {switch_name} in its environment "
                     "(a systemd EnvironmentFile, or the shell that started it): the workers a HUP starts "
                     f"inherit the old value. Set RELOAD_COMMAND to restart the site")
    return found
