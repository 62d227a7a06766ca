"""Reclaim's decisions (deploy.flows.reclaim) on runs made by hand: which environments it refuses before
anything changes, what a report says, and the undo's download of exactly the removed files."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from deploy.engine.run import Options
from deploy.errors import PreflightError
from deploy.flows import reclaim
from deploy.media.free_disk import Removal
from deploy.media.proof import Kept, Proof, Proven
from deploy.site.host_facts import HostFacts


@dataclass(frozen=True)
class SomeSettings:
    env: str = "prod"
    switch_name: str = "USE_S3"
    mirror_switch_name: str = "MEDIA_MIRROR"
    media_host: str = "web1"
    media_root: str = "~/webapps/media"
    media_prefix: str = "media"
    sync_tool: str = "s5cmd"


def reclaim_run(*hosts: HostFacts, delete_local: bool = False) -> SimpleNamespace:
    state = reclaim.ReclaimState()
    for number, facts in enumerate(hosts, 1):
        state.switch.hosts[f"web{number}"] = facts
    return SimpleNamespace(state=state, settings=SomeSettings(), options=Options(delete_local=delete_local))


def test_an_environment_on_disk_or_in_a_mirror_soak_is_refused_one_line_a_host():
    run = reclaim_run(HostFacts(original_use_s3=False), HostFacts(original_use_s3=True, original_mirror=True))
    with pytest.raises(PreflightError) as refused:
        reclaim.check_on_s3_unmirrored(run)
    assert str(refused.value).splitlines() == [
        "web1: USE_S3 is off: the site serves media from disk; reclaim frees the disk only after a cutover "
        "(`invoke cutover --env=prod`)",
        "web2: MEDIA_MIRROR is on: the site still writes every upload to the disk too; end the soak with "
        "`invoke finalize --env=prod` first"]
    on_s3 = reclaim_run(HostFacts(original_use_s3=True, original_mirror=False), HostFacts(original_use_s3=True))
    assert reclaim.check_on_s3_unmirrored(on_s3) == "every host serves from S3, no mirror on (web1, web2)"


def test_without_delete_local_the_removal_step_removes_nothing_and_says_what_the_flag_would():
    run = reclaim_run(HostFacts(original_use_s3=True))
    run.state.reclaim.proof = Proof(proven=[Proven("a.jpg", 2_000_000, 1, 2, "0" * 32)], kept=[Kept("b.jpg", "x")])
    assert reclaim.remove(run) == ("a report only: nothing removed. `invoke reclaim --env=prod --delete-local` "
                                   "removes the 1 proven files (2.0 MB)")
    run.state.reclaim.proof = Proof()
    assert reclaim.remove(run) == "a report only: nothing to remove"
    deleting = reclaim_run(HostFacts(original_use_s3=True), delete_local=True)
    deleting.state.reclaim.proof = Proof(kept=[Kept("b.jpg", "x")])
    assert reclaim.remove(deleting).startswith("nothing to remove")


def test_the_undo_downloads_exactly_the_removed_files_with_rclone(monkeypatch):
    run = reclaim_run(HostFacts(original_use_s3=True), delete_local=True)
    asked = []
    monkeypatch.setattr(reclaim.delta, "download_keys", lambda run_, keys, settings: asked.append((keys, settings)))
    assert reclaim.put_back(run) == ""   # nothing removed: nothing to bring back
    run.state.reclaim.removal = Removal(removed=[Proven("a b.jpg", 1, 1, 1, "0" * 32), Proven("c/d.jpg", 1, 1, 1, "1" * 32)])
    assert reclaim.put_back(run) == "downloaded the 2 removed files back into ~/webapps/media"
    [(keys, settings)] = asked
    assert keys == ["media/a b.jpg", "media/c/d.jpg"] and settings.sync_tool == "rclone"
