"""The mirror's steps (CHANGEOVER=mirror): its switch turned on (the cutover) or off (finalize), and its records.

With the mirror's switch (MIRROR_SWITCH_NAME, ``MEDIA_MIRROR``) on, the site's default storage is
``media_mirror.MirrorStorage``: every file saved goes to the storage USE_S3 selects (the primary,
which serves) and to the other one.  Turning it on is the same change as the USE_S3 flip, on the other
switch: the new settings checked staged (`manage.py check`; the mirror, its primary serving as before,
its second storage the bucket and prefix the media go to, or MEDIA_ROOT), the minimal atomic edit with
a backup (undone: the preflight's bytes put back), the written settings checked where the staged ones
were not seen, easy_thumbnails' rows moved to the mirror's hash (its class path: nothing regenerates),
and a reload that waits until every site answers with its new settings and its old workers, which
still store on one storage only, had RELOAD_GRACE_SECONDS to finish.  Nothing is copied here: what
the sites stored before is the bulk upload's, after.
"""

from __future__ import annotations

import time
from functools import partial

from ..engine.counts import MirrorRecordCounts
from ..engine.events import Healthy
from ..engine.runner import Step
from ..errors import RemoteError
from ..remote.ssh import run as remote_run
from ..site.ops import health
from ..site.facts import mirror_records
from ..site.ops import storage
from ..site.ops import switch
from ..site.facts.storage import problems_of_mirror
from . import new_settings
from .direction import preview_rows, rows_back_from_bucket, rows_to_bucket
from .new_settings import Change
from .reload import preview_reload, reload_host, restore_and_reload_sites
from .state import FlowRun, health_settings
from .steps import restore_settings


def change(on: bool) -> Change:
    """The mirror's switch set to ``on``, as the checks of new settings see it (``deploy.flows.new_settings``):
    the site's primary serves as before, and the mirror is there (its second storage the other one) or not."""
    return Change(staged=lambda run, alias: switch.staged_mirror(run, alias, run.state.switch.hosts[alias], on),
                  saw=lambda run, alias, report: report.saw_staged(run.state.switch.hosts[alias].original_use_s3, on),
                  problems=partial(problems, on=on), read_as=lambda report: report.mirror_switch or "?")


def problems(run: FlowRun, reports: dict, on: bool) -> list[str]:
    settings, before = run.settings, run.state.switch.storage_before
    on_s3 = {alias: report for alias, report in reports.items() if run.state.switch.hosts[alias].original_use_s3}
    on_disk = {alias: report for alias, report in reports.items() if alias not in on_s3}
    found = ((storage.s3_problems(run, on_s3, before) if on_s3 else [])
             + (storage.disk_problems(run, on_disk, before) if on_disk else []))
    # A disk second storage is compared with MEDIA_ROOT on the media host (disk_problems did for a disk primary).
    media_root = storage.media_root_real_path(run) if on and settings.media_host in on_s3 else None
    for alias, report in reports.items():
        found += problems_of_mirror(report, on, settings.mirror_switch_name, settings.bucket, settings.media_prefix,
                                    settings.endpoint_url, media_root if alias == settings.media_host else None)
    return found


def set_switch(run: FlowRun, on: bool) -> str:
    return "\n".join(run.on_host("mirror", alias, partial(_one, on=on)) for alias in run.aliases)


def _one(run: FlowRun, alias: str, on: bool) -> str:
    return switch.set_mirror(run, alias, run.state.switch.hosts[alias], on)


def preview_switch(run: FlowRun, on: bool) -> str:
    return "\n".join(switch.preview_mirror(run, alias, run.state.switch.hosts[alias], on) for alias in run.aliases)


