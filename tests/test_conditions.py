"""The plain-Python condition evaluation is Kleene's three-valued logic: `all` and `any` over
every mix of true, false and unknown parts, nested, through readings, and the fields an
unknown verdict waits for."""

from __future__ import annotations

import itertools

import pytest

from policykb.kb import conditions as cond
from policykb.kb.model import ALWAYS, All, Any_, Compare, Switch

# Kleene's order: false < unknown < true; `all` is the least of its parts, `any` the greatest.
RANK = {False: 0, None: 1, True: 2}
VALUES = (True, False, None)


def kleene_all(verdicts):
    return min(verdicts, key=RANK.__getitem__, default=True)


def kleene_any(verdicts):
    return max(verdicts, key=RANK.__getitem__, default=False)


def part(name: str, verdict: bool | None) -> tuple[Compare, dict]:
    """A comparison ``name == 1`` and the value that makes it true, false or unknown (absent)."""
    return Compare(name, "eq", 1, f"{name} is 1"), ({name: 1} if verdict else {} if verdict is None else {name: 0})


def build(kind, verdicts):
    parts, values = [], {}
    for index, verdict in enumerate(verdicts):
        compare, value = part(f"f{index}", verdict)
        parts.append(compare)
        values.update(value)
    return kind(tuple(parts)), values.get


COMBINATIONS = [c for n in (1, 2, 3) for c in itertools.product(VALUES, repeat=n)]


@pytest.mark.parametrize("verdicts", COMBINATIONS, ids=str)
def test_any_is_true_if_one_part_is_true_else_unknown_if_one_is_unknown(verdicts):
    node, get = build(Any_, verdicts)
    assert cond.holds(node, get) is kleene_any(verdicts)
    # every part is reported, in order, with its own verdict — also after a decisive one
    assert [c.verdict for c in cond.checks(node, get)] == list(verdicts)


@pytest.mark.parametrize("verdicts", COMBINATIONS, ids=str)
def test_all_is_false_if_one_part_is_false_else_unknown_if_one_is_unknown(verdicts):
    node, get = build(All, verdicts)
    assert cond.holds(node, get) is kleene_all(verdicts)
    assert [c.verdict for c in cond.checks(node, get)] == list(verdicts)


@pytest.mark.parametrize("left,right", list(itertools.product(VALUES, repeat=2)), ids=str)
def test_a_disjunction_inside_a_conjunction(left, right):
    """(f0 or f1) and f2, with f2 true: the conjunction takes the disjunction's verdict."""
    a, va = part("f0", left)
    b, vb = part("f1", right)
    c, vc = part("f2", True)
    node = All((Any_((a, b)), c))
    values = {**va, **vb, **vc}
    assert cond.holds(node, values.get) is kleene_any((left, right))


def test_an_unknown_disjunction_names_the_fields_it_waits_for():
    node, get = build(Any_, (False, None, None))
    assert cond.holds(node, get) is None
    assert cond.unknown_fields(node, get) == ["f1", "f2"]
    decided, get = build(Any_, (None, True))
    assert cond.unknown_fields(decided, get) == []


def test_a_comparison_with_a_missing_reference_field_is_unknown():
    node = Any_((Compare("used", "lte", None, "used ≤ granted", ref="granted"), part("f1", False)[0]))
    get = {"used": 5, "f1": 0}.get
    assert cond.holds(node, get) is None
    assert cond.unknown_fields(node, get) == ["granted"]
    assert cond.holds(node, {"used": 5, "granted": 5, "f1": 0}.get) is True


def test_a_reading_that_drops_one_alternative_makes_the_disjunction_always_hold():
    dropped = Switch("I-99", {"strict": part("f0", True)[0], "lenient": ALWAYS})
    node = Any_((dropped, part("f1", False)[0]))
    assert cond.resolve(node, {"I-99": "lenient"}) is ALWAYS
    strict = cond.resolve(node, {"I-99": "strict"})
    assert strict == Any_((part("f0", True)[0], part("f1", False)[0]))
    assert cond.holds(strict, {"f0": 0, "f1": 0}.get) is False
    # the analysis sees both cases of the switch, whichever reading is chosen
    assert cond.fields(node) == ["f0", "f1"]


def test_a_reading_that_drops_a_requirement_leaves_the_rest_of_the_conjunction():
    dropped = Switch("I-99", {"strict": part("f0", True)[0], "lenient": ALWAYS})
    node = All((dropped, part("f1", True)[0]))
    assert cond.resolve(node, {"I-99": "lenient"}) == All((part("f1", True)[0],))
    assert cond.resolve(node, {"I-99": "strict"}) == All((part("f0", True)[0], part("f1", True)[0]))
    # a conjunction whose every part is dropped is the empty requirement itself
    assert cond.resolve(All((dropped,)), {"I-99": "lenient"}) is ALWAYS


def test_the_empty_requirement_holds_alone_and_decides_a_disjunction():
    assert cond.holds(ALWAYS, {}.get) is True
    node = Any_((part("f0", None)[0], ALWAYS))  # as written, before resolve() folds it away
    assert cond.holds(node, {}.get) is True and cond.unknown_fields(node, {}.get) == []


def test_an_unresolved_switch_is_refused_by_the_evaluation():
    node = Any_((Switch("I-99", {"a": ALWAYS}),))
    with pytest.raises(TypeError, match="not a resolved condition"):
        cond.holds(node, {}.get)


@pytest.mark.parametrize(
    "op,left,right,expected",
    [
        ("gte", 3, 3, True),
        ("gt", 3, 3, False),
        ("lte", 3, 3, True),
        ("lt", 3, 3, False),
        ("ne", 3, 3, False),
        ("in", "a", ("a", "b"), True),
        ("in", "c", ("a", "b"), False),
    ],
)
def test_each_operator_at_its_boundary(op, left, right, expected):
    assert cond.compare(op, left, right) is expected


def test_an_unknown_operator_is_an_error():
    with pytest.raises(ValueError, match="unknown operator 'approx'"):
        cond.compare("approx", 1, 1)
