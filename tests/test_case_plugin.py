"""The YAML-case plugin fails loudly, naming the file and the case."""

from __future__ import annotations

import shutil
import textwrap

from conftest import KB_DIR

pytest_plugins = ["pytester"]

CASE = textwrap.dedent("""
    defaults:
      year: 2022
      applicant: {id: A1, name: 测试, kind: enterprise, registered_in_taicang: true,
                  independent_legal_person: true, industrial: true, size: sme}
    cases:
      - name: right expectation
        facts: [{type: transformation_project, subject: P1, equipment_investment: 3000000, demo_listed: false, robot_system: false}]
        expect: [{item: m01.equipment, subject: P1, status: eligible, max: "180000.00"}]
      - name: wrong expectation
        facts: [{type: transformation_project, subject: P1, equipment_investment: 3000000, demo_listed: false, robot_system: false}]
        expect: [{item: m01.equipment, subject: P1, status: ineligible, max: "1.00"}]
      - name: asserts nothing
        facts: []
""")


def test_plugin_reports_file_case_and_difference(pytester):
    kb = pytester.path / "kb" / "taicang-2021-3"
    shutil.copytree(KB_DIR, kb, ignore=shutil.ignore_patterns("cases"))
    (kb / "cases").mkdir()
    (kb / "cases" / "probe.yaml").write_text(CASE, encoding="utf-8")
    result = pytester.runpytest("-p", "policykb.testing", str(kb / "cases"))
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "probe.yaml::wrong expectation" in out
    assert "m01.equipment[P1].status: expected ineligible, got eligible" in out
    assert "m01.equipment[P1].amount.max: expected 1.00, got 180000.00" in out
    assert "the case asserts nothing" in out
