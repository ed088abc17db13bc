"""Decisions are values (issue 8 item 3): a decision saved with its trace is read back with
the KB alone and explains exactly as the live one did, byte for byte; a decision of another
KB version, or with a missing, malformed or altered trace, is refused cleanly."""

from __future__ import annotations

import copy
import json
import random
import shutil
from pathlib import Path

import pytest
import yaml

from policykb.engine.decision import Decision, amount_dict
from policykb.errors import DecisionError, PolicyKBError
from policykb.explain import runners
from policykb.explain.trace import trace_json
from policykb.explain.why import explain
from policykb.money import fmt
from policykb.testing import build_application
from policykb.views import explanations_json, explanations_text

from conftest import EXAMPLES, KB_DIR, ROOT

CASE_FILES = sorted(KB_DIR.glob("cases/*.yaml"))
SECOND_POLICY = ROOT / "tests" / "fixtures" / "linhe-2024-7"


def all_cases(files: list[Path] = CASE_FILES) -> list[tuple[str, dict, dict]]:
    """(id, application, readings) of every YAML case that is not an input error."""
    out = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for n, case in enumerate(data.get("cases") or []):
            if "error" not in case:
                out.append((f"{path.stem}#{n}", build_application(case, data.get("defaults") or {}), case.get("readings") or {}))
    return out


CASES = all_cases()
SAMPLE = CASES[::10]  # every tenth case, in file order: the same sample on every run


def explained(decision: Decision) -> list[str]:
    """Every explanation of the decision, in every form: why for each outcome (text in both
    languages, JSON), the runners-up, the trace, the table."""
    out = []
    for o in decision.outcomes:
        found = explain(decision, o.item.id, o.subject)
        out += [explanations_text(found, "zh"), explanations_text(found, "en"), explanations_json(found)]
    answer = runners.answer(decision)
    out += [answer.to_text("zh"), answer.to_text("en"), json.dumps(answer.to_dict(), ensure_ascii=False)]
    out += [trace_json(decision), decision.to_text("zh"), decision.to_text("en"), decision.to_dot()]
    return out


def round_trip(kb, decision: Decision) -> Decision:
    return kb.decision_from_dict(json.loads(decision.to_json(include_trace=True)))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_explains_the_same_from_its_json(kb, example_documents, path):
    live = kb.evaluate(example_documents[path.stem])
    saved = round_trip(kb, live)
    assert not hasattr(saved, "evaluator") and not hasattr(live, "evaluator")
    assert saved.to_json(include_trace=True) == live.to_json(include_trace=True)
    assert explained(saved) == explained(live)


@pytest.mark.parametrize("case", SAMPLE, ids=lambda c: c[0])
def test_sampled_yaml_cases_explain_the_same_from_their_json(kb, case):
    _, document, readings = case
    live = kb.evaluate(document, readings)
    saved = round_trip(kb, live)
    assert explained(saved) == explained(live)


def test_a_second_policy_explains_the_same_from_its_json():
    """The fixture policy's cases (its own relations, readings and payers) round-trip too."""
    import policykb

    second = policykb.load(path=SECOND_POLICY)
    cases = all_cases(sorted(SECOND_POLICY.glob("cases/*.yaml")))
    assert cases
    for _, document, readings in cases:
        live = second.evaluate(document, readings)
        saved = second.decision_from_dict(json.loads(live.to_json(include_trace=True)))
        assert explained(saved) == explained(live)


def test_a_decision_of_one_policy_is_refused_by_another(kb):
    import policykb

    second = policykb.load(path=SECOND_POLICY)
    _, document, readings = all_cases(sorted(SECOND_POLICY.glob("cases/*.yaml")))[0]
    data = json.loads(second.evaluate(document, readings).to_json(include_trace=True))
    assert refused(kb, data).problems[0].where == "kb_version"


