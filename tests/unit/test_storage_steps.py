"""The storage check wired into the flows, on fake connections: the preflight's probe and reload facts,
and the step after the switch that refuses settings which do not select the new storage."""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.engine.run import Run
from deploy.errors import HostsFailed, PreflightError, StorageCheckError
from deploy.flows import new_settings, preflight, steps
from deploy.flows import direction
from deploy.flows.state import FlowState
from deploy.site.facts import gunicorn as reload_facts
from deploy.site.facts import storage as storage_check
from deploy.site.facts.storage import MARKER

from .fake_results import Result

# The directions with the staged settings file stood in for (it is read from the host in the real ones).
TO_S3 = replace(direction.TO_S3, staged=lambda run, alias: b"USE_S3 = True\n")
TO_DISK = replace(direction.TO_DISK, staged=lambda run, alias: b"USE_S3 = False\n")
MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
S3_CLASSES = ["storages.backends.s3.S3Storage", "storages.base.BaseStorage", "django.core.files.storage.base.Storage"]
DISK_CLASSES = ["django.core.files.storage.filesystem.FileSystemStorage", "django.core.files.storage.base.Storage"]

CONFIG = """\
HOSTS=web1,web2,web3
MEDIA_ROOT=~/webapps/media
SETTINGS_PATH=~/site/local_settings.py
RELOAD_COMMAND=kill -HUP "$(cat ~/run/gunicorn.pid)"
RELOAD_COMMAND__WEB3=sudo systemctl restart site
SITE_URL=http://127.0.0.1:8001
AWS_STORAGE_BUCKET_NAME=my-media
AWS_S3_ENDPOINT_URL=http://127.0.0.1:18333
AWS_LOCATION=media
AWS_ACCESS_KEY_ID=AKIAFILE
AWS_SECRET_ACCESS_KEY=s
MANAGE_PY=~/site/manage.py
SITE_PYTHON=~/venv/bin/python
DJANGO_SETTINGS_MODULE=shop.settings.production
"""


def on_disk(**changes) -> dict:
    data = {"settings_module": "shop.settings.production", "switch": "False",
            "default": {"backend": "django.core.files.storage.FileSystemStorage", "classes": DISK_CLASSES,
                        "bucket": None, "location": "/srv/media", "real_location": "/srv/media",
                        "endpoint": None, "custom_domain": None},
            "staticfiles": MANIFEST, "media_url": "/media/", "media_root": "/srv/media",
            "legacy_default_file_storage": None, "thumbnail_alias": None, "thumbnail_storage": None}
    data.update(changes)
    return data


def on_s3(**changes) -> dict:
    default = {"backend": "storages.backends.s3.S3Storage", "classes": S3_CLASSES, "bucket": "my-media",
               "location": "media", "real_location": None, "endpoint": "http://127.0.0.1:18333",
               "custom_domain": None}
    default.update(changes.pop("default", {}))
    return on_disk(switch="True", default=default, media_url="http://127.0.0.1:18333/my-media/media/", **changes)


def recipe(**changes) -> dict:
    """The recipe-era block flipped: DEFAULT_FILE_STORAGE set, which Django 5.2 ignores."""
    return on_disk(switch="True", legacy_default_file_storage="storages.backends.s3boto3.S3Boto3Storage", **changes)


class FakeConnection:
    """Answers the probe, the reload facts and readlink by what the command runs."""

    def __init__(self, alias, report=None, facts=None, real_media_root="/srv/media"):
        self.original_host, self.commands, self.inputs = alias, [], []
        self.report, self.facts, self.real_media_root = report, facts, real_media_root

    def run(self, command, **kwargs):
        self.commands.append(command)
        if storage_check.MARKER.strip() in command:
            if isinstance(self.report, Result):
                return self.report
            return Result(f"6 objects imported automatically\n{MARKER}{json.dumps(self.report)}\n")
        if reload_facts.MARKER.strip() in command:
            if isinstance(self.facts, Result):
                return self.facts
            return Result(f"{reload_facts.MARKER}{json.dumps(self.facts)}\n")
        if command.startswith("readlink -f "):
            return Result(self.real_media_root + "\n")
        raise AssertionError(f"unexpected command on {self.original_host}: {command}")

    def run_with_input(self, command, data):
        """The staged probe: the site read the staged settings unless its report says otherwise."""
        self.inputs.append(data)
        self.commands.append(command)
        report = self.report
        if isinstance(report, dict):
            report = {"staged": "imported", **report}
        return Result(f"{MARKER}{json.dumps(report)}\n").stdout if isinstance(report, dict) else \
            self.run(command).stdout

    def probes(self) -> int:
        return sum(storage_check.MARKER.strip() in command for command in self.commands)


