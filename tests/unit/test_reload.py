"""The reload and its undo, on stubs: what they do, in which order, and that one failure does not stop the rest."""

import threading
from dataclasses import replace
from types import SimpleNamespace

import pytest

from deploy.errors import RemoteError
from deploy.flows import reload
from deploy.flows.state import FlowState, SwitchState
from deploy.media.passes import Passes
from deploy.site.host_facts import HostFacts


class Journal(list):
    def record(self, event):
        self.append((event.event_name(), event.fields()))


def fake_run(grace=0.0, **facts):
    hosts = tuple(SimpleNamespace(alias=alias, reload_command=f"reload {alias}") for alias in facts)
    settings = SimpleNamespace(hosts=hosts, reload_timeout=5, reload_grace=grace, media_host="web1",
                               disk_media_url="/media/",   # set: the health check is handed these settings
                               host=lambda alias: next(host for host in hosts if host.alias == alias))
    run = SimpleNamespace(settings=settings, targets=hosts, connection=lambda alias: alias, journal=Journal(),
                          state=FlowState(passes=Passes(disk_mark=0.0), switch=SwitchState(hosts=facts)))
    run.on_host = lambda step, alias, action: action(run, alias)
    return run


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

    monkeypatch.setattr(reload.switch, "restore", step("restore"))
    monkeypatch.setattr(reload, "remote_run", lambda connection, command, *a, **k: step("reload")(None, connection))
    monkeypatch.setattr(reload.health, "wait_for_storage",
                        lambda host, storage, timeout, settings=None: calls.append(f"healthy {host.alias} on {storage}") or 0.5)
    for name, verb in (("TO_DISK", "download"), ("TO_S3", "upload")):
        monkeypatch.setattr(reload, name, replace(getattr(reload, name), copy_missing=step(f"{verb} missing"),
                                                  until_complete=step(f"{verb} until complete")))
    return calls


def in_order(calls):
    """The calls but the health waits (they run beside the copies), repeated copies counted once."""
    steps = [call for call in calls if not call.startswith("healthy ")]
    return [call for number, call in enumerate(steps) if number == 0 or call != steps[number - 1]]


def test_a_site_that_served_from_s3_goes_back_with_the_buckets_new_files_on_disk_before_and_after(calls):
    run = fake_run(web1=HostFacts(original_use_s3=False, reloaded=True),
                   web2=HostFacts(original_use_s3=False, reloaded=False))
    summary = reload.restore_and_reload_sites(run)
    assert in_order(calls) == ["restore web1", "restore web2", "download missing", "reload web1", "download missing",
                               "download until complete"]
    assert "healthy web1 on disk" in calls and calls.index("healthy web1 on disk") > calls.index("reload web1")
    assert "web1: reloaded back to disk" in summary and "web1: answers on disk" in summary
    assert not run.state.switch.hosts["web1"].reloaded and run.state.switch.switching == {}


def test_a_site_that_served_from_disk_goes_back_to_s3_with_the_disks_new_files_uploaded(calls):
    run = fake_run(web1=HostFacts(original_use_s3=True, reloaded=True))
    reload.restore_and_reload_sites(run)
    assert in_order(calls) == ["restore web1", "upload missing", "reload web1", "upload missing",
                               "upload until complete"]
    assert "healthy web1 on s3" in calls


def test_nothing_reloaded_means_nothing_to_carry(calls):
    run = fake_run(web1=HostFacts(), web2=HostFacts())
    assert reload.restore_and_reload_sites(run)
    assert calls == ["restore web1", "restore web2"]


def test_one_part_failing_does_not_stop_the_others_and_is_reported(calls):
    calls.failing.add("download missing")
    run = fake_run(web1=HostFacts(original_use_s3=False, reloaded=True))
    with pytest.raises(RemoteError, match="download missing broke"):
        reload.restore_and_reload_sites(run)
    assert in_order(calls) == ["restore web1", "download missing", "reload web1", "download missing"]


