"""Every item, boundary, cap, floor, relation, provision and reading option has its case."""

from case_coverage import report


def test_the_cases_cover_the_whole_kb():
    missing = report()
    assert missing == {}, "\n".join(f"{k}: {'; '.join(v)}" for k, v in sorted(missing.items()))
