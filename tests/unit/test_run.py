"""Run: on_every_host (the hosts at once, results in order, every failing host named in HostsFailed), targets,
and what it closes at its end."""

import time

import pytest

from deploy.config.load import load_settings
from deploy.engine.run import Options, Run
from deploy.errors import HostsFailed, PreflightError, RemoteError

from .configs import MINIMAL


class FakeRun:
    on_every_host = Run.on_every_host

    def __init__(self, aliases):
        self.aliases = tuple(aliases)
        self.opened = []

    def connection(self, alias):
        self.opened.append(alias)
        return alias


def test_results_come_in_host_order_and_the_hosts_run_at_once():
    running, most = set(), []

    def action(run, alias):
        running.add(alias)
        most.append(len(running))
        time.sleep(0.2 if alias == "web1" else 0.05)
        running.discard(alias)
        return f"{alias} ok"

    run = FakeRun(["web1", "web2", "web3"])
    assert run.on_every_host(action) == ["web1 ok", "web2 ok", "web3 ok"]
    assert max(most) > 1 and run.opened == ["web1", "web2", "web3"]


def test_every_failing_host_is_named_after_all_have_run():
    finished = []

    def action(run, alias):
        if alias != "web2":
            raise RemoteError(f"{alias}: manage.py check failed")
        time.sleep(0.1)
        finished.append(alias)

    with pytest.raises(HostsFailed) as raised:
        FakeRun(["web1", "web2", "web3"]).on_every_host(action)
    assert str(raised.value) == "web1: manage.py check failed\nweb3: manage.py check failed"
    assert finished == ["web2"]
    # Like fabric's GroupException: every host's outcome, each failure with its own kind.
    results = raised.value.results
    assert list(results) == ["web1", "web2", "web3"] and results["web2"] is None
    assert all(isinstance(results[alias], RemoteError) for alias in ("web1", "web3"))
    assert list(raised.value.failures) == ["web1", "web3"]


def test_only_the_given_hosts_and_our_own_bugs_keep_their_traceback():
    assert FakeRun(["web1", "web2"]).on_every_host(lambda run, alias: alias, ["web2"]) == ["web2"]
    with pytest.raises(ZeroDivisionError):
        FakeRun(["web1"]).on_every_host(lambda run, alias: 1 / 0)
    def refuse(run, alias):
        raise PreflightError(f"{alias}: no django-storages")

    with pytest.raises(HostsFailed, match="web1: no django-storages") as raised:
        FakeRun(["web1"]).on_every_host(refuse)
    assert isinstance(raised.value.results["web1"], PreflightError)


def test_an_error_whose_constructor_takes_other_arguments_is_carried_as_it_is():
    """The old re-raise, type(first failure)(joined messages), broke on such an error."""
    class Refused(PreflightError):
        def __init__(self, host, why):
            super().__init__(f"{host}: {why}")

    def refuse(run, alias):
        raise Refused(alias, "no room")

    with pytest.raises(HostsFailed, match="web1: no room\nweb2: no room") as raised:
        FakeRun(["web1", "web2"]).on_every_host(refuse)
    assert all(type(error) is Refused for error in raised.value.results.values())


def test_the_hosts_the_rollback_could_not_reach_leave_the_targets_not_the_settings(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(MINIMAL.replace("HOSTS=web1", "HOSTS=web1,web2,web3")
                                                  + "AWS_ACCESS_KEY_ID=AKIA\nAWS_SECRET_ACCESS_KEY=s\n")
    settings = load_settings("demo", tmp_path, {})
    run = Run(settings, Options(), journal=None, say=print, run_id="r", state=None)
    assert run.aliases == ("web1", "web2", "web3")
    run.unreachable = [("web2", "web2: SSH login failed")]
    assert run.aliases == ("web1", "web3") and [host.alias for host in run.targets] == ["web1", "web3"]
    assert run.settings is settings and settings.host_aliases == ("web1", "web2", "web3")


def test_what_a_step_opened_for_the_run_is_closed_once_at_its_end_before_the_connections():
    closed = []

    class Opened:
        def __init__(self, name):
            self.name = name

        def close(self):
            closed.append(self.name)

    run = Run(settings=None, options=Options(), journal=None, say=print, run_id="r", state=None)
    run._connections["web1"] = Opened("connection web1")
    run.close_at_end(Opened("the database's feed"))
    run.close()
    run.close()
    assert closed == ["the database's feed", "connection web1"]
