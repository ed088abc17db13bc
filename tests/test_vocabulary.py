"""One vocabulary: the words a decision, the KB and the service's schema use are the StrEnums of
policykb.vocabulary, exported from policykb, and JSON carries them as plain strings."""

from __future__ import annotations

import json

import policykb
from policykb import vocabulary
from policykb.service import openapi


def test_the_enums_are_exported_from_the_package():
    for name in ("Status", "AmountKind", "Effect", "RelationKind", "ProvisionKind"):
        assert getattr(policykb, name) is getattr(vocabulary, name)


def test_the_openapi_outcome_status_lists_exactly_the_statuses(kb):
    document = openapi.build(kb)
    enum = document["components"]["schemas"]["Outcome"]["properties"]["status"]["enum"]
    assert enum == [status.value for status in policykb.Status]
    assert all(type(value) is str for value in enum)  # plain strings in the JSON document


def test_decisions_speak_only_the_vocabulary(kb, example_documents):
    for document in example_documents.values():
        decision = kb.evaluate(document)
        for outcome in json.loads(decision.to_json())["outcomes"]:
            assert outcome["status"] in set(policykb.Status)
            assert outcome["amount"]["kind"] in set(policykb.AmountKind)


def test_the_kb_relations_and_amounts_are_vocabulary_words(kb):
    assert {rel.kind for rel in kb.policy.relations.values()} <= set(policykb.RelationKind)
    assert {prov.kind for prov in kb.policy.provisions.values()} <= set(policykb.ProvisionKind)
    graph = kb.graph()
    assert {data["kind"] for _, _, data in graph.edges(data=True)} <= set(policykb.RelationKind)
    assert {data["amount_kind"] for _, data in graph.nodes(data=True) if data.get("kind") == "item"} <= set(policykb.AmountKind)