def test_the_sample_covers_every_case_file_and_relations(kb):
    assert len(SAMPLE) >= 40 and {c[0].split("#")[0] for c in SAMPLE} >= {"m01", "m23", "relations"} & {p.stem for p in CASE_FILES}


def test_python_bounds_are_what_the_json_says(kb, example_documents):
    """An outcome excluded after a cap (or by any relation) pays nothing in the JSON: its
    ``low``/``high`` say the same (the amount it would have paid stays in the event)."""
    seen = set()
    for _, document, readings in CASES + [(p.stem, example_documents[p.stem], {}) for p in EXAMPLES]:
        decision = kb.evaluate(document, readings)
        for o, row in zip(decision.outcomes, decision.to_dict()["outcomes"], strict=True):
            shown = (fmt(o.low) if o.low is not None else None, fmt(o.high) if o.high is not None else None)
            assert shown == (row["amount"]["min"], row["amount"]["max"]) == (amount_dict(o)["min"], amount_dict(o)["max"])
            events = decision.events(o)
            if o.status == "excluded" and any(e.kind == "group_cap" for e in events):
                seen.add("excluded_after_cap")
            if o.status == "excluded" and any(e.before and e.before[1] for e in events):
                seen.add("excluded_with_amount_before")
    assert seen == {"excluded_after_cap", "excluded_with_amount_before"}


# -- refusals -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_data(kb):
    document = json.loads((ROOT / "examples" / "precision-machinery-sme.json").read_text(encoding="utf-8"))
    return json.loads(kb.evaluate(document).to_json(include_trace=True))


def refused(kb, data) -> DecisionError:
    with pytest.raises(DecisionError) as caught:
        kb.decision_from_dict(data)
    assert caught.value.exit_code == 2 and len(str(caught.value)) < 400
    return caught.value


def test_another_kb_version_is_refused(kb, saved_data):
    data = copy.deepcopy(saved_data)
    data["kb_version"] = "0" * 64
    error = refused(kb, data)
    assert error.problems[0].where == "kb_version" and "evaluate the application again" in str(error)


def test_a_decision_without_its_trace_is_refused(kb, saved_data):
    data = {k: v for k, v in saved_data.items() if k != "trace"}
    assert "--trace" in str(refused(kb, data))
    data = copy.deepcopy(saved_data)
    del data["trace"]["graph"]
    assert "graph" in str(refused(kb, data))
    assert refused(kb, ["not", "a", "decision"]).problems[0].where == ""


@pytest.mark.parametrize(
    "tamper, where",
    [
        (lambda d: d["outcomes"][0].update(status="excluded"), "trace"),
        (lambda d: d["trace"]["application"]["facts"].pop(), "trace.facts"),
        (lambda d: d["trace"]["application"].update(year="soon"), "trace.application.year"),
        (lambda d: d["trace"]["graph"]["edges"].__setitem__(0, {"source": 1}), "trace.graph"),
        (lambda d: next(e for e in d["trace"]["graph"]["edges"] if e["kind"] == "acted")["event"].update(by="NOPE"), "trace.graph.edges"),
        (
            lambda d: next(e for e in d["trace"]["graph"]["edges"] if e["kind"] == "acted" and e["event"]["kind"] == "exclusive")[
                "event"
            ].update(winner=None),
            "trace.graph.edges",
        ),
        (lambda d: d["trace"]["firings"].append({"seq": "x"}), "trace.firings"),
        (lambda d: d["readings"].update({"I-01": "nonsense"}), "readings"),
    ],
)
def test_a_malformed_or_altered_trace_is_refused(kb, saved_data, tamper, where):
    data = copy.deepcopy(saved_data)
    tamper(data)
    assert refused(kb, data).problems[0].where.startswith(where)


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _leaves(v, path + (n,))
    else:
        yield path


