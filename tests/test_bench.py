"""``policykb bench`` end to end on a small seeded run: every documented field is reported,
the figures agree with each other and with the pipeline they measure. Never a timed test:
timings are only required to be positive and consistent, never fast."""

from __future__ import annotations

import functools
import re
import sys

import pytest

from policykb import bench
from policykb.engine.synthetic import Generator

FIELDS = [
    "applications",
    "workers",
    "seed",
    "median_ms",
    "per_second",
    "engine_only_median_ms",
    "overhead_ratio",
    "firings_per_application",
    "peak_rss_mb",
    "rss_growth_pct",
    "load_1000_rss_growth_mb",
    "python",
    "kb_version",
]
AUDIT_FIELDS = [
    "records",
    "workers",
    "seconds",
    "records_per_second",
    "cpu_seconds",
    "peak_rss_mb",
    "peak_rss_workers_mb",
    "findings",
    "findings_injected",
    "python",
    "kb_version",
]

# The memory of 10 loads, not 1,000: the same code, a fraction of the time (the figure is the
# bench's to measure, not the tests').
FEWER_LOADS = functools.partial(bench._load_growth, calls=10)


@pytest.fixture(scope="module")
def small_run(kb):
    """One bench run of 20 applications in this process (the module's tests read it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench, "_load_growth", FEWER_LOADS)
        return bench.run(kb, applications=20, workers=1, seed=2021)


def test_the_bench_reports_every_documented_field(small_run, kb):
    assert list(small_run) == FIELDS
    for field in FIELDS:
        assert f"``{field}``" in bench.__doc__ or field in ("applications", "workers", "seed", "python", "kb_version")
    assert (small_run["applications"], small_run["workers"], small_run["seed"]) == (20, 1, 2021)
    assert small_run["kb_version"] == kb.version
    assert small_run["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_the_figures_agree_with_each_other(small_run):
    median, engine = small_run["median_ms"], small_run["engine_only_median_ms"]
    assert median > 0 and engine > 0 and small_run["per_second"] > 0
    # the ratio is taken before rounding: it agrees with the rounded medians to their precision
    assert small_run["overhead_ratio"] == pytest.approx(median / engine, rel=1e-3, abs=1e-3)
    assert small_run["peak_rss_mb"] > 0
    assert isinstance(small_run["rss_growth_pct"], float) and isinstance(small_run["load_1000_rss_growth_mb"], float)


def test_firings_are_those_of_the_evaluations_of_the_same_seed(small_run, kb):
    documents = Generator(kb.policy, 2021).applications(20)
    firings = [len(kb.evaluate(document).firings) for document in documents]
    assert small_run["firings_per_application"] == round(sum(firings) / len(firings), 2)
    assert small_run["firings_per_application"] > 0


@pytest.fixture
def fewer_loads(monkeypatch):
    monkeypatch.setattr(bench, "_load_growth", FEWER_LOADS)


@pytest.mark.usefixtures("fewer_loads")
def test_bench_on_the_command_line_as_text_and_json(cli, tmp_path):
    run = cli("bench", "--applications", "10", "--workers", "1", "--seed", "7", "--format", "json")
    assert run.code == 0, run.err
    result = run.json()
    assert list(result) == FIELDS and (result["applications"], result["seed"]) == (10, 7)
    out = tmp_path / "bench.txt"
    run = cli("bench", "--applications", "10", "--workers", "1", "--seed", "7", "--output", out)
    assert run.code == 0, run.err
    lines = out.read_text(encoding="utf-8").splitlines()
    # one line a field, in the JSON's order, the name then the value
    assert [re.split(r"\s+", line, maxsplit=1)[0] for line in lines] == FIELDS
    deterministic = ("applications", "workers", "seed", "firings_per_application", "python", "kb_version")
    assert {line.split()[0]: line.split()[1] for line in lines if line.split()[0] in deterministic} == {
        k: str(result[k]) for k in deterministic
    }


@pytest.mark.usefixtures("fewer_loads")
def test_a_reading_changes_what_the_bench_evaluates(kb):
    readings = {"I-09": "declared_only"}
    result = bench.run(kb, applications=10, workers=1, seed=5, readings=readings)
    documents = Generator(kb.policy, 5).applications(10)
    firings = [len(kb.evaluate(document, readings=readings).firings) for document in documents]
    assert result["firings_per_application"] == round(sum(firings) / len(firings), 2)


def test_the_audit_bench_as_text(cli, kb):
    run = cli("bench", "--audit", "--applications", "200", "--workers", "1")
    assert run.code == 0, run.err
    values = dict(re.split(r"\s+", line, maxsplit=1) for line in run.out.splitlines())
    assert list(values) == AUDIT_FIELDS
    assert values["findings"] == values["findings_injected"] and int(values["records"]) >= 200
    assert float(values["records_per_second"]) == pytest.approx(int(values["records"]) / float(values["seconds"]), rel=0.01)
    assert values["kb_version"] == kb.version


def test_bench_refuses_a_bad_number_of_applications(cli):
    run = cli("bench", "--applications", "0")
    assert run.code == 2 and "applications" in run.err and "Traceback" not in run.err
