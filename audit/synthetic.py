"""A seeded synthetic audit set: clean decisions, and violations injected on purpose.

Applicants of six kinds (manufacturer, software firm, telecom operator, IC company,
association, security service) apply over one to three years.  Each later year's
application declares the awards of the earlier years, as a bureau would ask.  A
clean decision grants what the engine allows (the ceiling of every paid item), so
the audit must find nothing in it.  ``inject`` then breaks chosen records in one
way each and returns the findings the audit must report: (code, record, item,
subject).  Nothing here consults the auditor.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Sequence
from decimal import Decimal

from policykb.money import fmt

APPLICANT = {"kind": "enterprise", "registered_in_taicang": True, "independent_legal_person": True}


def _facts_manufacturer(rng, year):
    n = rng.randint(1, 2)
    facts = [
        {
            "type": "transformation_project",
            "subject": f"P{year}-{i}",
            "equipment_investment": rng.choice([3000000, 5000000, 12000000, 20000000]),
            "demo_listed": rng.random() < 0.3,
            "robot_system": rng.random() < 0.3,
        }
        for i in range(n)
    ]
    facts.append(
        {"type": "recognition", "subject": f"W{year}", "award": rng.choice(["suzhou_smart_workshop", "provincial_smart_workshop"])}
    )
    facts.append(
        {
            "type": "loan",
            "subject": f"L{year}",
            "via_platform": True,
            "smart_transformation": True,
            "disbursed": rng.choice([5000000, 20000000, 60000000]),
            "suzhou_approved": rng.random() < 0.5,
        }
    )
    if year == 2021:
        facts.append({"type": "recognition", "award": "two_integration_certificate"})
        facts.append({"type": "cloud_adoption", "first_year_fee": rng.choice([12000, 30000, 45000])})
    facts.append({"type": "diagnosis_service", "subject": f"F{year}", "scope": "factory"})
    return {"industrial": True, "size": "sme"}, facts


def _facts_software(rng, year):
    prior = rng.randint(10000000, 30000000)
    facts = [
        {
            "type": "annual_sales",
            "sales_revenue": prior + rng.choice([0, 5000000, 12000000]),
            "sales_revenue_prior_1": prior,
            "sales_revenue_prior_2": prior - 1000000,
            "sales_revenue_prior_3": prior - 2000000,
        },
        {"type": "cmmi_certification", "level": min(5, 2 + (year - 2020))},
        {
            "type": "first_version_software",
            "subject": f"SW{year}",
            "recognition_level": "jiangsu",
            "total_sales": rng.choice([1000000, 3000000, 15000000]),
        },
    ]
    if year == 2022:
        facts.append({"type": "dcmm_certification", "first_time": True})
    return {"industrial": False, "size": "sme", "software_it_service": True}, facts


def _facts_telecom(rng, year):
    planned = rng.randint(100, 400)
    facts = [
        {
            "type": "base_station_build",
            "subject": f"5G-{year}",
            "planned_stations": planned,
            "stations_in_operation": planned + rng.randint(0, 40),
        },
        {"type": "fiveg_scenario_case", "subject": f"S{year}", "selected": True, "actual_investment": rng.choice([300000, 800000])},
    ]
    return {"industrial": False, "size": "large"}, facts


def _facts_ic(rng, year):
    facts = [
        {"type": "ic_project", "subject": f"IC{year}", "support_level": rng.choice(["national", "provincial"]), "approved_in_year": True},
        {
            "type": "first_set_equipment",
            "subject": f"EQ{year}",
            "recognition_level": "jiangsu",
            "unit_price": rng.choice([1000000, 2500000, 8000000]),
        },
    ]
    if year == 2022:
        facts.append({"type": "recognition", "award": "suzhou_ic_top20_shortlist"})
    if year == 2023:
        facts.append({"type": "recognition", "award": "suzhou_ic_top20"})
    return {"industrial": True, "size": "sme", "integrated_circuit": True}, facts


def _facts_association(rng, year):
    return (
        {"industrial": False, "size": "sme", "kind": "social_organisation"},
        [
            {"type": "public_service_project", "subject": f"PS{year}", "activity": "training"},
            {
                "type": "identifier_node",
                "subject": f"N{year}",
                "docked_with_national_top_node": True,
                "actual_investment": rng.choice([800000, 4000000]),
            },
        ],
    )


def _facts_security(rng, year):
    facts = [
        {
            "type": "security_service_business",
            "enterprises_served": rng.randint(11, 40),
            "annual_revenue": rng.choice([3500000, 9000000]),
            "contract_amount": rng.choice([2000000, 15000000]),
        },
        {"type": "recognition", "subject": f"SP{year}", "award": "security_protection_pilot"},
    ]
    if year == 2021:
        facts.append({"type": "recognition", "award": "jiangsu_security_protection_star"})
    return {"industrial": False, "size": "sme"}, facts


PROFILES = [_facts_manufacturer, _facts_software, _facts_telecom, _facts_ic, _facts_association, _facts_security]


def clean_records(kb, applicants: int, seed: int = 7, first: int = 0, first_decision: int = 0) -> list[dict]:
    """Records of ``applicants`` applicants, each decision granting what the engine allows.

    Applicants are numbered from ``first`` and decisions from ``first_decision``, so
    that batches generated one after another never share an ID (two batches that
    both start at AU00000 would make one applicant of two and invent conflicts)."""
    rng = random.Random(seed)
    records: list[dict] = []
    day = 0
    for n in range(first, first + applicants):
        profile = PROFILES[n % len(PROFILES)]
        applicant_id = f"AU{n:05d}"
        years = sorted(rng.sample([2021, 2022, 2023], rng.randint(1, 3)))
        granted_before: list[dict] = []
        for year in years:
            extra, facts = profile(rng, year)
            applicant = dict(APPLICANT, id=applicant_id, name=f"审计样本{n}", **extra)
            facts = facts + [
                {
                    "type": "prior_award",
                    "subject": g["subject"],
                    "source": "this_policy",
                    "item": g["item"],
                    "year": g["year"],
                    "amount": g["amount"],
                }
                for g in granted_before
            ]
            application = {"applicant": applicant, "year": year, "facts": facts}
            decision = kb.evaluate(application)
            grants = []
            for o in decision.outcomes:
                if o.status in ("eligible", "reduced") and o.high is not None and o.high > 0:
                    grants.append({"item": o.item.id, "subject": o.subject, "amount": fmt(o.high)})
            day += 1
            records.append(
                {
                    "application": application,
                    "decision": {
                        "decision_id": f"D{first_decision + len(records):06d}",
                        "decided_on": f"{year}-12-{1 + day % 28:02d}",
                        "granted": grants,
                    },
                }
            )
            granted_before += [dict(g, year=year) for g in grants]
    return records


def inject(kb, records: list[dict], seed: int = 11) -> tuple[list[dict], list[tuple], list[int]]:
    """Break records on purpose, one way each; return the records, the findings the
    audit must report as (code, record, item, subject), and the lines to corrupt."""
    rng = random.Random(seed)
    records = copy.deepcopy(records)
    expected: list[tuple] = []
    used: set[str] = set()

    def pick(predicate):
        candidates = [i for i, r in enumerate(records) if r["application"]["applicant"]["id"] not in used and predicate(r)]
        if not candidates:
            raise ValueError("the synthetic set is too small for every injection")
        i = rng.choice(candidates)
        used.add(records[i]["application"]["applicant"]["id"])
        return i

    def grants_of(r, item_prefix=""):
        return [g for g in r["decision"]["granted"] if g["item"].startswith(item_prefix)]

    # OVER_CEILING: one fen above what the item allows
    i = pick(lambda r: grants_of(r, "m02."))
    g = grants_of(records[i], "m02.")[0]
    g["amount"] = fmt(Decimal(g["amount"]) + Decimal("0.01")) if Decimal(g["amount"]) >= Decimal("200000") else fmt(Decimal("1200000.01"))
    expected.append(("OVER_CEILING", i, g["item"], g["subject"]))

    # UNDER_FLOOR: an exact sum paid one fen short
    i = pick(lambda r: grants_of(r, "m14.base_station"))
    g = grants_of(records[i], "m14.base_station")[0]
    g["amount"] = fmt(Decimal(g["amount"]) - Decimal("0.01"))
    expected.append(("UNDER_FLOOR", i, g["item"], g["subject"]))

    # NOT_ELIGIBLE: a grant for a project below the threshold
    i = pick(lambda r: any(f["type"] == "transformation_project" for f in r["application"]["facts"]))
    r = records[i]
    r["application"]["facts"].append(
        {
            "type": "transformation_project",
            "subject": "PX",
            "equipment_investment": "2999999.99",
            "demo_listed": False,
            "robot_system": False,
        }
    )
    r["decision"]["granted"].append({"item": "m01.equipment", "subject": "PX", "amount": "179999.99"})
    expected.append(("NOT_ELIGIBLE", i, "m01.equipment", "PX"))

    # EXCLUSIVE_CONFLICT: a digital-application project paid in the same year as the equipment projects
    i = pick(lambda r: grants_of(r, "m01.equipment") and sum(Decimal(g["amount"]) for g in grants_of(r, "m01.")) > Decimal("200000"))
    r = records[i]
    r["application"]["facts"].append(
        {"type": "digital_application_project", "subject": "DX", "listed": True, "it_investment": 600000, "project_investment": 1000000}
    )
    r["decision"]["granted"].append({"item": "m01.digital_app", "subject": "DX", "amount": "120000.00"})
    expected.append(("EXCLUSIVE_CONFLICT", i, "m01.digital_app", "DX"))

    # DUPLICATE_SAME_KIND: the same workshop paid again by a second decision the same year
    i = pick(lambda r: grants_of(r, "m02."))
    g = grants_of(records[i], "m02.")[0]
    twin = copy.deepcopy(records[i])
    twin["decision"] = {
        "decision_id": records[i]["decision"]["decision_id"] + "-B",
        "decided_on": records[i]["decision"]["decided_on"],
        "granted": [dict(g)],
    }
    records.append(twin)
    expected.append(("DUPLICATE_SAME_KIND", len(records) - 1, g["item"], g["subject"]))

    # OVER_GROUP_CAP: two loans of one year, each within its own rule, together over 2,000,000
    i = pick(lambda r: grants_of(r, "m23.loan_interest"))
    r = records[i]
    year = r["application"]["year"]
    for subject in ("LX1", "LX2"):
        r["application"]["facts"].append(
            {
                "type": "loan",
                "subject": subject,
                "via_platform": True,
                "smart_transformation": True,
                "disbursed": 150000000,
                "suzhou_approved": False,
            }
        )
        r["decision"]["granted"].append({"item": "m23.loan_interest", "subject": subject, "amount": "1500000.00"})
    del year
    expected.append(("OVER_GROUP_CAP", i, "m23.loan_interest", "LX2"))

    # OUT_OF_PERIOD: an application for 2024
    i = pick(lambda r: grants_of(r, "m25.") or grants_of(r, "m16."))
    r = records[i]
    r["application"]["year"] = 2024
    g = r["decision"]["granted"][0]
    r["decision"]["granted"] = [g]
    expected.append(("OUT_OF_PERIOD", i, g["item"], g["subject"]))

    # MISSING_REQUIREMENT: Suzhou's matching subsidy without the Taicang subsidy for the loan
    i = pick(lambda r: grants_of(r, "m23.suzhou_matching"))
    r = records[i]
    matched = grants_of(r, "m23.suzhou_matching")[0]
    r["decision"]["granted"] = [
        g for g in r["decision"]["granted"] if not (g["item"] == "m23.loan_interest" and g["subject"] == matched["subject"])
    ]
    for other in records:  # later applications must not declare it as granted either
        if other["application"]["applicant"]["id"] == r["application"]["applicant"]["id"]:
            other["application"]["facts"] = [
                f
                for f in other["application"]["facts"]
                if not (f["type"] == "prior_award" and f.get("item") == "m23.loan_interest" and f["subject"] == matched["subject"])
            ]
    expected.append(("MISSING_REQUIREMENT", i, matched["item"], matched["subject"]))

    # CASE_BY_CASE_CONFLICT: the pilot project had case-by-case support already
    i = pick(lambda r: grants_of(r, "m25.security_pilot"))
    r = records[i]
    g = grants_of(r, "m25.security_pilot")[0]
    r["application"]["facts"].append({"type": "case_by_case_support", "subject": g["subject"]})
    expected.append(("CASE_BY_CASE_CONFLICT", i, g["item"], g["subject"]))

    # UNKNOWN_ITEM
    i = pick(lambda r: r["decision"]["granted"])
    records[i]["decision"]["granted"].append({"item": "m26.bonus", "subject": "X", "amount": "1000.00"})
    expected.append(("UNKNOWN_ITEM", i, "m26.bonus", "X"))

    # UNDETERMINED: the application no longer says how much the platform invested
    i = pick(lambda r: grants_of(r, "m17.secondary_node"))
    r = records[i]
    g = grants_of(r, "m17.secondary_node")[0]
    for f in r["application"]["facts"]:
        if f["type"] == "identifier_node" and f["subject"] == g["subject"]:
            f.pop("actual_investment")
    expected.append(("UNDETERMINED", i, g["item"], g["subject"]))

    # INVALID_RECORD: a record whose decision has no list of awards, and a line that is not JSON
    i = pick(lambda r: True)
    records[i]["decision"]["granted"] = "all of it"
    expected.append(("INVALID_RECORD", i, None, None))
    corrupt = [pick(lambda r: True)]
    expected.append(("INVALID_RECORD", corrupt[0], None, None))
    return records, sorted(expected, key=lambda e: (e[1], e[0])), corrupt


def to_jsonl(records: list[dict], corrupt: Sequence[int] = ()) -> str:
    lines = []
    for i, record in enumerate(records):
        lines.append("{this line was cut off" if i in corrupt else json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n"
