"""The journal's events as typed records (deploy.engine.events, deploy.engine.counts): lines as the runs under
runs/ hold them read back as their records and are written again byte for byte; an older journal's lines too."""

import json

from deploy.engine import counts
from deploy.engine.events import Counts, Finished, Healthy, HostDone, Start, StepStarted, UndoFinished, Unknown
from deploy.engine.journal import Journal, parse, read_entries, record_of

HEAD = '{"time": 1796599984.6965685, "run_id": "20261206T233252Z-cad7e0", "env": "sandbox", "kind": "cutover", '

# One line of every kind, as the cutovers and rollbacks of the sandbox wrote them (runs/*.jsonl).
LINES = [HEAD + tail for tail in (
    '"event": "start", "operator": "root@vm", "pid": 6885, "dry_run": false}',
    '"event": "step", "step": "preflight: hosts and settings files", "result": "started"}',
    '"event": "step", "step": "preflight: hosts and settings files", "result": "ok", "seconds": 0.557, '
    '"summary": "2 hosts reachable", "peak_mb": 57.6}',
    '"event": "undo", "step": "reload the sites", "result": "undone", "seconds": 3.457, '
    '"summary": "web1: settings restored", "peak_mb": 74.0}',
    '"event": "undo", "step": "reload the sites", "result": "undone", "seconds": 9.161, "summary": "web1: restored", '
    '"peak_mb": null, "unconfirmed": ["web1\'s health on disk (http://127.0.0.1:18101/nope answered HTTP 404)"]}',
    '"event": "end", "result": "failed: step \'preflight: media host and lock\' failed: web1: locked"}',
    '"event": "host", "step": "flip", "host": "web1", "start": 1796599987.4761317, "result": "ok", '
    '"summary": "web1: USE_S3 = True"}',
    '"event": "host", "step": "health", "host": "web2", "seconds_to_healthy": 1.64, "healthy_at": 1796599989.5524983}',
    '"event": "host", "step": "health", "host": "web2", "seconds_to_healthy": 2.113, "mirror": true}',
    '"event": "counts", "step": "mode", "mode": "copy"}',
    '"event": "counts", "step": "upload", "files": 400, "bytes": 25615425, "problems": 0, "transferred": 400, '
    '"transferred_bytes": 25615425, "checked": 0, "errors": 0, "seconds": 1.787707752000017}',
    '"event": "counts", "step": "download", "overwrite": true, "transferred": 42, "transferred_bytes": 23544, '
    '"seconds": 0.5577981610000506}',
    '"event": "counts", "step": "verify", "method": "accounting", "local": 400, "transferred": 400, "checked": 0, '
    '"errors": 0}',
    '"event": "counts", "step": "verify", "method": "listing", "local": 400, "remote": 400, "matched": 400, '
    '"extra": 0, "md5_checked": 400, "newer": 0}',
    '"event": "counts", "step": "references", "references": 400, "missing_on_disk": 0, "missing_everywhere": 0}',
    '"event": "counts", "step": "references", "references": 406, "missing_on_disk": 0, "missing_everywhere": 0, '
    '"path_references": 6, "path_fields": {"gallery.Photo.path": 6}}',
    '"event": "counts", "step": "sorl-thumbnail", "regenerate": 12, "sources": 4, "requests": {"/gallery/": 3}, '
    '"dead": 1, "dead_sample": ["cache/ab/cd/x.jpg"], "orphaned_rows": 0}',
    '"event": "counts", "step": "easy_thumbnails rows", "command": "migrate-easy", "changed": true, '
    '"record": "~/.media-cutover/thumbnails/r-sandbox-easy-rows.json", "sources_moved": 10, "thumbnails_moved": 20}',
    '"event": "counts", "step": "pass", "direction": "upload", "listed": 0, "copied": 0, "find_seconds": 0.183, '
    '"seconds": 0.217, "problems": 0}',
    '"event": "counts", "step": "mirror records", "failures": 0, "unreadable": 0, "names": []}',
    '"event": "counts", "step": "final verify", "local": 400, "remote": 400, "matched": 400, "extra": 0, '
    '"copied": 0, "arrived": 0}',
    '"event": "counts", "step": "reverse verify", "on_disk": 400, "in_bucket": 400, "not_on_disk": 0, "copied": 0, '
    '"arrived": 0}',
)]


