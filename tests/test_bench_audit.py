"""``policykb bench --audit``: the audit must find exactly what was injected, or the bench fails."""

from __future__ import annotations

from policykb.audit import synthetic


def injected_count(kb) -> int:
    """How many violations the synthetic set injects: one of each kind, whatever the set's size."""
    return len(synthetic.inject(kb, synthetic.clean_records(kb, 60, seed=3), seed=3)[1])


def test_default_audit_bench_finds_exactly_the_injected_violations(cli, kb):
    # 2,000 records need a top-up batch of clean records: its applicants and decisions
    # must not reuse the first batch's IDs (AU00000 …), or the audit finds conflicts
    # nobody injected.
    run = cli("bench", "--audit", "--workers", "1", "--format", "json")
    assert run.code == 0, run.err
    result = run.json()
    assert result["records"] >= 2000
    assert result["findings"] == result["findings_injected"] == injected_count(kb)


def test_top_up_batches_never_reuse_an_id(kb):
    first = synthetic.clean_records(kb, 20, seed=1)
    second = synthetic.clean_records(kb, 20, seed=2, first=20, first_decision=len(first))
    ids = lambda records, key: {key(r) for r in records}
    applicant = lambda r: r["application"]["applicant"]["id"]
    decision = lambda r: r["decision"]["decision_id"]
    assert not ids(first, applicant) & ids(second, applicant)
    assert not ids(first, decision) & ids(second, decision)


def test_bench_fails_loudly_when_findings_differ_from_the_injected(cli, monkeypatch, kb):
    injected = injected_count(kb)
    real = synthetic.inject

    def one_more(kb, records, seed=11):
        broken, expected, corrupt = real(kb, records, seed=seed)
        return broken, expected + [("OVER_CEILING", 0, "m01.equipment", "P")], corrupt

    monkeypatch.setattr(synthetic, "inject", one_more)
    run = cli("bench", "--audit", "--applications", "200", "--workers", "1")
    assert run.code == 70 and run.out == ""
    assert f"found {injected} findings, but {injected + 1} were injected" in run.err
    assert "OVER_CEILING: found 1, injected 2" in run.err
    assert "Traceback" not in run.err
