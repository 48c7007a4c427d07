"""Plans in the route table: presets, explicit steps, the gate's settings, hooks, and the
problems a bad plan reports (rule and field named, like the rest of the table)."""

from __future__ import annotations

import tomllib

import pytest

from routing.table.loader import parse_table
from routing.table.plans import Gate, Hook, Step, parse_duration, preset_steps
from routing.table.problems import TableError
from routing.table.toml_writer import dumps
from routing.table.validate import validate

TABLE = """
default_action = { type = "forward", weights = { monolith = 1 } }
[target_groups.monolith]
url = "http://127.0.0.1:8001"
[target_groups.verify]
url = "http://127.0.0.1:8003"
[[rules]]
name = "checks"
priority = 20
conditions = [{ field = "path-pattern", values = ["/api/verification-checks*"] }]
action = { type = "forward", weights = { monolith = 100, verify = 0 } }
"""


def table_with(plan: str) -> str:
    return TABLE + "[plans.checks]\n" + plan


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("1.5h", 5400),
                                               ("250ms", 0.25), ("12", 12)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_presets_follow_codedeploy() -> None:
    assert preset_steps("canary 10% 5m") == (Step(10, 300), Step(100, 0))
    assert preset_steps("Linear 25%  every 1m") == (Step(25, 60), Step(50, 60), Step(75, 60),
                                                    Step(100, 0))
    with pytest.raises(ValueError, match="not a plan preset"):
        preset_steps("blue-green")


def test_a_plan_round_trips_through_the_writer() -> None:
    raw = tomllib.loads(table_with(
        'to = "verify"\nsteps = [{ weight = 5, bake = "2m" }, { weight = 100 }]\n'
        'min_requests = 300\nconfidence = 0.99\n'
        'hooks = [{ name = "contract", run = "contract -k send", timeout = "5m" }]\n'))
    table = parse_table(raw)
    validate(table)
    [plan] = table.plans
    assert plan.steps == (Step(5, 120), Step(100, 0))
    assert plan.gate == Gate(confidence=0.99, min_requests=300)
    assert plan.hooks == (Hook("contract", "contract -k send", 300.0),)
    assert parse_table(tomllib.loads(dumps(table))) == table


@pytest.mark.parametrize(("plan", "field", "message"), [
    ('to = "verify"\nsteps = "canary 150% 5m"\n', "plan.steps", "1..99"),
    ('to = "verify"\nsteps = [{ weight = 50 }, { weight = 100 }]\n', "plan.steps",
     "needs a bake time"),
    ('to = "verify"\nsteps = [{ weight = 50, bake = "1m" }, { weight = 20, bake = "1m" }]\n',
     "plan.steps", "must rise"),
    ('steps = "canary 10% 5m"\n', "plan.to", "target group"),
    ('to = "verify"\nsteps = "canary 10% 5m"\nconfidence = 1.5\n', "plan.confidence", "[0.5, 1)"),
    ('to = "verify"\nsteps = "canary 10% 5m"\nmin_requests = 2.5\n', "plan.min_requests",
     "a number"),
    ('to = "verify"\nsteps = "canary 10% 5m"\nbake = "5m"\n', "plan.bake", "not a plan setting"),
    ('to = "verify"\nsteps = "canary 10% 5m"\nhooks = [{ name = "x" }]\n', "plan.hooks[0]",
     "needs name and run"),
])
def test_a_bad_plan_names_its_field(plan: str, field: str, message: str) -> None:
    with pytest.raises(TableError) as error:
        parse_table(tomllib.loads(table_with(plan)))
    [problem] = error.value.problems
    assert (problem.rule, problem.field) == ("checks", field)
    assert message in problem.message


@pytest.mark.parametrize(("plan", "message"), [
    ('to = "send"\nsteps = "canary 10% 5m"\n', "'send' is not one of the rule's groups"),
])
def test_a_plan_must_fit_its_rule(plan: str, message: str) -> None:
    with pytest.raises(TableError, match=message):
        validate(parse_table(tomllib.loads(table_with(plan))))


def test_a_plan_for_a_rule_that_does_not_exist() -> None:
    raw = tomllib.loads(TABLE + '[plans.nope]\nto = "verify"\nsteps = "canary 10% 5m"\n')
    with pytest.raises(TableError, match="names no rule"):
        validate(parse_table(raw))