def test_every_line_of_a_journal_reads_as_its_record_and_is_written_again_byte_for_byte():
    for text in LINES:
        entry = parse(json.loads(text))
        assert not isinstance(entry.event, Unknown) and type(entry.event) is not Counts, text
        assert json.dumps(entry.line()) == text


def test_the_records_say_what_the_lines_held():
    entries = [parse(json.loads(text)) for text in LINES]
    by_kind = {type(entry.event): entry.event for entry in entries}
    assert entries[0].time == 1796599984.6965685 and entries[0].run_id == "20261206T233252Z-cad7e0"
    assert by_kind[Start].dry_run is False and by_kind[StepStarted].step == "preflight: hosts and settings files"
    assert by_kind[UndoFinished].unconfirmed == ["web1's health on disk (http://127.0.0.1:18101/nope answered "
                                                 "HTTP 404)"]
    assert by_kind[HostDone].summary == "web1: USE_S3 = True"
    assert by_kind[counts.UploadCounts].transferred == 400 and by_kind[counts.PassCounts].find_seconds == 0.183
    assert by_kind[counts.AccountingVerifyCounts].method == "accounting"
    assert by_kind[counts.ListingVerifyCounts].md5_checked == 400
    assert by_kind[counts.EasyRowsCounts].counts == {"sources_moved": 10, "thumbnails_moved": 20}
    healthy = [entry.event for entry in entries if isinstance(entry.event, Healthy)]
    assert [(event.healthy_at, event.mirror) for event in healthy] == [(1796599989.5524983, None), (None, True)]


def test_what_the_steps_record_reads_back_as_the_same_records(tmp_path):
    journal = Journal(tmp_path, "run-1", "demo", "cutover", dry_run=True)
    written = [counts.PassCounts(direction="download", listed=3, copied=None, find_seconds=0.5, seconds=1.0,
                                 problems=0),
               counts.EasyRowsCounts(command="restore-easy", changed=True, record="~/r.json",
                                     counts={"sources_restored": 12}),
               UndoFinished(step="flip", result="undone", seconds=0.2, summary="", peak_mb=None),
               Healthy(host="web1", seconds_to_healthy=1.5, healthy_at=1000.0)]
    for event in written:
        journal.record(event)
    entries = read_entries(journal.path)
    assert isinstance(entries[0].event, Start) and entries[0].event.dry_run is True
    assert [entry.event for entry in entries[1:]] == written
    lines = journal.path.read_text().splitlines()
    assert '"unconfirmed"' not in lines[3] and '"mirror"' not in lines[4]  # left out when not set, as before


def test_an_older_journals_lines_read_and_are_written_back_as_they_were():
    # before the verify had a method, a pass its problems; a step and an event this version does not know
    older = [{"step": "verify", "local": 10, "remote": 10, "matched": 10, "extra": 0, "md5_checked": 0},
             {"step": "pass", "direction": "upload", "listed": 2, "copied": 2, "seconds": 0.1, "kind_of": "x"},
             {"step": "thumbnails made", "made": 3},
             {"step": "references", "references": 400, "missing_on_disk": 0, "missing_everywhere": 0}]
    records = [record_of("counts", fields) for fields in older]
    assert isinstance(records[3], counts.ReferenceCounts) and records[3].path_references is None  # before the paths
    assert isinstance(records[0], counts.ListingVerifyCounts) and records[0].newer is None
    assert isinstance(records[1], counts.PassCounts) and records[1].problems is None and records[1].copied == 2
    assert type(records[2]) is Counts and records[2].step == "thumbnails made"
    assert [record.fields() for record in records] == older
    other = record_of("paused", {"why": "operator"})
    assert isinstance(other, Unknown) and (other.event_name(), other.fields()) == ("paused", {"why": "operator"})
    started = record_of("undo", {"step": "flip", "result": "started"})
    assert not isinstance(started, Finished) and started.EVENT == "undo"


def test_a_steps_store_faults_read_back_as_their_record_whatever_the_step():
    line = json.loads(HEAD + '"event": "counts", "step": "upload media", "retries": {"503 SlowDown": 3, '
                             '"ConnectionResetError": 1}}')
    entry = parse(line)
    assert entry.event == counts.RetryCounts(step="upload media", retries={"503 SlowDown": 3,
                                                                           "ConnectionResetError": 1})
    assert entry.line() == line
