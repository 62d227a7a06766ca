"""`invoke sandbox.down` leaves no sandbox process; `up` brings it all back."""

import subprocess

from .sandbox_client import http_get, invoke


def sandbox_processes() -> list[str]:
    found = []
    for pattern in ("-u mcsbx-web1", "-u mcsbx-web2", "-f weed mini", "-f .sandbox/ssh/sshd_config"):
        result = subprocess.run(["pgrep", "-a", *pattern.split(" ", 1)], capture_output=True, text=True)
        found += result.stdout.strip().splitlines()
    return found


def test_down_stops_everything_and_up_restores_it(sandbox, project_root):
    assert sandbox_processes()
    invoke(project_root, "sandbox.down")
    assert sandbox_processes() == []
    status = invoke(project_root, "sandbox.status").stdout
    assert "running" not in status
    invoke(project_root, "sandbox.up")
    assert http_get(sandbox.host("web1")["health_url"])[0] == 200
