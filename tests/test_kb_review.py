"""Fidelity checks from the second review of the KB against the policy text: what an auditor
reads beside the amounts (the sentences a relation quotes, where the glossary says a boundary
word is used)."""

from __future__ import annotations

import re

from policykb.kb.check import measure_paragraphs, squash


def test_a_ladder_quotes_the_sentence_of_every_level_it_joins(policy):
    # H-m02 joined m02.suzhou_industrial_internet without quoting its sentence: an auditor who
    # reads the relation could not see why the Suzhou typical case is a level of the ladder.
    for relation in policy.relations.values():
        if relation.kind != "highest":
            continue
        quoted = squash(relation.quote)
        members = {m for option in relation.members.cases.values() for m in option}
        for item_id in sorted(members):
            assert squash(policy.items[item_id].quote) in quoted, (relation.id, item_id)


def test_the_glossary_lists_every_measure_that_uses_a_boundary_word(policy):
    paragraphs = measure_paragraphs(policy.text)
    terms = {t.term: t for t in policy.glossary}
    uses = {
        "以上": lambda s: "以上" in s,
        "超": lambda s: re.search(r"超\d", s) is not None,  # 超5亿元, 超200家; not 超过, 超出, 超前
        "最高": lambda s: "最高" in s,  # measures 5, 20 and 23 were missing: 最高不超过300万元 …
    }
    for term, used in uses.items():
        expected = tuple(sorted(n for n, text in paragraphs.items() if used(text)))
        assert terms[term].used_in == expected, (term, terms[term].used_in, expected)


def test_every_coverage_commitment_of_the_text_is_a_target(policy):
    # 全覆盖 is a number (100 %) the government commits to, like 不少于30家 (reading-rules §6):
    # measure 6's 实现重点产业规上企业智能制造诊断全覆盖 was missing beside the preamble's.
    text = squash(policy.text)
    sentences = re.findall(r"[^，。；：]*全覆盖", text)
    assert len(sentences) == 2, sentences
    quoted = [squash(t.quote) for t in policy.targets]
    for sentence in sentences:
        target = next((t for t, q in zip(policy.targets, quoted) if sentence in q or q in sentence), None)
        assert target is not None, sentence
        assert (target.op, target.value) == ("gte", 100) and target.unit.en == "%", target.id
