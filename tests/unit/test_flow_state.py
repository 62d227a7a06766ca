"""The flow's state (deploy.flows.state) and its hand-overs (deploy.flows.direction): each of the media's and the
site's functions gets its part of run.state, and knows nothing of the rest."""

from types import SimpleNamespace

from deploy.flows import direction
from deploy.flows.direction import TO_DISK, TO_S3, with_host_facts, with_passes, with_storage_before
from deploy.flows.state import FlowState
from deploy.media import complete, delta, transfer
from deploy.site.host_facts import HostFacts
from deploy.site.ops import storage, switch


def flow_run() -> SimpleNamespace:
    state = FlowState()
    state.switch.hosts["web1"] = HostFacts(original=b"USE_S3 = False\n")
    return SimpleNamespace(state=state)


def test_each_run_has_a_state_of_its_own():
    first, second = FlowState(), FlowState()
    first.passes.unreadable.append("loop")
    first.switch.hosts["web1"] = HostFacts()
    first.mirror.failures.append("x")
    assert second.passes.unreadable == [] and second.switch.hosts == {} and second.mirror.failures == []
    assert (second.mirror.mode, second.passes.listing_order, second.easy_rows.record) == ("copy", "bytes", None)


def test_a_step_hands_each_function_its_part_of_the_state():
    run = flow_run()
    assert with_passes(lambda run_, passes, *more: (passes, more))(run, "x") == (run.state.passes, ("x",))
    assert with_host_facts(lambda run_, alias, facts, *more: (alias, facts, more))(run, "web1", True) == \
        ("web1", run.state.switch.hosts["web1"], (True,))
    assert with_storage_before(lambda run_, reports, before: before)(run, {}) is run.state.switch.storage_before


def test_easy_thumbnails_rows_get_the_runs_rows_and_what_the_sites_selected_before(monkeypatch):
    run = flow_run()
    rows, before = run.state.easy_rows, run.state.switch.storage_before
    monkeypatch.setattr(direction.easy_rows, "to_bucket", lambda run_, *parts: parts)
    monkeypatch.setattr(direction.easy_rows, "back_from_disk", lambda run_, *parts: parts)
    monkeypatch.setattr(direction.easy_rows, "preview", lambda run_, *parts: parts)
    assert direction.rows_to_bucket(run) == (rows, before) and direction.rows_back_from_disk(run) == (rows,)
    assert direction.preview_rows(run) == (before,)


def test_the_directions_are_the_media_and_the_sites_functions_handed_their_parts():
    wrapped = {name: getattr(getattr(TO_S3, name), "__wrapped__", None) for name in
               ("copy", "copy_missing", "until_complete", "switch", "staged", "preview_switch", "settings_problems")}
    assert wrapped == {"copy": transfer.upload, "copy_missing": delta.upload_changed,
                       "until_complete": complete.upload_until_complete, "switch": switch.flip,
                       "staged": switch.staged_on, "preview_switch": switch.preview_flip,
                       "settings_problems": storage.s3_problems}
    assert TO_DISK.copy.__wrapped__ is transfer.download and TO_DISK.switch.__wrapped__ is switch.to_disk
    assert TO_DISK.preview_copy_missing.__wrapped__ is delta.preview_download_changed
    assert TO_S3.preview_copy_missing is delta.preview_upload_changed  # it needs no state
