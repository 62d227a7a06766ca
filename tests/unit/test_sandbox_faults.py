"""Store faults in the sandbox (deploy.sandbox.store_faults), what can be checked without bringing it up: the
environment written for the proxy, the site's endpoint while faults are on, the rates `--faults` takes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.sandbox import store_faults
from deploy.sandbox.fault_proxy import Faults
from deploy.sandbox.layout import FAULT_PROXY_PORT, FRONT_END_PORTS, SHAPE_GUNICORN_PORTS, SSH_PORT, WEED_PORTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "sandbox.env", tmp_path / "config" / "sandbox.env")
    (tmp_path / "config" / "sandbox.secrets.env").write_text("AWS_ACCESS_KEY_ID=SBXKEY\nAWS_SECRET_ACCESS_KEY=s3cr3t\n")
    (tmp_path / ".sandbox").mkdir()
    (tmp_path / ".sandbox" / "ssh_config").write_text("")
    return tmp_path


def test_the_faults_environment_is_the_sandboxs_through_the_proxy_and_nothing_else(project):
    path = store_faults.write_env(project, Faults(slow_down=0.05, reset=0.03))
    assert path == project / "config" / "sandbox-faults.env"
    sandbox, faults = load_settings("sandbox", project, {}), load_settings("sandbox-faults", project, {})
    assert faults.endpoint_url == f"http://127.0.0.1:{FAULT_PROXY_PORT}" == store_faults.proxy_url()
    assert sandbox.endpoint_url == f"http://127.0.0.1:{WEED_PORTS['s3.port']}"
    assert faults.secret_access_key.reveal() == "s3cr3t"                       # through the linked secrets file
    assert (project / "config" / "sandbox-faults.secrets.env").readlink() == Path("sandbox.secrets.env")
    differing = {name for name in sandbox.__dataclass_fields__
                 if name not in ("env", "effective") and getattr(sandbox, name) != getattr(faults, name)}
    assert differing == {"endpoint_url"}
    assert "503:0.05,reset:0.03" in path.read_text().splitlines()[2]           # the header says which faults
    store_faults.write_env(project, Faults(slow_down=1.0))                      # written again: the link stays
    assert load_settings("sandbox-faults", project, {}).endpoint_url == store_faults.proxy_url()


def test_the_default_site_talks_to_the_proxy_only_while_faults_are_on(project):
    settings = load_settings("sandbox", project, {})
    assert store_faults.site_settings(settings, None) is settings
    on = store_faults.site_settings(settings, Faults(slow_down=0.05))
    assert on.endpoint_url == store_faults.proxy_url() and on.bucket == settings.bucket


def test_faults_asked_for_or_none():
    assert store_faults.wanted("") is None and store_faults.wanted("off") is None
    assert store_faults.wanted("503:5%,reset:3%") == Faults(slow_down=0.05, reset=0.03)
    with pytest.raises(ValueError):
        store_faults.wanted("503:often")


def test_the_proxys_port_is_one_no_other_part_of_the_sandbox_uses():
    others = {SSH_PORT, *WEED_PORTS.values(), *(port + 10000 for port in WEED_PORTS.values()),
              *FRONT_END_PORTS.values(), 18101, 18102,
              *(port for ports in SHAPE_GUNICORN_PORTS.values() for port in ports.values())}
    assert FAULT_PROXY_PORT not in others