def test_any_altered_value_is_refused_or_explained_never_a_crash(kb, saved_data):
    """Seeded mutations of single values: each decision is either refused with a
    DecisionError or read back and explained in full — no other exception escapes."""
    leaves = list(_leaves(saved_data))
    rng = random.Random(8)
    outcomes = {"refused": 0, "explained": 0}
    for _ in range(60):
        data = copy.deepcopy(saved_data)
        path = rng.choice(leaves)
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = rng.choice([None, 0, -1, "", "x" * 5, [], {}, True, {"decimal": "NaN"}, {"rival": [1, 2, 3, 4]}])
        try:
            decision = kb.decision_from_dict(data)
        except DecisionError:
            outcomes["refused"] += 1
            continue
        except PolicyKBError as exc:  # pragma: no cover - the assertion names it
            raise AssertionError(f"{path}: {type(exc).__name__} instead of DecisionError") from exc
        explained(decision)
        outcomes["explained"] += 1
    assert outcomes["refused"] > 30


# -- the command line ---------------------------------------------------------------------


def test_why_and_runners_up_explain_a_saved_decision(cli, tmp_path, monkeypatch):
    example = ROOT / "examples" / "software-firm.json"
    saved = tmp_path / "decision.json"
    assert cli("evaluate", example, "--format", "json", "--trace", "-o", saved).code == 0
    for argv in (["why", "m12.app_suzhou"], ["runners-up"]):
        for fmt_ in ("text", "json"):
            live = cli(*argv[:1], example, *argv[1:], "--format", fmt_, "--lang", "en")
            from_file = cli(*argv[:1], "--decision", saved, *argv[1:], "--format", fmt_, "--lang", "en")
            assert live.code == from_file.code == 0 and from_file.out == live.out
    assert "H-m12" in from_file.out
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(saved.read_bytes()), encoding="utf-8"))
    stdin = cli("why", "--decision", "-", "m12.app_suzhou", "--lang", "en")
    assert stdin.code == 0 and "H-m12" in stdin.out


def test_why_refuses_a_stale_or_incomplete_saved_decision(cli, tmp_path):
    example = ROOT / "examples" / "software-firm.json"
    plain = tmp_path / "plain.json"
    assert cli("evaluate", example, "--format", "json", "-o", plain).code == 0
    run = cli("why", "--decision", plain, "m12.app_suzhou")
    assert run.code == 2 and "--trace" in run.err and "Traceback" not in run.err
    data = json.loads(plain.read_text(encoding="utf-8"))
    data["kb_version"] = "f" * 64
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(data), encoding="utf-8")
    run = cli("runners-up", "--decision", stale)
    assert run.code == 2 and "kb_version" in run.err
    run = cli("why", "--decision", plain, "m12.app_suzhou", "--reading", "I-06=per_station")
    assert run.code == 2 and "--reading" in run.err
    assert cli("why", example, "m12.app_suzhou", "--decision", plain).code == 2


# -- payers and DOT ------------------------------------------------------------------------


def test_payer_names_come_from_the_kb(tmp_path, example_documents):
    import policykb

    folder = tmp_path / "kb"
    shutil.copytree(KB_DIR, folder, ignore=shutil.ignore_patterns("cases"))
    meta = folder / "policy.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace("suzhou: {zh: 苏州市, en: Suzhou}", "suzhou: {zh: 苏州市财政局, en: Suzhou Finance}"),
        encoding="utf-8",
    )
    kb = policykb.load(path=folder)
    assert kb.policy.payers["suzhou"].zh == "苏州市财政局"
    decision = kb.evaluate(example_documents["precision-machinery-sme"])
    assert set(decision.totals_by_payer()) == {"taicang", "suzhou"}
    assert "苏州市财政局" in decision.to_text("zh") and "Suzhou Finance" in decision.to_text("en")


def test_kb_graph_dot_labels_break_lines_once_escaped(cli):
    run = cli("kb", "graph", "--format", "dot")
    assert run.code == 0
    labels = [line for line in run.out.splitlines() if "label=" in line]
    assert any("\\n" in line for line in labels)  # DOT's own line break inside a label
    assert not any("\\\\n" in line for line in labels)  # never a backslash printed before an n
