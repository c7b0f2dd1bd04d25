"""The condition language of SPEC section 5, and the templates of step config."""

from __future__ import annotations

import pytest

from actors.steps.expressions import ExpressionError, evaluate, parse
from actors.steps.templates import TemplateUnresolved, render

INPUT = {"amount": 120, "tags": ["vip"], "user": {"name": "ann"}, "flag": False}
STATE = {"approved": True, "score": 0.7, "empty": {}, "none": [], "amount": 5}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("input.amount > 100", True),
        ("amount > 100", False),  # a bare path looks in state first
        ("input.amount >= 120 and state.approved", True),
        ("not approved", False),
        ("'vip' in tags", True),
        ('"x" not in tags', True),
        ("score < 0.5 or user.name == 'ann'", True),
        ("empty", False),
        ("none", False),
        ("approved", True),
        ("missing == null", True),
        ("missing", False),
        ("input.amount in [1, 120]", True),
        ("(input.amount > 1) and not (score > 1)", True),
        ("input.amount > 'a'", False),  # unorderable values never compare true
        ("missing > 3", False),
        ("flag == false", True),
        ("score != 0.7", False),
        ("-1 < score", True),
        ("'nn' in user.name", True),
        ("true and (false or not false)", True),
    ],
)
def test_expressions_evaluate_over_input_and_state(expression, expected):
    assert evaluate(expression, INPUT, STATE) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "   ",
        "amount >",
        "__import__('os').system('true')",
        "a + b",
        "((a)",
        "a == == b",
        "[1, 2",
        "a and",
        "lambda: 1",
        "x" * 3000,
        "(" * 100 + "a" + ")" * 100,
        "not " * 100 + "a",
    ],
)
def test_invalid_expressions_are_refused(expression):
    with pytest.raises(ExpressionError):
        parse(expression)


def test_templates_keep_types_and_render_text():
    rendered = render(
        {"a": "{{input.n}}", "b": "hi {{ user.name }}, n={{n}}", "c": ["{{state.x}}"]},
        {"n": 5, "user": {"name": "ann"}},
        {"x": [1], "n": 7},
    )
    assert rendered == {"a": 5, "b": "hi ann, n=7", "c": [[1]]}


def test_an_unresolved_template_names_its_path():
    with pytest.raises(TemplateUnresolved) as caught:
        render({"deep": ["ok", "{{state.nope.x}}"]}, {}, {"nope": {}})
    assert caught.value.path == "state.nope.x"