def test_a_reload_back_that_fails_again_is_fine_when_the_site_is_healthy_as_before(calls):
    calls.failing.add("reload web2")
    run = fake_run(web2=HostFacts(original_use_s3=False, reloaded=True))
    summary = reload.restore_and_reload_sites(run)
    assert "web2: reload command failed again" in summary and "healthy on disk" in summary


def test_the_copy_after_a_reload_goes_on_until_every_site_answers_in_its_new_mode(calls, monkeypatch):
    run = fake_run(web1=HostFacts(original_use_s3=False, settings_written=True),
                   web2=HostFacts(original_use_s3=False, settings_written=False))
    assert reload.reload_sites(run) == "reloaded web1"
    assert calls == ["reload web1"] and list(run.state.switch.switching) == ["web1"]
    assert run.state.switch.hosts["web1"].reloaded and not run.state.switch.hosts["web2"].reloaded

    copied = threading.Event()  # web1's new workers answer once two more copies were made

    def copy(run_):
        calls.append("copy")
        if calls.count("copy") == 3:
            copied.set()
        return "copied"

    monkeypatch.setattr(reload.health, "wait_for_storage", lambda host, storage, timeout, settings=None: copied.wait(5) and 0.5)
    monkeypatch.setattr(reload, "PASS_INTERVAL", 0)
    summary = reload.after_reload(run, copy, lambda run_: calls.append("until complete") or "complete")
    assert calls[0] == "reload web1" and calls[-1] == "until complete"
    assert set(calls[1:-1]) == {"copy"} and len(calls[1:-1]) >= 3
    [(event, fields)] = run.journal
    assert (event, fields["host"], fields["step"]) == ("host", "web1", "health") and fields["healthy_at"] > 0
    # the first copy, the passes, one last copy once the old workers are done, the check
    assert "web1: answers on s3" in summary and f"{len(calls) - 4} more passes" in summary
    assert run.state.switch.switching == {} and run.state.switch.reloaded_at is not None


def test_nothing_changed_means_no_reload_and_no_wait_afterwards(calls):
    run = fake_run(grace=60, web1=HostFacts())
    assert reload.reload_sites(run) == "no host changed: none reloaded"
    assert reload.after_reload(run, lambda run_: "copied", lambda run_: "complete") == "copied\ncomplete"


