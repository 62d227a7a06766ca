"""Run.on_every_host: the hosts at once, results in order, every failing host named."""

import time
from types import SimpleNamespace

import pytest

from deploy.engine.run import Run
from deploy.errors import PreflightError, RemoteError


class FakeRun:
    on_every_host = Run.on_every_host

    def __init__(self, aliases):
        self.settings = SimpleNamespace(host_aliases=tuple(aliases))
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

    with pytest.raises(RemoteError) as raised:
        FakeRun(["web1", "web2", "web3"]).on_every_host(action)
    assert str(raised.value) == "web1: manage.py check failed\nweb3: manage.py check failed"
    assert finished == ["web2"]


def test_only_the_given_hosts_and_our_own_bugs_keep_their_traceback():
    assert FakeRun(["web1", "web2"]).on_every_host(lambda run, alias: alias, ["web2"]) == ["web2"]
    with pytest.raises(ZeroDivisionError):
        FakeRun(["web1"]).on_every_host(lambda run, alias: 1 / 0)
    def refuse(run, alias):
        raise PreflightError(f"{alias}: no django-storages")

    with pytest.raises(PreflightError, match="web1: no django-storages"):
        FakeRun(["web1"]).on_every_host(refuse)
