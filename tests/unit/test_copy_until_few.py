"""The passes before the flip go on until one finds few files: the pass before the reload then carries seconds."""

from types import SimpleNamespace

from deploy.flows.state import FlowState
from deploy.flows.steps import FEW_CHANGED, MOST_PASSES, copy_until_few


def passes_finding(*counts, tool="rclone"):
    run = SimpleNamespace(settings=SimpleNamespace(sync_tool=tool), state=FlowState())
    found = list(counts)

    def copy_missing(run):
        run.state.passes.last_pass_listed = found.pop(0)
        return f"{run.state.passes.last_pass_listed} changed"
    return run, SimpleNamespace(copy_missing=copy_missing)


def test_one_pass_when_it_finds_few():
    run, to = passes_finding(FEW_CHANGED, 999)
    assert copy_until_few(run, to) == f"{FEW_CHANGED} changed"


def test_again_while_a_pass_finds_many_and_no_more_than_the_most():
    run, to = passes_finding(6000, 400, 30, 999)
    assert copy_until_few(run, to).splitlines() == ["6000 changed", "400 changed", "30 changed"]
    run, to = passes_finding(*[5000] * (MOST_PASSES + 2))
    assert len(copy_until_few(run, to).splitlines()) == MOST_PASSES


def test_a_tool_without_lists_makes_one_full_pass():
    run, to = passes_finding(6000, 400, tool="s5cmd")
    assert copy_until_few(run, to) == "6000 changed"


def test_a_pass_that_says_no_count_is_not_taken_for_the_previous_ones():
    run, to = passes_finding(6000)
    calls = []

    def full_pass(run):   # e.g. no mark yet: a full pass, which leaves the count alone
        calls.append(run.state.passes.last_pass_listed)
        return "full pass"
    run.state.passes.last_pass_listed = 6000
    to.copy_missing = full_pass
    assert copy_until_few(run, to) == "full pass" and calls == [None]