def test_the_copies_go_on_through_the_grace_the_old_workers_have(calls, monkeypatch):
    run = fake_run(grace=30, web1=HostFacts())
    run.state.switch.reloaded_at = 1000.0
    clock = {"now": 1004.0}
    monkeypatch.setattr(reload.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(reload.time, "sleep", lambda seconds: None)

    def copy(run_):
        calls.append("copy")
        clock["now"] += 10  # each copy takes 10 s here
        return "copied"

    summary = reload.after_reload(run, copy, lambda run_: calls.append("until complete") or "complete")
    assert calls == ["copy", "copy", "copy", "copy", "until complete"]  # at 1014, 1024: within 1000 + 30; last
    assert "2 more passes while the sites switched over and their old workers finished " \
           "(RELOAD_GRACE_SECONDS=30)" in summary


# --- an undo whose old-mode health cannot be seen ---------------------------------------------

def unseen_on(calls, monkeypatch, alias, answer):
    """The health wait for ``alias`` times out; its health URL then answers ``answer`` (status, storage)."""
    def wait(host, storage, timeout, *settings, **given):
        calls.append(f"healthy {host.alias} on {storage}")
        if host.alias == alias:
            raise reload.HealthError(f"{alias}: did not report storage={storage}")
        return 0.5

    monkeypatch.setattr(reload.health, "wait_for_storage", wait)
    monkeypatch.setattr(reload.health, "storage_of", lambda host, settings=None, expected=None: answer)


def with_health_urls(run):
    for host in run.settings.hosts:
        host.health_url, host.site_url = f"http://127.0.0.1:18101/{host.alias}/nope", "http://127.0.0.1:18101"
        host.media_check_paths, host.manage_py, host.site_python = ("/gallery/",), None, None
    return run


def test_check_pages_that_show_no_storage_are_not_confirmed_naming_them(calls, monkeypatch):
    unseen_on(calls, monkeypatch, "web1", (200, ""))
    run = with_health_urls(fake_run(web1=HostFacts(original_use_s3=False, reloaded=True)))
    run.settings.hosts[0].health_url = ""
    with pytest.raises(reload.UndoUnconfirmed, match=r"web1's health on disk \(http://127.0.0.1:18101/gallery/ "
                                                     r"showed no storage\): check MEDIA_CHECK_PATHS"):
        reload.restore_and_reload_sites(run)


def test_a_health_url_that_answers_404_after_the_reload_back_is_not_confirmed_not_failed(calls, monkeypatch):
    unseen_on(calls, monkeypatch, "web1", (404, None))
    run = with_health_urls(fake_run(web1=HostFacts(original_use_s3=False, reloaded=True),
                                    web2=HostFacts(original_use_s3=False, reloaded=True)))
    with pytest.raises(reload.UndoUnconfirmed) as error:
        reload.restore_and_reload_sites(run)
    # every part was still done: the copy until complete too
    assert in_order(calls) == ["restore web1", "restore web2", "download missing", "reload web1", "reload web2",
                               "download missing", "download until complete"]
    assert error.value.unconfirmed == ["web1's health on disk (http://127.0.0.1:18101/web1/nope answered HTTP 404): "
                                       "check HEALTH_URL"]
    assert error.value.done == ["restore web1", "restore web2", "web1: reloaded back to disk",
                                "web2: reloaded back to disk", "what the sites stored meanwhile is on disk again, "
                                "every file"]


def test_where_the_storage_check_can_ask_the_undo_says_what_the_settings_select_now(calls, monkeypatch):
    unseen_on(calls, monkeypatch, "web1", (404, None))
    run = with_health_urls(fake_run(web1=HostFacts(original_use_s3=False, reloaded=True)))
    run.settings.hosts[0].manage_py, run.settings.hosts[0].site_python = "~/site/manage.py", "~/venv/bin/python"
    disk = SimpleNamespace(default={"backend": "django.core.files.storage.FileSystemStorage"})
    monkeypatch.setattr(reload.site_storage, "probe", lambda run_, alias: disk)
    with pytest.raises(reload.UndoUnconfirmed) as error:
        reload.restore_and_reload_sites(run)
    assert error.value.done[-1] == ("web1: its settings select django.core.files.storage.FileSystemStorage again "
                                    "(the storage check)")


def test_a_health_url_that_answers_nothing_is_not_confirmed_and_says_to_look_at_the_site(calls, monkeypatch):
    unseen_on(calls, monkeypatch, "web1", (0, None))
    run = with_health_urls(fake_run(web1=HostFacts(original_use_s3=False, reloaded=True)))
    with pytest.raises(reload.UndoUnconfirmed, match=r"answered nothing\): check HEALTH_URL and that the site runs"):
        reload.restore_and_reload_sites(run)


def test_a_site_that_still_reports_the_other_storage_after_the_reload_back_is_a_failure(calls, monkeypatch):
    unseen_on(calls, monkeypatch, "web1", (200, "s3"))
    run = with_health_urls(fake_run(web1=HostFacts(original_use_s3=False, reloaded=True)))
    with pytest.raises(RemoteError, match=r"^web1: still shows storage=s3 after the reload back to disk"):
        reload.restore_and_reload_sites(run)


def test_a_site_seen_on_its_old_storage_only_after_the_wait_is_confirmed(calls, monkeypatch):
    unseen_on(calls, monkeypatch, "web1", (200, "disk"))
    run = with_health_urls(fake_run(web1=HostFacts(original_use_s3=False, reloaded=True)))
    assert "web1: answers on disk (later than RELOAD_TIMEOUT)" in reload.restore_and_reload_sites(run)


def test_the_cutovers_own_wait_still_fails_at_once(calls, monkeypatch):
    unseen_on(calls, monkeypatch, "web1", (404, None))
    run = fake_run(web1=HostFacts(original_use_s3=False, settings_written=True))
    reload.reload_sites(run)
    with pytest.raises(reload.HealthError, match="did not report storage=s3"):
        reload.after_reload(run, lambda run_: "copied", lambda run_: calls.append("until complete") or "complete")
    assert "until complete" not in calls
