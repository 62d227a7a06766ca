"""The undo of a reload, on stubs: what it does, in which order, and that one failure does not stop the rest."""

from types import SimpleNamespace

import pytest

from deploy import reload
from deploy.context import HostFacts
from deploy.errors import RemoteError


def fake_run(**facts):
    hosts = tuple(SimpleNamespace(alias=alias, reload_command=f"reload {alias}") for alias in facts)
    settings = SimpleNamespace(hosts=hosts, reload_timeout=5)
    return SimpleNamespace(settings=settings, hosts=facts, connection=lambda alias: alias)


class Calls(list):
    """Every remote action the undo takes, in order, as short strings; those in ``failing`` raise."""

    def __init__(self):
        super().__init__()
        self.failing = set()


@pytest.fixture
def calls(monkeypatch):
    calls = Calls()

    def step(name):
        def action(*args, **kwargs):
            what = f"{name} {args[1]}" if name in ("restore", "reload") else name
            calls.append(what)
            if what in calls.failing:
                raise RemoteError(f"{what} broke")
            return what
        return action

    monkeypatch.setattr(reload.settings_remote, "restore", step("restore"))
    monkeypatch.setattr(reload, "remote_run", lambda connection, command, *a, **k: step("reload")(None, connection))
    monkeypatch.setattr(reload.health, "wait_for_storage", lambda host, storage, timeout: 0.5)
    monkeypatch.setattr(reload.transfer, "download", step("download missing"))
    monkeypatch.setattr(reload.transfer, "download_until_complete", step("download until complete"))
    monkeypatch.setattr(reload.transfer, "upload", step("upload missing"))
    monkeypatch.setattr(reload.transfer, "upload_until_complete", step("upload until complete"))
    return calls


def test_a_site_that_served_from_s3_goes_back_with_the_buckets_new_files_on_disk_before_and_after(calls):
    run = fake_run(web1=HostFacts(original_use_s3=False, reloaded=True),
                   web2=HostFacts(original_use_s3=False, reloaded=False))
    summary = reload.restore_and_reload_sites(run)
    assert calls == ["restore web1", "restore web2", "download missing", "reload web1", "download until complete"]
    assert "web1: reloaded, healthy on disk" in summary
    assert not run.hosts["web1"].reloaded


def test_a_site_that_served_from_disk_goes_back_to_s3_with_the_disks_new_files_uploaded(calls):
    run = fake_run(web1=HostFacts(original_use_s3=True, reloaded=True))
    reload.restore_and_reload_sites(run)
    assert calls == ["restore web1", "upload missing", "reload web1", "upload until complete"]


def test_nothing_reloaded_means_nothing_to_carry(calls):
    run = fake_run(web1=HostFacts(), web2=HostFacts())
    assert reload.restore_and_reload_sites(run)
    assert calls == ["restore web1", "restore web2"]


def test_one_part_failing_does_not_stop_the_others_and_is_reported(calls):
    calls.failing.add("download missing")
    run = fake_run(web1=HostFacts(original_use_s3=False, reloaded=True))
    with pytest.raises(RemoteError, match="download missing broke"):
        reload.restore_and_reload_sites(run)
    assert calls == ["restore web1", "download missing", "reload web1", "download until complete"]


def test_a_reload_back_that_fails_again_is_fine_when_the_site_is_healthy_as_before(calls):
    calls.failing.add("reload web2")
    run = fake_run(web2=HostFacts(original_use_s3=False, reloaded=True))
    summary = reload.restore_and_reload_sites(run)
    assert "web2: reload command failed again" in summary and "healthy on disk" in summary
