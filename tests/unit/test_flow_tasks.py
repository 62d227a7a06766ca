"""The cutover, rollback and finalize tasks (one body, ``deploy.cli.run_flow``): what each prints, exactly."""

from types import SimpleNamespace

import pytest
from invoke import MockContext
from invoke.exceptions import Exit

import fabfile
import tasks
from deploy.errors import ConfigError
from deploy.flows import cutover, finalize, rollback

TABLE = ("STEP           RESULT  SECONDS\n"
         "-------------  ------  -------\n"
         "take the lock  done    1.2\n")


@pytest.fixture
def flows(monkeypatch):
    """Every flow and loader of tasks.py and fabfile.py faked: what each flow was given."""
    given = []

    def flow(settings, options, say):
        given.append((settings.env, options))
        if settings.env == "failing":
            raise ConfigError("refused")
        return SimpleNamespace(outcomes=[SimpleNamespace(name="take the lock", result="done", seconds=1.23)])

    def load(env, project_root, only_hosts=None):
        return SimpleNamespace(env=env or "last", only_hosts=only_hosts)

    # The tasks import their flow as they run: the flows' modules are where it is faked.
    for module, name in ((cutover, "run_cutover"), (rollback, "run_rollback"), (finalize, "run_finalize")):
        monkeypatch.setattr(module, name, flow)
    for module in (tasks, fabfile):
        monkeypatch.setattr(module, "load_for_rollback", load)
    monkeypatch.setattr(tasks, "load", load)
    return given


@pytest.mark.parametrize("task, done", [
    (tasks.cutover, "cutover of demo done: every host serves media from S3"),
    (tasks.rollback, "rollback of demo done: every host serves media from disk"),
    (tasks.finalize, "finalize of demo done: every host serves from and writes to the bucket only; "
                     "a rollback now downloads"),
])
def test_a_task_prints_the_step_table_then_its_done_line(flows, capsys, task, done):
    task(MockContext(), env="demo")
    assert capsys.readouterr().out == TABLE + done + "\n"


@pytest.mark.parametrize("task, name", [(tasks.cutover, "cutover"), (tasks.rollback, "rollback"),
                                        (tasks.finalize, "finalize")])
def test_a_dry_run_says_nothing_changed(flows, capsys, task, name):
    task(MockContext(), env="demo", dry_run=True, break_lock=True)
    assert capsys.readouterr().out == TABLE + f"{name} of demo previewed: nothing changed\n"
    assert flows[0][1].dry_run and flows[0][1].break_lock


def test_the_cutover_hands_on_every_option(flows):
    tasks.cutover(MockContext(), env="demo", checksum=True, accept_thumbnail_regeneration=True)
    options = flows[0][1]
    assert options.checksum and options.accept_thumbnail_regeneration and not options.dry_run


def test_the_rollback_defaults_to_the_last_runs_environment(flows, capsys):
    tasks.rollback(MockContext())
    assert capsys.readouterr().out.endswith("rollback of last done: every host serves media from disk\n")


def test_fabs_rollback_prints_the_step_table_then_its_done_line(flows, capsys):
    fabfile.rollback(MockContext(), env="demo")
    assert capsys.readouterr().out == TABLE + "rollback of demo done: every host serves media from disk\n"


def test_fabs_rollback_of_one_host_says_that_host_in_its_done_line(flows, capsys):
    context = MockContext()
    context.original_host = "web1"  # fab -H web1: one call a host
    fabfile.rollback(context, env="demo")
    assert capsys.readouterr().out == TABLE + "rollback of demo done: web1 serves media from disk\n"
    assert flows == [("demo", flows[0][1])]


def test_a_refused_flow_exits_1_with_its_message(flows, capsys):
    with pytest.raises(Exit) as exit_:
        tasks.cutover(MockContext(), env="failing")
    assert (exit_.value.code, exit_.value.message) == (1, "error: refused")
    assert capsys.readouterr().out == ""