@dataclass
class FakeRun:
    settings: object
    connections: dict
    state: FlowState = field(default_factory=FlowState)
    unreachable: list = field(default_factory=list)
    said: list = field(default_factory=list)

    targets = Run.targets
    aliases = Run.aliases
    on_every_host = Run.on_every_host
    media_connection = Run.media_connection

    def connection(self, alias):
        return self.connections[alias]

    def say(self, line):
        self.said.append(line)


@pytest.fixture(autouse=True)
def staged_input_over_the_fake(monkeypatch):
    from deploy.site.ops import storage
    monkeypatch.setattr(storage, "run_with_input",
                        lambda connection, command, data, what, timeout=120: connection.run_with_input(command, data))


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    return load_settings("demo", tmp_path, {})


def fake_run(settings, **connections) -> FakeRun:
    return FakeRun(settings, {alias: connections.get(alias) or FakeConnection(alias, on_disk())
                              for alias in settings.host_aliases})


# --- the preflight: what the settings select now --------------------------------------------

def test_the_preflight_probes_every_host_keeps_the_reports_and_shows_each_summary(settings):
    run = fake_run(settings)
    summary = preflight.check_storage_selected(run)
    assert list(run.state.switch.storage_before) == ["web1", "web2", "web3"]
    assert run.state.switch.storage_before["web2"].staticfiles == MANIFEST
    first = summary.splitlines()[0]
    assert first == ("web1: shop.settings.production: default storage django.core.files.storage.FileSystemStorage "
                     f"(location /srv/media), MEDIA_URL /media/, staticfiles {MANIFEST}")
    command = run.connections["web1"].commands[0]
    assert "DJANGO_SETTINGS_MODULE=shop.settings.production" in command and "MEDIA_CUTOVER_SWITCH=USE_S3" in command
    assert "MEDIA_CUTOVER_ENV_FILE=" not in command


def test_an_env_file_switch_is_loaded_by_the_probe_and_the_switch_name_passed(settings):
    hosts = tuple(replace(host, settings_path="~/site/.env", switch_format="env") for host in settings.hosts)
    run = fake_run(replace(settings, hosts=hosts, switch_name="MEDIA_ON_S3"))
    preflight.check_storage_selected(run)
    command = run.connections["web1"].commands[0]
    assert 'MEDIA_CUTOVER_ENV_FILE="$HOME"/site/.env' in command and "MEDIA_CUTOVER_SWITCH=MEDIA_ON_S3" in command


def test_hosts_without_manage_py_are_skipped_and_said(settings):
    hosts = (settings.hosts[0], *(replace(host, manage_py=None) for host in settings.hosts[1:]))
    run = fake_run(replace(settings, hosts=hosts))
    summary = preflight.check_storage_selected(run)
    assert summary.splitlines()[-1] == "not probed: web2, web3 (no MANAGE_PY and SITE_PYTHON)"
    assert run.connections["web2"].commands == [] and list(run.state.switch.storage_before) == ["web1"]


def test_a_probe_that_fails_names_its_host(settings):
    broken = FakeConnection("web2", Result("", "ImproperlyConfigured: SECRET_KEY", exited=1))
    with pytest.raises(HostsFailed, match=r"web2: the storage check .* failed \(exit 1\): ImproperlyConfigured"):
        preflight.check_storage_selected(fake_run(settings, web2=broken))


def test_the_rollback_leaves_the_hosts_it_could_not_reach_alone(settings):
    run = fake_run(settings)
    run.unreachable = [("web3", "gone")]
    preflight.check_storage_selected(run)
    assert list(run.state.switch.storage_before) == ["web1", "web2"] and run.connections["web3"].commands == []


# --- the preflight: reloads that would not reload ------------------------------------------

def master(**facts) -> dict:
    return {"pid": 4242, "args": ["gunicorn", "-c", "gunicorn.conf.py", "site.wsgi"], "cmd_args_env": "",
            "switch_in_environment": False, "config_text": "workers = 2\n", **facts}


