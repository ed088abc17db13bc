"""The application schema: generated from the vocabulary, accepts the bundled examples,
rejects malformed input with the path of the bad field, and the fast validator agrees
with the full one."""

from __future__ import annotations

import copy
import json
import random

import jsonschema
import pytest

from policykb.engine.application import Validator, parse_application
from policykb.engine.documents import parse_text
from policykb.engine.synthetic import Generator
from policykb.errors import InputError


def test_schema_is_valid_draft7(kb):
    jsonschema.Draft7Validator.check_schema(kb.schema())


def test_schema_lists_every_fact_type_and_field(kb, policy):
    schema = kb.schema()
    assert set(schema["definitions"]["fact"]["properties"]["type"]["enum"]) == set(policy.vocabulary.fact_types)
    for name, ft in policy.vocabulary.fact_types.items():
        props = schema["definitions"][f"fact.{name}"]["properties"]
        assert set(ft.fields) <= set(props)
        assert {"type", "subject", "date", "note"} <= set(props)
    required = set(schema["definitions"]["applicant"]["required"])
    assert {"id", "name", "kind", "registered_in_taicang", "independent_legal_person", "industrial", "size"} <= required


def test_bundled_examples_are_valid(kb, example_documents):
    validator = jsonschema.Draft7Validator(kb.schema())
    assert len(example_documents) >= 6
    for name, doc in example_documents.items():
        errors = list(validator.iter_errors(doc))
        assert errors == [], name
        assert Validator(kb.policy).problems(doc) == [], name


MALFORMED = [
    # (mutation, the path the error must name, words of the message)
    (lambda d: d["facts"][0].__setitem__("equipment_investment", "lots"), "facts[0].equipment_investment", "amount in yuan"),
    (lambda d: d["facts"][0].__setitem__("equipment_investment", -5), "facts[0].equipment_investment", "found -5"),
    (lambda d: d["facts"][0].__setitem__("equipment_investmnt", 5), "facts[0].equipment_investmnt", "did you mean 'equipment_investment'"),
    (lambda d: d["facts"][0].__setitem__("type", "transformation_projct"), "facts[0].type", "did you mean 'transformation_project'"),
    (lambda d: d["facts"][0].__setitem__("demo_listed", "yes"), "facts[0].demo_listed", "true or false"),
    (lambda d: d["facts"][0].pop("subject"), "facts[0].subject", "missing"),
    (lambda d: d["applicant"].pop("kind"), "applicant.kind", "missing"),
    (lambda d: d["applicant"].__setitem__("size", "huge"), "applicant.size", "unknown value"),
    (lambda d: d.__setitem__("year", "2022"), "year", "expected integer"),
    (lambda d: d.pop("facts"), "facts", "missing"),
    (lambda d: d.__setitem__("extra", 1), "extra", "unknown field 'extra'"),
    (lambda d: d["facts"].append({"type": "prior_award", "source": "this_policy", "year": 2021, "amount": 1}), "facts[10].item", "missing"),
    (lambda d: d["facts"][0].__setitem__("date", "2022/06/30"), "facts[0].date", "YYYY-MM-DD"),
]


@pytest.mark.parametrize("mutate, path, words", MALFORMED, ids=[m[1] + ":" + m[2] for m in MALFORMED])
def test_malformed_applications_name_the_bad_field(kb, example_documents, mutate, path, words):
    doc = copy.deepcopy(example_documents["precision-machinery-sme"])
    mutate(doc)
    assert not Validator(kb.policy).valid(doc)
    with pytest.raises(InputError) as caught:
        parse_application(kb.policy, doc)
    paths = [p.where for p in caught.value.problems]
    assert path in paths, f"{path} not among {paths}"
    assert words in str(caught.value)


def test_money_beyond_fen_and_impossible_dates_are_refused(kb, example_documents):
    doc = copy.deepcopy(example_documents["precision-machinery-sme"])
    doc["facts"][0]["equipment_investment"] = "1000.001"
    with pytest.raises(InputError) as caught:
        parse_application(kb.policy, doc)
    assert "at most two decimals" in {p.where: p.message for p in caught.value.problems}["facts[0].equipment_investment"]
    doc = copy.deepcopy(example_documents["precision-machinery-sme"])
    doc["facts"][0]["equipment_investment"] = parse_text('{"v": 1000.001}', "x.json")["v"]  # a JSON number
    doc["facts"][1]["date"] = "2022-02-30"
    with pytest.raises(InputError) as caught:
        parse_application(kb.policy, doc)
    where = {p.where: p.message for p in caught.value.problems}
    assert "at most two decimals" in where["facts[0].equipment_investment"]
    assert "real date" in where["facts[1].date"]


def test_json_floats_stay_exact():
    doc = parse_text('{"a": 2999999.99, "b": 0.1}', "x.json")
    assert str(doc["a"]) == "2999999.99" and str(doc["b"]) == "0.1"


def test_fast_path_accepts_exactly_what_schema_and_coercion_accept(kb):
    """The precompiled fast path must agree with the published schema plus exact coercion."""
    validator = Validator(kb.policy)
    full = jsonschema.Draft7Validator(kb.schema())
    rng = random.Random(11)
    generator = Generator(kb.policy, seed=5)
    values = ["x", "", -1, 1.5, 12.345, 2.0, True, None, {}, [], 10**13, "12.345", "2022-13-01", "2022-02-30", 3, "m01.demo", ["m01.demo"]]
    fast_accepted = refused_by_coercion = 0
    for _ in range(400):
        doc = generator.application()
        if rng.random() < 0.7:
            target = rng.choice(doc["facts"] + [doc["applicant"], doc])
            key = rng.choice(list(target) + ["bogus"])
            target[key] = rng.choice(values)
        as_json = json.loads(json.dumps(doc), parse_float=__import__("decimal").Decimal)
        if validator.valid(as_json):
            fast_accepted += 1
            assert full.is_valid(as_json), doc
            continue
        if full.is_valid(as_json):
            refused_by_coercion += 1
            with pytest.raises(InputError):
                parse_application(kb.policy, as_json, validator=validator)
    assert fast_accepted > 50 and refused_by_coercion > 0  # both kinds of refusal were exercised


def test_cli_schema_prints_the_schema(kb, cli):
    run = cli("schema")
    assert run.code == 0
    assert run.json() == json.loads(json.dumps(kb.schema()))
