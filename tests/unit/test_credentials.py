"""Admin keys for one command; the deploy key written into the secrets file."""

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.config import credentials
from deploy.config.keys import PLACEHOLDER
from deploy.config.load import load, load_settings
from deploy.errors import ConfigError

from .configs import MINIMAL

CONFIG = MINIMAL
ADMIN_SECRET = "admin-secret-never-shown"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    return tmp_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_environment_without_a_deploy_key_loads_for_provision(project):
    with pytest.raises(ConfigError):
        load_settings("demo", project, {})
    settings = load("demo", project, {}, deploy_key_optional=True)
    assert settings.access_key_id == PLACEHOLDER
    assert credentials.key_on_file(settings) is None


def test_a_deploy_key_on_file_is_kept_as_is(project):
    (project / "config" / "demo.secrets.env").write_text("AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=s\n")
    settings = load("demo", project, {}, deploy_key_optional=True)
    assert settings.access_key_id == "AKIAFILE"
    key_id, secret = credentials.key_on_file(settings)
    assert key_id == "AKIAFILE" and secret.reveal() == "s"


def test_admin_keys_from_a_file(project, tmp_path):
    settings = load("demo", project, {}, deploy_key_optional=True)
    admin_file = tmp_path / "admin.env"
    admin_file.write_text(f"AWS_ACCESS_KEY_ID=AKIAADMIN\nAWS_SECRET_ACCESS_KEY={ADMIN_SECRET}\n")
    admin = credentials.admin_settings(settings, str(admin_file), {})
    assert admin.access_key_id == "AKIAADMIN" and admin.secret_access_key.reveal() == ADMIN_SECRET
    assert ADMIN_SECRET not in repr(admin)
    assert admin.bucket == settings.bucket


def test_admin_keys_from_the_environment(project):
    settings = load("demo", project, {}, deploy_key_optional=True)
    environ = {credentials.ADMIN_KEY_VAR: "AKIAENV", credentials.ADMIN_SECRET_VAR: ADMIN_SECRET}
    assert credentials.admin_settings(settings, None, environ).access_key_id == "AKIAENV"
    with pytest.raises(ConfigError, match="set both") as error:
        credentials.admin_settings(settings, None, {credentials.ADMIN_SECRET_VAR: ADMIN_SECRET})
    assert ADMIN_SECRET not in str(error.value)


def test_no_admin_keys_says_how_to_give_them(project):
    settings = load("demo", project, {}, deploy_key_optional=True)
    with pytest.raises(ConfigError, match="--admin-env=FILE") as error:
        credentials.admin_settings(settings, None, {})
    assert credentials.ADMIN_KEY_VAR in str(error.value)


def test_the_sandbox_defaults_to_its_admin_file(project):
    (project / "config" / "sandbox.env").write_text(CONFIG)
    settings = load("sandbox", project, {}, deploy_key_optional=True)
    with pytest.raises(ConfigError, match=r"\.sandbox/s3-admin\.env does not exist.*sandbox\.up"):
        credentials.admin_settings(settings, None, {})
    (project / ".sandbox").mkdir()
    (project / ".sandbox" / "s3-admin.env").write_text(f"AWS_ACCESS_KEY_ID=SBXADMIN\nAWS_SECRET_ACCESS_KEY={ADMIN_SECRET}\n")
    assert credentials.admin_settings(settings, None, {}).access_key_id == "SBXADMIN"


def test_an_incomplete_admin_file_is_refused_without_its_content(project, tmp_path):
    settings = load("demo", project, {}, deploy_key_optional=True)
    admin_file = tmp_path / "admin.env"
    admin_file.write_text(f"AWS_SECRET_ACCESS_KEY={ADMIN_SECRET}\n")
    with pytest.raises(ConfigError, match="lacks") as error:
        credentials.admin_settings(settings, str(admin_file), {})
    assert ADMIN_SECRET not in str(error.value)


def test_replace_key_lines_keeps_every_other_line():
    text = "# mine\nOTHER=1\nexport AWS_ACCESS_KEY_ID=OLD\nAWS_SECRET_ACCESS_KEY=old\nAWS_ACCESS_KEY_ID=DUP\nLAST=2\n"
    assert credentials.replace_key_lines(text, "NEW", "new") == (
        "# mine\nOTHER=1\nAWS_ACCESS_KEY_ID=NEW\nAWS_SECRET_ACCESS_KEY=new\nLAST=2\n")


def test_replace_key_lines_appends_what_is_missing():
    assert credentials.replace_key_lines("OTHER=1", "NEW", "new") == (
        "OTHER=1\nAWS_ACCESS_KEY_ID=NEW\nAWS_SECRET_ACCESS_KEY=new\n")
    assert credentials.replace_key_lines("", "NEW", "new", "# header") == (
        "# header\nAWS_ACCESS_KEY_ID=NEW\nAWS_SECRET_ACCESS_KEY=new\n")
    with pytest.raises(ValueError):
        credentials.replace_key_lines("", "NEW", "new\nEVIL=1")


def test_drop_key_lines():
    assert credentials.drop_key_lines("A=1\nAWS_ACCESS_KEY_ID=X\nAWS_SECRET_ACCESS_KEY=y\n") == "A=1\n"
    assert credentials.drop_key_lines("AWS_ACCESS_KEY_ID=X\n") == ""


def test_write_private_is_mode_600_even_over_a_readable_file(tmp_path):
    path = tmp_path / "demo.secrets.env"
    path.write_text("old\n")
    path.chmod(0o644)
    credentials.write_private(path, "new\n")
    assert path.read_text() == "new\n" and mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["demo.secrets.env"]


def test_store_deploy_key_keeps_a_backup_outside_production(project):
    secrets = project / "config" / "demo.secrets.env"
    secrets.write_text("# old\nAWS_ACCESS_KEY_ID=OLD\nAWS_SECRET_ACCESS_KEY=old\nKEEP=1\n")
    settings = load("demo", project, {}, deploy_key_optional=True)
    credentials.store_deploy_key(settings, "AKIANEW", "new-secret")
    assert secrets.read_text() == "# old\nAWS_ACCESS_KEY_ID=AKIANEW\nAWS_SECRET_ACCESS_KEY=new-secret\nKEEP=1\n"
    assert mode(secrets) == 0o600
    backup = credentials.backup_path(settings)
    assert backup.name == "demo.before-provision.secrets.env" and "OLD" in backup.read_text()
    assert mode(backup) == 0o600
    credentials.store_deploy_key(settings, "AKIANEWER", "s")
    assert "OLD" in backup.read_text()  # the first backup is the one kept


def test_store_deploy_key_keeps_no_backup_in_production(project):
    secrets = project / "config" / "demo.secrets.env"
    secrets.write_text("AWS_ACCESS_KEY_ID=OLD\nAWS_SECRET_ACCESS_KEY=old\n")
    settings = replace(load("demo", project, {}, deploy_key_optional=True), production=True)
    credentials.store_deploy_key(settings, "AKIANEW", "new-secret")
    assert not credentials.backup_path(settings).exists()


def test_store_deploy_key_creates_the_file(project):
    settings = load("demo", project, {}, deploy_key_optional=True)
    path = credentials.store_deploy_key(settings, "AKIANEW", "new-secret")
    assert mode(path) == 0o600
    assert credentials.key_on_file(load("demo", project, {}, deploy_key_optional=True))[0] == "AKIANEW"
    assert not credentials.backup_path(settings).exists()


def test_environment_overrides_are_named():
    assert credentials.environment_overrides({"AWS_ACCESS_KEY_ID": "X", "PATH": "/bin"}) == ["AWS_ACCESS_KEY_ID"]