def test_hup_reloads_of_a_gunicorn_that_loads_new_settings_pass_and_restarts_are_not_judged(settings):
    run = fake_run(settings, web1=FakeConnection("web1", facts=master()), web2=FakeConnection("web2", facts=master()))
    summary = preflight.check_reloads_reload(run)
    assert summary.splitlines() == ["web1: gunicorn pid 4242 reloads on HUP (no --preload)",
                                    "web2: gunicorn pid 4242 reloads on HUP (no --preload)",
                                    "web3: RELOAD_COMMAND is no HUP read from a pidfile, not judged"]
    command = run.connections["web1"].commands[0]
    assert command.startswith("python3 -c ") and command.endswith(" '~/run/gunicorn.pid' USE_S3")
    assert run.connections["web3"].commands == []


def test_a_preloading_gunicorn_is_refused_with_what_to_set(settings):
    run = fake_run(settings, web1=FakeConnection("web1", facts=master(config_text="preload_app = True\n")),
                   web2=FakeConnection("web2", facts=master(args=["gunicorn", "--preload", "site.wsgi"])))
    with pytest.raises(PreflightError) as error:
        preflight.check_reloads_reload(run)
    lines = str(error.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["web1", "web2"]
    assert all("runs with --preload" in line and "RELOAD_COMMAND" in line for line in lines)


def test_an_env_file_switch_in_the_masters_environment_is_refused_only_for_env_file_switches(settings):
    facts = master(switch_in_environment=True)
    run = fake_run(settings, web1=FakeConnection("web1", facts=facts), web2=FakeConnection("web2", facts=master()))
    preflight.check_reloads_reload(run)  # a Python switch: the environment does not matter
    hosts = tuple(replace(host, switch_format="env", settings_path="~/site/.env") for host in settings.hosts)
    run = fake_run(replace(settings, hosts=hosts), web1=FakeConnection("web1", facts=facts),
                   web2=FakeConnection("web2", facts=master()))
    with pytest.raises(PreflightError, match=r"^web1: gunicorn's master \(pid 4242\) has USE_S3 in its environment"):
        preflight.check_reloads_reload(run)


def test_a_master_that_cannot_be_read_is_not_judged(settings):
    run = fake_run(settings, web1=FakeConnection("web1", facts={"pid": None, "error": "FileNotFoundError: x"}),
                   web2=FakeConnection("web2", facts=Result("", "python3: not found", exited=127)))
    lines = preflight.check_reloads_reload(run).splitlines()
    assert lines[0] == ("web1: gunicorn's master not read from ~/run/gunicorn.pid, not judged "
                        "(FileNotFoundError: x)")
    assert lines[1].startswith("web2: gunicorn's master not read") and "python3: not found" in lines[1]


def test_both_checks_are_in_both_preflights():
    for before in (preflight.BEFORE_CUTOVER[:-1], preflight.BEFORE_ROLLBACK):   # the cutover's ends with the content
        names = [step.name for step in before if step.name != preflight.HEALTH_SOURCE_STEP]
        assert names[-3:] == ["preflight: what the sites' settings select", "preflight: the sites' thumbnails",
                              "preflight: the reloads load new settings"]
    assert preflight.BEFORE_CUTOVER[-1].name == "preflight: old media URLs in the content"


def test_the_settings_probe_comes_before_the_health_source_it_gives_the_disks_media_url():
    from deploy.flows.content import SETTINGS_AND_DISK_STEP
    from deploy.flows.finalize import BEFORE_FINALIZE
    from deploy.flows.reclaim import BEFORE_RECLAIM

    for before in (preflight.BEFORE_CUTOVER, BEFORE_RECLAIM, BEFORE_FINALIZE):
        names = [step.name for step in before]
        probe = preflight.STORAGE_BEFORE_STEP if before is preflight.BEFORE_CUTOVER else SETTINGS_AND_DISK_STEP
        assert names[names.index(probe) + 1] == preflight.HEALTH_SOURCE_STEP


# --- after the switch, before any reload --------------------------------------------------------

def switched(settings, report, before=on_disk, **connections) -> FakeRun:
    run = fake_run(settings, **{**{alias: FakeConnection(alias, report) for alias in settings.host_aliases},
                                **connections})
    run.state.switch.storage_before = {alias: storage_check.parse_report(MARKER + json.dumps(before()), alias)
                          for alias in settings.host_aliases}
    return run


def test_the_check_comes_before_the_flip_and_everything_before_the_reload():
    names = [step.name for step in steps.switch_over(TO_S3, settings="s", latest="l", catch_up="c", health="h", complete="v")]
    # a delta pass before the check, and one for what arrived meanwhile, right before the reload
    assert names[:7] == ["l", "check the new settings and what they select", "s", "check the settings as written",
                         "move easy_thumbnails' rows to the new storage", "copy what arrived during the checks",
                         "reload the sites"]
    step = steps.switch_over(TO_S3, settings="s", latest="l", catch_up="c", health="h", complete="v")[1]
    assert step.undo is None  # it changes nothing


def test_the_staged_settings_go_on_stdin_and_a_site_that_did_not_read_them_is_checked_once_written(settings):
    unread = FakeConnection("web2", on_s3())
    unread.run_with_input = lambda command, data: (unread.inputs.append(data), unread.commands.append(command),
                                                   Result(f"{MARKER}{json.dumps(dict(on_disk(), staged=None))}\n")
                                                   )[-1].stdout
    run = switched(settings, on_s3(), web2=unread)
    lines = new_settings.check_staged(run, TO_S3).splitlines()
    assert lines[-1] == "web2: the site did not read the staged settings (its switch read as False): checked once " \
                        "written, before any reload"
    assert json.loads(run.connections["web1"].inputs[0]) == {"format": "python", "path": "~/site/local_settings.py",
                                                             "source": "USE_S3 = True\n"}
    assert run.state.switch.check_after_flip == ["web2"]
    assert sorted(run.state.switch.settings_checked) == ["web1", "web3"]
    written = new_settings.check_written(run, TO_S3).splitlines()
    assert written[0] == "web2: manage.py check passed" and len(unread.commands) == 2  # on disk, this time
    assert "staged = json.loads(sys.stdin" not in unread.commands[1]
    assert "staged = json.loads(sys.stdin" in unread.commands[0]
    assert sorted(run.state.switch.settings_checked) == ["web1", "web2", "web3"]


def test_manage_py_check_runs_in_the_probes_own_start_up_and_its_refusal_names_the_host(settings):
    run = switched(settings, on_s3())
    lines = new_settings.check_staged(run, TO_S3).splitlines()
    assert lines[:3] == ["web1: manage.py check passed", "web2: manage.py check passed", "web3: manage.py check passed"]
    for connection in run.connections.values():  # one command a host: the probe, asked to run the check too
        assert len(connection.commands) == 1 and "MEDIA_CUTOVER_CHECK=1" in connection.commands[0]

    said = "SystemCheckError: System check identified some issues:\n\nERRORS:\n?: (shop.E001) no"
    refused = switched(settings, on_s3(), web2=FakeConnection("web2", on_s3(system_check="failed: " + said)))
    with pytest.raises(StorageCheckError) as error:
        new_settings.check_staged(refused, TO_S3)
    assert str(error.value).startswith("web2: `manage.py check` of the new settings failed: SystemCheckError: System")
    assert "web1" not in str(error.value) and "(shop.E001) no" in str(error.value)


def test_s3_settings_that_select_the_bucket_pass_with_every_hosts_summary(settings):
    run = switched(settings, on_s3())
    summary = new_settings.check_staged(run, TO_S3)
    assert summary.splitlines()[3].startswith("web1: shop.settings.production: default storage "
                                               "storages.backends.s3.S3Storage (bucket my-media, location 'media')")
    assert all(connection.probes() == 1 for connection in run.connections.values())


def test_the_recipe_block_is_refused_naming_every_host_and_what_to_write_instead(settings):
    run = switched(settings, recipe())
    with pytest.raises(StorageCheckError) as error:
        new_settings.check_staged(run, TO_S3)
    lines = str(error.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["web1", "web2", "web3"]
    assert "DEFAULT_FILE_STORAGE = 'storages.backends.s3boto3.S3Boto3Storage'" in lines[0]
    assert "Set STORAGES['default']" in lines[0]
    assert run.said == ["    web1: manage.py check passed\n    web2: manage.py check passed\n    web3: manage.py check passed"]


def test_staticfiles_changed_by_the_flip_is_refused_against_what_the_preflight_saw(settings):
    run = switched(settings, on_s3(staticfiles="django.contrib.staticfiles.storage.StaticFilesStorage"))
    with pytest.raises(StorageCheckError, match=f"changed the staticfiles backend from {MANIFEST}"):
        new_settings.check_staged(run, TO_S3)


def test_one_wrong_host_among_good_ones_is_named_alone(settings):
    run = switched(settings, on_s3(), web2=FakeConnection("web2", on_s3(default={"bucket": "other"})))
    with pytest.raises(StorageCheckError) as error:
        new_settings.check_staged(run, TO_S3)
    assert str(error.value) == ("web2: the site's S3 storage uses bucket 'other', but the media were uploaded to "
                                "'my-media' (AWS_STORAGE_BUCKET_NAME)")


def test_the_rollback_wants_file_system_storage_at_the_real_media_root_on_the_media_host_only(settings):
    run = switched(settings, on_disk(), before=on_s3)
    assert new_settings.check_staged(run, TO_DISK)
    assert run.connections["web1"].commands[-1] == 'readlink -f "$HOME"/webapps/media'
    assert not any(command.startswith("readlink") for command in run.connections["web2"].commands)

    elsewhere = switched(settings, on_disk(), before=on_s3,
                         web1=FakeConnection("web1", on_disk(), real_media_root="/srv/other"))
    with pytest.raises(StorageCheckError, match=r"^web1: the site stores media in /srv/media, not in MEDIA_ROOT "
                                                r"\(/srv/other\)$"):
        new_settings.check_staged(elsewhere, TO_DISK)


def test_the_rollback_refuses_settings_that_still_select_s3(settings):
    run = switched(settings, dict(on_s3(), switch="False"), before=on_s3)
    with pytest.raises(StorageCheckError, match="with the switch off, the default storage is storages.backends"):
        new_settings.check_staged(run, TO_DISK)


def test_hosts_without_manage_py_are_not_checked_and_said(settings):
    hosts = (settings.hosts[0], *(replace(host, manage_py=None) for host in settings.hosts[1:]))
    run = switched(replace(settings, hosts=hosts), on_s3())
    assert new_settings.check_staged(run, TO_S3).splitlines()[-1] == \
        "not checked: web2, web3 (no MANAGE_PY and SITE_PYTHON)"
    none = switched(replace(settings, hosts=tuple(replace(host, manage_py=None) for host in settings.hosts)), on_s3())
    assert new_settings.check_staged(none, TO_S3) == "not checked: web1, web2, web3 (no MANAGE_PY and SITE_PYTHON)"


def test_the_preview_says_what_would_be_checked_and_runs_nothing(settings):
    run = switched(settings, on_s3())
    preview = new_settings.preview_check(run, TO_S3)
    assert preview.startswith("would run `manage.py check` on web1, web2, web3 under their settings modules with the "
                              "new settings staged (nothing written yet) and require django-storages' S3Storage")
    assert "FileSystemStorage at MEDIA_ROOT" in new_settings.preview_check(run, TO_DISK)
    assert all(connection.commands == [] for connection in run.connections.values())


def test_thumbnails_written_to_one_storage_and_linked_at_the_other_are_refused_before_the_flip(settings):
    thumbnail_disk = {"backend": "easy_thumbnails.storage.ThumbnailFileSystemStorage", "local": True,
                      "location": "/srv/media", "bucket": None, "url": "http://127.0.0.1:18333/my-media/media/"}
    detect = {"django": "5.2", "default": {"backend": "storages.backends.s3.S3Storage", "local": False},
              "easy_thumbnails": {"installed": True, "version": "2.10.1", "storage": thumbnail_disk,
                                  "mismatch": "easy_thumbnails would write new thumbnails on disk in /srv/media, "
                                              "linked at http://127.0.0.1:18333/my-media/media/"},
              "sorl": {"installed": False}}
    run = switched(settings, on_s3(), web1=FakeConnection("web1", on_s3(thumbnails=detect)))
    with pytest.raises(StorageCheckError, match=r"^web1: easy_thumbnails would write new thumbnails on disk in "):
        new_settings.check_staged(run, TO_S3)
    staged = "staged = json.loads(sys.stdin"  # the staged settings' loader: nothing was written
    assert run.connections["web1"].commands and all(staged in c for c in run.connections["web1"].commands)


def test_the_rollback_is_not_refused_for_its_thumbnails_nor_for_a_thumbnail_check_that_failed(settings):
    failed = {"error": "ImportError: cannot import name 'x' from 'easy_thumbnails'"}
    run = switched(settings, dict(on_disk(), thumbnails=failed), before=on_s3)
    assert new_settings.check_staged(run, TO_DISK)  # on the way back, the site's own settings of before
    run.state.switch.storage_before["web1"] = storage_check.parse_report(
        MARKER + json.dumps(dict(on_s3(), thumbnails=failed)), "web1")
    assert preflight.check_thumbnails(run, cutover=False).endswith("the rollback goes on, easy_thumbnails' rows "
                                                                   "are left as they are")
    with pytest.raises(PreflightError, match="the thumbnail check failed: ImportError"):
        preflight.check_thumbnails(run, cutover=True)
    with pytest.raises(StorageCheckError, match="the thumbnail check failed"):
        new_settings.check_staged(switched(settings, dict(on_s3(), thumbnails=failed)), TO_S3)


def test_the_health_check_reads_pages_by_the_media_url_the_probe_read_from_the_site_on_disk(settings):
    from deploy.flows.state import disk_media, health_settings

    run = fake_run(settings)
    assert disk_media(run)[0] == "/media/" and "no probe" in disk_media(run)[1]   # nothing probed yet
    run.state.switch.storage_before = {
        alias: storage_check.parse_report(MARKER + json.dumps(report), alias)
        for alias, report in (("web2", on_disk(media_url="/uploads/")), ("web1", on_disk(media_url="/static/media/")),
                              ("web3", on_s3()))}
    assert disk_media(run) == ("/static/media/", "the site's MEDIA_URL")   # the media host's first
    assert health_settings(run).disk_media_url == "/static/media/" and run.settings.disk_media_url is None
    # a rollback's preflight probes the sites on S3: the staged settings back on disk say it
    run.state.switch.storage_before = {"web1": storage_check.parse_report(MARKER + json.dumps(on_s3()), "web1")}
    run.state.switch.settings_checked = {"web1": storage_check.parse_report(
        MARKER + json.dumps(on_disk(media_url="/static/media/")), "web1")}
    assert disk_media(run)[0] == "/static/media/"
    run.settings = replace(run.settings, disk_media_url="https://old.example.com/media/")   # DISK_MEDIA_URL wins
    assert disk_media(run) == ("https://old.example.com/media/", "DISK_MEDIA_URL")
    assert health_settings(run) is run.settings


def test_the_health_step_says_each_pages_content_references_and_hands_on_the_sites_media_url(settings, monkeypatch):
    from types import SimpleNamespace

    from deploy.site.facts.health import Served

    run = fake_run(settings)
    run.options, run.faults = SimpleNamespace(sample_limit=5), None
    run.state.switch.storage_before = {"web1": storage_check.parse_report(
        MARKER + json.dumps(on_disk(media_url="/static/media/")), "web1")}
    handed = []
    monkeypatch.setattr(steps, "wait_for_storage", lambda host, storage, timeout, given: handed.append(given))

    def served(given, host, limit, faults=None):
        handed.append(given)
        return Served(2, (("/articles/seed-000001/", 1, 5),)) if host.alias == "web1" else Served(2, (), 2, (403, 401))
    to = replace(direction.TO_S3, check_served=served)
    lines = steps.health_check(run, to).splitlines()
    assert lines[:2] == ["web1: on S3, 2 media URLs fetch from the bucket",
                         "web1: /articles/seed-000001/ 1 media URL in the bucket, 5 content references to the old "
                         "location (the content's own URLs)"]
    assert "web2: on S3, 2 signed media URLs fetched 200; their unsigned form refused 2 times (HTTP 401, 403)" \
        in lines   # a private site's figures
    assert {given.disk_media_url for given in handed} == {"/static/media/"}


def test_the_health_line_names_the_domain_the_media_were_fetched_through():
    from deploy.site.facts.health import Served
    assert Served(10, through="cdn.example.com").summary("media URLs fetch from the bucket") == \
        "10 media URLs fetched through cdn.example.com, the bucket's bytes"
    assert Served(1).summary("media URLs fetch from the bucket") == "1 media URLs fetch from the bucket"
