"""Config loading and validation: pure, on files in a temporary project."""

from pathlib import Path

import pytest

from deploy.cli import load_for_rollback, render_config
from deploy.config.keys import host_key
from deploy.config.load import load as load_environment
from deploy.config.load import load_settings
from deploy.config.types import Secret
from deploy.errors import ConfigError

GOOD = """\
HOSTS=web1,deploy@web2.example.com
MEDIA_ROOT=~/webapps/media
SETTINGS_PATH=~/site/local_settings.py
RELOAD_COMMAND=kill -HUP "$(cat ~/run/gunicorn.pid)"
SITE_URL=http://127.0.0.1:8001
SITE_URL__DEPLOY_WEB2_EXAMPLE_COM=http://127.0.0.1:8002/
AWS_STORAGE_BUCKET_NAME=my-media
AWS_ACCESS_KEY_ID=AKIAFILE
"""
SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(GOOD)
    (tmp_path / "config" / "demo.secrets.env").write_text(f"AWS_SECRET_ACCESS_KEY={SECRET}\n")
    return tmp_path


def load(project: Path, environ=None):
    return load_settings("demo", project, environ or {})


def edit(project: Path, drop: str = "", add: str = "") -> None:
    path = project / "config" / "demo.env"
    lines = [line for line in path.read_text().splitlines() if not (drop and line.startswith(drop + "="))]
    path.write_text("\n".join(lines) + "\n" + add)


def test_good_file_loads_with_defaults_and_per_host_override(project):
    settings = load(project)
    assert settings.host_aliases == ("web1", "deploy@web2.example.com")
    assert settings.media_host == "web1"
    assert settings.host("web1").site_url == "http://127.0.0.1:8001"
    assert settings.host("deploy@web2.example.com").site_url == "http://127.0.0.1:8002"
    assert settings.host("web1").health_url == "http://127.0.0.1:8001/healthz"
    assert settings.media_prefix == "media"
    assert settings.region == "us-east-1"
    assert settings.sync_tool == "rclone"
    assert settings.checksum_mode == "when_required"
    assert settings.reload_grace == 30.0
    assert settings.secret_access_key.reveal() == SECRET


def test_a_reload_grace_of_zero_is_allowed(project):
    edit(project, add="RELOAD_GRACE_SECONDS=0\n")
    assert load(project).reload_grace == 0


def test_environment_overrides_secrets_file_overrides_config_file(project):
    (project / "config" / "demo.secrets.env").write_text(
        f"AWS_SECRET_ACCESS_KEY={SECRET}\nAWS_ACCESS_KEY_ID=AKIASECRETS\n")
    assert load(project).access_key_id == "AKIASECRETS"
    settings = load(project, {"AWS_ACCESS_KEY_ID": "AKIAENV", "PATH": "/bin", "SITE_URL__WEB1": "http://h:9"})
    assert settings.access_key_id == "AKIAENV"
    assert settings.host("web1").site_url == "http://h:9"
    assert settings.effective["AWS_ACCESS_KEY_ID"] == ("AKIAENV", "environment")
    assert "PATH" not in settings.effective


def test_unknown_environment_names_the_file_and_the_known_ones(project):
    with pytest.raises(ConfigError) as error:
        load_settings("nope", project, {})
    message = str(error.value)
    assert "config/nope.env" in message and "known: demo" in message and "\n" not in message


@pytest.mark.parametrize("name", ["../demo", "Demo", ""])
def test_environment_names_are_plain(project, name):
    with pytest.raises(ConfigError, match="unknown environment"):
        load_settings(name, project, {})


def test_a_missing_key_is_one_line_naming_file_and_key(project):
    edit(project, drop="MEDIA_ROOT")
    with pytest.raises(ConfigError) as error:
        load(project)
    assert str(error.value) == ("config/demo.env: MEDIA_ROOT is missing; expected the media directory "
                                "on the media host (~/ is the SSH user's home)")


def test_missing_secret_points_at_the_secrets_file(project):
    (project / "config" / "demo.secrets.env").unlink()
    with pytest.raises(ConfigError, match="AWS_SECRET_ACCESS_KEY is missing.*secrets.env"):
        load(project)


@pytest.mark.parametrize("bucket", ["My_Bucket", "ab", "bucket..name", "192.168.1.1", "-media", "a" * 64,
                                    "media-"])
def test_bad_bucket_names_are_refused(project, bucket):
    edit(project, drop="AWS_STORAGE_BUCKET_NAME", add=f"AWS_STORAGE_BUCKET_NAME={bucket}\n")
    with pytest.raises(ConfigError) as error:
        load(project)
    assert f"AWS_STORAGE_BUCKET_NAME is {bucket!r}; expected an S3 bucket name" in str(error.value)


