"""Mirror mode's pure parts: which mode a run makes, the mirror's records, what a rehearsal phase copied."""

from deploy.flows.mode import cutover_mode, rollback_mode
from deploy.engine.journal import record_of
from deploy.rehearsal.report import files_moved
from deploy.site.facts import mirror_records


def test_mirror_mode_needs_the_switch_on_every_host_and_falls_back_to_copy_naming_the_hosts_without():
    assert cutover_mode("mirror", {"web1": False, "web2": True}, "MEDIA_MIRROR")[0] == "mirror"
    assert "already on: web2" in cutover_mode("mirror", {"web1": False, "web2": True}, "MEDIA_MIRROR")[1]
    mode, why = cutover_mode("mirror", {"web1": False, "web2": None}, "MEDIA_MIRROR")
    assert mode == "copy" and why.startswith("copy, not mirror: no MEDIA_MIRROR switch in the settings of web2")
    mode, why = cutover_mode("copy", {"web1": False, "web2": False}, "MEDIA_MIRROR")
    assert mode == "copy" and "CHANGEOVER=mirror closes the window" in why
    assert cutover_mode("copy", {"web1": None}, "MEDIA_MIRROR") == ("copy", "copy (CHANGEOVER=copy)")


def test_a_rollback_is_a_mirror_rollback_only_when_the_mirror_is_on_everywhere():
    assert rollback_mode({"web1": True, "web2": True}, "MEDIA_MIRROR")[0] == "mirror"
    assert rollback_mode({"web1": True, "web2": False}, "MEDIA_MIRROR") == ("copy", "copy (MEDIA_MIRROR on only on web1)")
    assert rollback_mode({"web1": None}, "MEDIA_MIRROR") == ("copy", "copy")


def test_the_records_are_taken_aside_and_read_a_torn_line_counted_not_fatal():
    command = mirror_records.take_command("~/.media-cutover/mirror-failures.jsonl", "RUN")
    assert command.startswith('f="$HOME"/.media-cutover/mirror-failures.jsonl; t="$f.taken-RUN"; ')
    output = (mirror_records.MARKER + '{"time": 1.5, "operation": "save", "name": "uploads/a b.jpg", '
              '"secondary": "S3Storage", "error": "Read timeout"}\n' + mirror_records.MARKER + '{"name": "x\n'
              "some other line\n")
    found, torn = mirror_records.parse(output, "web2")
    assert found == [mirror_records.MirrorFailure("web2", "uploads/a b.jpg", "save", "S3Storage", "Read timeout", 1.5)]
    assert torn == 1
    said = mirror_records.summary(found, torn, "~/f.jsonl")
    assert said.startswith("1 failed writes to the mirror's second storage recorded (1 to S3Storage): "
                           "web2: save uploads/a b.jpg (Read timeout)")
    assert "1 lines could not be read" in said
    assert mirror_records.summary([], 0, "~/f.jsonl").startswith("no failed write")


def test_a_phase_counts_every_copy_it_made_either_way():
    counts = [record_of("counts", fields) for fields in (
        {"step": "mode", "mode": "mirror"}, {"step": "upload", "transferred": 3},
        {"step": "pass", "copied": 2}, {"step": "pass", "copied": None}, {"step": "final verify", "copied": 1},
        {"step": "verify", "transferred": 99})]
    assert files_moved(counts) == 6