def reload_sites(run: FlowRun, on: bool) -> str:
    """Reload the hosts whose mirror's switch this run set; wait until each answers as before (the
    primary still serves) and, where its health says so, mirrors as asked; then RELOAD_GRACE_SECONDS
    for the old workers, which store on one storage only, to finish."""
    state = run.state.switch
    changed = [host.alias for host in run.targets if state.hosts[host.alias].settings_written]
    state.storage_before.update(state.settings_checked)  # from here on the sites select these settings
    if not changed:
        return "no host changed: none reloaded"
    for alias in changed:
        state.hosts[alias].reloaded = True  # set first: a reload that fails may still have happened
        run.on_host("reload", alias, reload_host)
    lines = run.on_every_host(partial(_wait, on=on), changed)
    time.sleep(run.settings.reload_grace)
    lines.append(f"RELOAD_GRACE_SECONDS={run.settings.reload_grace:g} waited: the old workers have finished")
    return "\n".join(lines)


def _wait(run: FlowRun, alias: str, on: bool) -> str:
    host, began = run.settings.host(alias), time.monotonic()
    serving = "s3" if run.state.switch.hosts[alias].original_use_s3 else "disk"
    health.wait_for_storage(host, serving, run.settings.reload_timeout, health_settings(run))
    said = health.wait_for_mirror(host, on, run.settings.reload_timeout)
    seconds = time.monotonic() - began
    run.journal.record(Healthy(host=alias, seconds_to_healthy=round(seconds, 3), mirror=on))
    if said:
        return f"{alias}: answers on {serving}, mirror {'on' if on else 'off'}, {seconds:.1f} s after its reload"
    return (f"{alias}: answers on {serving} {seconds:.1f} s after its reload (its health does not say whether it "
            "mirrors: the grace below covers the workers still starting)")


def preview_check(run: FlowRun, on: bool) -> str:
    return (f"would run `manage.py check` on {', '.join(storage.probed(run)) or 'no host'} with "
            f"{run.settings.mirror_switch_name} {'on' if on else 'off'} staged, and require "
            + ("media_mirror.MirrorStorage, its primary serving as now, its second storage the other one"
               if on else "the storage USE_S3 selects, not the mirror"))


def switch_mirror(on: bool) -> list[Step]:
    """The mirror's switch to ``on`` on every host, checked before and after, reloaded; in this order."""
    word = "on" if on else "off"
    return [
        Step(f"check the settings with the mirror {word}", partial(new_settings.check_change_staged, change=change(on)),
             preview=partial(preview_check, on=on)),
        Step(f"turn the mirror {word}", partial(set_switch, on=on), undo=restore_settings,
             preview=partial(preview_switch, on=on)),
        Step("check the mirror's settings as written", partial(new_settings.check_change_written, change=change(on)),
             preview=lambda run: "would check the written settings of any host whose site did not read the staged ones"),
        Step(f"move easy_thumbnails' rows with the mirror {word}", rows_to_bucket, undo=rows_back_from_bucket,
             preview=preview_rows),
        Step(f"reload the sites with the mirror {word}", partial(reload_sites, on=on),
             undo=restore_and_reload_sites, preview=preview_reload),
    ]


# --- the records of failed writes to the second storage ------------------------------------------

def take_records(run: FlowRun) -> str:
    """Every host's record of the mirror's failed writes, taken (renamed aside, kept) and said; the whole-tree
    comparison after it copies whatever they missed."""
    path, failures = run.settings.mirror_failures, run.state.mirror.failures
    unreadable, untaken = 0, []
    for alias in run.aliases:
        try:
            output = remote_run(run.connection(alias), mirror_records.take_command(path, run.run_id),
                                f"taking the mirror's records ({path})")
        except RemoteError as error:  # the comparison after this step repairs all the same: said, not fatal
            untaken.append(f"{alias}: its records could not be taken ({error}); the comparison below still "
                           "copies whatever a failed write missed")
            continue
        found, torn = mirror_records.parse(output, alias)
        failures += found
        unreadable += torn
    run.journal.record(MirrorRecordCounts(failures=len(failures), unreadable=unreadable,
                                          names=[failure.name for failure in failures[:100]]))
    return "\n".join([*untaken, mirror_records.summary(failures, unreadable, path)])


def preview_records(run: FlowRun) -> str:
    return "\n".join(f"{alias}: {mirror_records.take_command(run.settings.mirror_failures, run.run_id)}"
                     for alias in run.aliases)


TAKE_RECORDS = Step("take the mirror's records of failed writes", take_records, preview=preview_records)