@pytest.mark.parametrize("line, expected", [
    ("PUBLIC_MEDIA=maybe", "PUBLIC_MEDIA is 'maybe'; expected true or false"),
    ("SYNC_TOOL=aws", "SYNC_TOOL is 'aws'; expected one of rclone, s5cmd, s3cmd"),
    ("SYNC_CONCURRENCY=0", "SYNC_CONCURRENCY is '0'; expected a positive int"),
    ("RELOAD_TIMEOUT=soon", "RELOAD_TIMEOUT is 'soon'; expected a positive float"),
    ("RELOAD_TIMEOUT=nan", "RELOAD_TIMEOUT is 'nan'; expected a positive float"),
    ("RELOAD_GRACE_SECONDS=-1", "RELOAD_GRACE_SECONDS is '-1'; expected a number of 0 or more"),
    ("AWS_S3_ENDPOINT_URL=127.0.0.1:9000", "AWS_S3_ENDPOINT_URL is '127.0.0.1:9000'; expected an http"),
    ("MEDIA_HOST=web9", "MEDIA_HOST is 'web9'; expected one of HOSTS"),
    ("AWS_REQUEST_CHECKSUM_CALCULATION=always", "expected one of when_required, when_supported"),
    ("MANAGE_PY=~/site/manage.py", "SITE_PYTHON__WEB1 is missing"),
    ("MEDIA_LIST_PATH=files", "expected a path starting with /"),
])
def test_malformed_values_are_named(project, line, expected):
    edit(project, add=line + "\n")
    with pytest.raises(ConfigError) as error:
        load(project)
    assert expected in str(error.value)
    assert str(error.value).startswith("config/demo.env: ")


def test_bad_host_alias(project):
    edit(project, drop="HOSTS", add="HOSTS=web1,web 2\n")
    with pytest.raises(ConfigError, match="HOSTS has 'web 2'"):
        load(project)


def test_secret_never_shows_in_repr_str_or_config_output(project):
    settings = load(project)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.secret_access_key)
    assert SECRET not in f"{settings.secret_access_key}"
    output = render_config(settings)
    assert SECRET not in output
    assert any(line.split()[:2] == ["AWS_SECRET_ACCESS_KEY", "********"] for line in output.splitlines())
    assert "AKIAFILE" in output


def test_secret_never_shows_in_errors(project):
    edit(project, add="PUBLIC_MEDIA=nah\n")
    (project / "config" / "demo.secrets.env").write_text(f"AWS_SECRET_ACCESS_KEY={SECRET}\nSYNC_TOOL={SECRET}\n")
    with pytest.raises(ConfigError) as error:
        load(project)
    # A secret pasted into a non-secret key does show (it is that key's value), but the real one never:
    assert str(error.value).count(SECRET) == 1 and "AWS_SECRET_ACCESS_KEY" not in str(error.value)


def test_secret_equality_and_hash_do_not_need_reveal():
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    assert repr(Secret("a")) == "Secret('********')"


def test_host_key_normalises_aliases():
    assert host_key("SITE_URL", "web2") == "SITE_URL__WEB2"
    assert host_key("SITE_URL", "deploy@web-2.example.com:2222") == "SITE_URL__DEPLOY_WEB_2_EXAMPLE_COM_2222"


def test_shipped_examples_document_every_key():
    from deploy.config.keys import KNOWN_KEYS
    root = Path(__file__).resolve().parents[2]
    for example in ("prod.env.example", "staging.env.example"):
        text = (root / "config" / example).read_text()
        missing = [key for key in KNOWN_KEYS if key not in text]
        assert not missing, f"{example} does not document {missing}"


def test_shipped_examples_load_once_a_secret_is_given(tmp_path):
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "config").mkdir()
    for env in ("prod", "staging"):
        (tmp_path / "config" / f"{env}.env").write_text((root / "config" / f"{env}.env.example").read_text())
        settings = load_settings(env, tmp_path, {"AWS_SECRET_ACCESS_KEY": "x"})
        assert settings.production is (env == "prod")
        assert len(settings.hosts) == 2 and settings.hosts[1].site_url.startswith("https://web2")


@pytest.mark.parametrize("env", [None, ""])
def test_every_command_without_an_environment_gets_one_clear_error(project, env):
    for kwargs in ({}, {"deploy_key_optional": True}):
        with pytest.raises(ConfigError, match=r"^no environment given: pass --env=NAME"):
            load_environment(env, project, {}, **kwargs)
    with pytest.raises(ConfigError, match="no environment given and no run recorded under runs/"):
        load_for_rollback(env, project)
    assert load_environment("demo", project, {}).env == "demo"


def test_the_rollback_defaults_to_the_last_runs_environment_and_may_take_some_hosts(project):
    (project / "runs").mkdir()
    (project / "runs" / "20250101T000000Z-abc123-demo-cutover.jsonl").write_text(
        '{"event": "start", "env": "demo", "kind": "cutover", "run_id": "r", "time": 0}\n')
    assert load_for_rollback(None, project).env == "demo"
    assert load_for_rollback(None, project, ["web1"]).host_aliases == ("web1",)
    with pytest.raises(ConfigError, match="host 'web9' is not in HOSTS"):
        load_for_rollback("demo", project, ["web9"])
