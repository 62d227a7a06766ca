"""The runner's undo and its summary: what was put back, what failed, what could not be confirmed."""

import pytest

from deploy.engine.runner import Runner, Step
from deploy.errors import HealthError, RemoteError, StepFailed, UndoUnconfirmed


class Journal(list):
    def record(self, event):
        self.append((event.event_name(), event.fields()))


def failing(run):
    raise HealthError("web1: http://127.0.0.1:18101/nope did not report storage=s3 within 10 s")


def execute(*steps):
    journal, said = Journal(), []
    runner = Runner(journal, said.append)
    with pytest.raises(StepFailed) as error:
        runner.execute([*steps, Step("health", failing)], run=None)
    return str(error.value), error.value, journal, said


def unconfirmed_undo(run):
    raise UndoUnconfirmed(["web1: settings restored byte-identical from local_settings.py.x.bak",
                           "web1: reloaded back to disk"],
                          ["web1's health on disk (http://127.0.0.1:18101/nope answered HTTP 404): check HEALTH_URL"])


def test_an_undo_that_puts_all_back_says_every_host_is_back():
    message, error, _, _ = execute(Step("flip", lambda run: "flipped", undo=lambda run: "web1: settings restored"))
    assert message.splitlines() == [
        "step 'health' failed: web1: http://127.0.0.1:18101/nope did not report storage=s3 within 10 s",
        "undone: flip", "every host is back as it was before the run"]
    assert error.unconfirmed == [] and error.undo_failures == []


def test_an_undo_that_could_not_confirm_says_what_it_restored_and_what_not_and_why_without_failure():
    message, error, journal, said = execute(
        Step("lock", lambda run: "taken", undo=lambda run: "lock released"),
        Step("flip", lambda run: "flipped", undo=lambda run: "web1: settings already as before"),
        Step("reload", lambda run: "reloaded", undo=unconfirmed_undo))
    assert "UNDO FAILED" not in message and "every host is back" not in message
    assert message.splitlines()[1:] == [
        "undone: reload, flip, lock",
        "restored: web1: settings restored byte-identical from local_settings.py.x.bak; web1: reloaded back to disk",
        "not confirmed: web1's health on disk (http://127.0.0.1:18101/nope answered HTTP 404): check HEALTH_URL",
        "everything else is back as it was before the run; only the above could not be seen"]
    assert error.undone == ["reload", "flip", "lock"] and error.undo_failures == []
    undo = [fields for event, fields in journal if event == "undo" and fields["step"] == "reload"]
    assert undo[0]["result"] == "undone" and undo[0]["unconfirmed"] == error.unconfirmed
    assert "    web1: reloaded back to disk\n    not confirmed: web1's health on disk" in "\n".join(said)


def test_a_real_undo_failure_is_still_undo_failed_and_names_what_could_not_be_confirmed_too():
    def broken(run):
        raise RemoteError("web2: restoring ~/site/local_settings.py failed (exit 1)")

    message, error, _, _ = execute(Step("flip", lambda run: "flipped", undo=broken),
                                   Step("reload", lambda run: "reloaded", undo=unconfirmed_undo))
    lines = message.splitlines()
    assert lines[1] == "undone: reload"
    assert lines[2] == "UNDO FAILED, the environment needs a look: flip: web2: restoring ~/site/local_settings.py " \
                       "failed (exit 1)"
    assert lines[3].startswith("not confirmed either: web1's health on disk")


def test_nothing_to_undo_says_nothing_had_been_changed():
    message, _, _, _ = execute(Step("preflight", lambda run: "fine"))
    assert message.splitlines()[-1] == "nothing had been changed"


# --- the store faults a step retried (deploy.retry: the run's tally) ---------------------------------

def test_each_steps_store_faults_are_journaled_as_a_record_and_said_under_its_summary(tmp_path):
    from types import SimpleNamespace

    from deploy.engine.counts import RetryCounts
    from deploy.engine.journal import Journal as RunJournal, read_entries
    from deploy.retry import FaultTally

    def uploads(run):
        run.faults.add("503 SlowDown", 3)
        run.faults.add("ConnectionResetError")
        return "400 files uploaded"

    def verifies(run):
        return "every file there"

    def reloads(run):
        run.faults.add("503 SlowDown")
        raise RemoteError("web1: reload failed")

    journal, said = RunJournal(tmp_path, "run-1", "demo", "cutover"), []
    run = SimpleNamespace(faults=FaultTally())
    with pytest.raises(StepFailed):
        Runner(journal, said.append).execute([Step("upload media", uploads), Step("verify", verifies),
                                              Step("reload", reloads, undo=lambda run: run.faults.add("500") or
                                                   "back")], run)
    records = [entry.event for entry in read_entries(journal.path) if isinstance(entry.event, RetryCounts)]
    assert records == [RetryCounts(step="upload media", retries={"503 SlowDown": 3, "ConnectionResetError": 1}),
                       RetryCounts(step="reload", retries={"503 SlowDown": 1}),
                       RetryCounts(step="undo reload", retries={"500": 1})]
    assert "    400 files uploaded\n    store faults retried: 3 × 503 SlowDown, 1 × connection reset" in said
    assert "    store faults retried: 1 × 503 SlowDown" in said          # the failed step's, before its undo
    assert "    back\n    store faults retried: 1 × 500" in said
    assert "    every file there" in said                                # a step without faults says nothing of them
