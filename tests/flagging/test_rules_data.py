"""The data files: every row sourced, malformed data refused, lookups built once."""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from leukoflag.errors import DataFileError
from leukoflag.flagging import _rules, _scope
from leukoflag.flagging._rules import AgeEdge, load_rules, parse_rules
from leukoflag.model import Analyte, Concept


def raw_rules() -> dict[str, Any]:
    text = resources.files("leukoflag.flagging").joinpath("data/rules.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_rules_load_once_per_process() -> None:
    assert load_rules() is load_rules()
    assert _scope.analyte_table() is _scope.analyte_table()


def test_every_rule_cites_a_source() -> None:
    rules = load_rules()
    cited = [
        *(r.citation for r in rules.ranges),
        *(r.citation for r in rules.diseases),
        *(r.citation for r in rules.significantly_low.values()),
        *(r.child_citation for r in rules.significantly_low.values() if r.child_source),
        *(r.citation for r in rules.critical_low.values()),
        *(b.citation for b in rules.severities),
        *(s.citation for s in rules.ctcae.values()),
        *rules.finding_sources.values(),
    ]
    assert cited
    assert all(citation.strip() for citation in cited)


def test_every_table_row_has_a_source() -> None:
    assert all(row.source for row in _scope.analyte_table().rows)
    assert all(row[4] for row in _scope.specimen_table().rows)


def mutated(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    data = copy.deepcopy(raw_rules())
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("schema",), 2, "schema"),
        (("range", 0, "source"), "nowhere", "unknown source"),
        (("significantly_low", 1, "child_source"), "nowhere", "unknown source"),
        (("range", 0, "low"), 20000, "low must be below high"),
        (("range", 0, "analyte"), "plt", "unknown analyte"),
        (("range", 4, "age"), ["0d", "2m"], "exactly one rule must apply"),
        (("range", 4, "age"), ["0d", "30d"], "may come in either order"),
        (("range", 4, "age"), ["1d", "1m"], "exactly one rule must apply"),
        (("range", 0, "kind"), "guess", "kind"),
        (("disease", 0, "below"), -5, "must be ≥ 0"),
        (("disease", 0, "finding"), "neutropenia", "not a wbc finding"),
        (("disease", 0, "age"), ["18"], "age must be"),
        (("disease", 4, "age"), ["7d", "7d"], "empty"),
        (("ctcae", 0, "grades"), [{"grade": 1, "below": "LLN"}], "grades must be"),
        (("adult_age",), "eighteen", "bad age"),
        (("lab_range_sanity",), "none", "must be a table"),
    ],
)
def test_malformed_rules_are_refused(
    path: tuple[str | int, ...], value: object, message: str
) -> None:
    with pytest.raises(DataFileError, match=message):
        parse_rules(mutated(path, value))


def test_missing_finding_is_refused() -> None:
    data = raw_rules()
    del data["findings"]["neutropenia"]
    with pytest.raises(DataFileError, match="findings missing: neutropenia"):
        parse_rules(data)


def test_missing_duffy_range_is_refused() -> None:
    data = raw_rules()
    data["range"] = [r for r in data["range"] if r["kind"] != "duffy-null"]
    with pytest.raises(DataFileError, match="Duffy-null: exactly one rule must apply"):
        parse_rules(data)


def test_data_file_error_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        parse_rules({})


@pytest.mark.parametrize(
    ("edge", "birth", "reached"),
    [
        ("7d", "2025-01-15", "2025-01-22"),
        ("1m", "2025-01-31", "2025-02-28"),
        ("3m", "2025-11-30", "2026-02-28"),
        ("1y", "2024-02-29", "2025-02-28"),
        ("4y", "2024-02-29", "2028-02-29"),
        ("18y", "2008-03-10", "2026-03-10"),
    ],
)
def test_calendar_ages_are_reached_on_the_calendar(edge: str, birth: str, reached: str) -> None:
    assert AgeEdge.parse(edge).reached_on(dt.date.fromisoformat(birth)) == dt.date.fromisoformat(
        reached
    )


def test_point_comparisons_respect_the_side_of_a_bound() -> None:
    assert _rules.below((Decimal(1000), -1), Decimal(1000))
    assert not _rules.below((Decimal(1000), 0), Decimal(1000))
    assert _rules.above((Decimal(1000), 1), Decimal(1000))
    assert not _rules.above((Decimal(1000), 0), Decimal(1000))


def test_recognition_is_cached_per_concept() -> None:
    concept = Concept(text="White cell count")
    first = _scope.recognize(concept)
    assert first is _scope.recognize(Concept(text="White cell count"))
    assert first is not None
    assert first.analyte is Analyte.WBC


def test_every_flag_issue_code_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    source = (root / "src/leukoflag/flagging/_evaluate.py").read_text("utf-8")
    raised = set(re.findall(r'_issue\(\s*Severity\.\w+,\s*"([a-z-]+)"', source))
    for pair in re.findall(r'code = "([a-z-]+)" if .* else "([a-z-]+)"', source):
        raised |= set(pair)
    documented = set(re.findall(r"`flag\.([a-z-]+)`", (root / "docs/issues.md").read_text("utf-8")))
    assert len(raised) >= 18
    assert raised == documented
    # A unit problem has one code, the units step's (docs/issues.md#units), never a flag.* twin.
    assert not any(code.startswith(("unit-", "value-implausible")) for code in documented)


def test_the_age_units_and_words_rules_md_lists_are_the_ones_read() -> None:
    # rules.md named years, yr, months, weeks, days, though 'yrs', 'year' … date an age as well
    page = (Path(__file__).resolve().parents[2] / "docs/rules.md").read_text("utf-8")
    said = re.search(r"a\s+whole number in UCUM (.*?), or their words (.*?) in any case", page)
    assert said is not None
    units = set(re.findall(r"`([^`]+)`", said.group(1)))
    words = set(re.findall(r"`([^`]+)`", said.group(2)))
    age_result = raw_rules()["age_result"]
    assert units == set(age_result["units"])
    assert words == set(age_result["words"])
