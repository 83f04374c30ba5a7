"""The public surface DESIGN.md promises (stable: users and their tests rely on it).

Names, signatures, defaults, return types and the exception tree of ``import leukoflag``;
what each call does is tested where the step lives.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from decimal import Decimal
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

import leukoflag
from leukoflag.settings import Settings

_MESSAGE = (
    "MSH|^~\\&|HEMLAB|NORTHGATE|EHR|NORTHGATE|20261203081500-0500||ORU^R01^ORU_R01|HL-41|P|2.5.1\r"
    "PID|1||NG4471^^^NORTHGATE^MR||HALVORSEN^ERIK||19580402|M\r"
    "OBR|1|EO5521^EHR|HL7730^HEMLAB|58410-2^CBC panel^LN|||20261203061500-0500\r"
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261203061500-0500\r"
)


def test_the_package_exports_exactly_the_documented_names_sorted() -> None:
    assert leukoflag.__all__ == [
        "Conversion",
        "DataFileError",
        "Error",
        "Finding",
        "Issue",
        "Outcome",
        "ReadError",
        "Rejected",
        "Settings",
        "SettingsError",
        "Severity",
        "UnitError",
        "__version__",
        "convert",
        "convert_file",
        "count_per_ul",
        "iter_convert",
        "iter_file",
    ]
    assert all(getattr(leukoflag, name) is not None for name in leukoflag.__all__)
    assert set(leukoflag.__all__) <= set(dir(leukoflag))


def _public_names_section() -> str:
    text = (Path(__file__).parents[1] / "docs" / "index.md").read_text("utf-8")
    start = text.index("## What `import leukoflag` offers")
    return text[start : text.index("\n## ", start + 1)]


def test_every_public_name_and_field_of_what_a_conversion_gives_is_documented() -> None:
    # Finding, Rejected, Severity, Conversion's fields and __version__ were exported but on no
    # page: an engine could not know that Rejected.raw keeps the item to send again, or what
    # Finding.threshold_source or ctcae_term hold, without reading the source.
    section = _public_names_section()
    undocumented = [name for name in leukoflag.__all__ if not re.search(rf"`{name}[`(]", section)]
    classes = (leukoflag.Conversion, leukoflag.Outcome, leukoflag.Finding, leukoflag.Issue)
    for cls in (*classes, leukoflag.Rejected):
        fields = [f.name for f in dataclasses.fields(cls)]
        undocumented += [f"{cls.__name__}.{name}" for name in fields if f"`{name}`" not in section]
    undocumented += [
        f"Severity.{s.value}" for s in leukoflag.Severity if f"`{s.value}`" not in section
    ]
    assert undocumented == []


def test_entry_points_take_the_documented_arguments_and_defaults() -> None:
    convert = inspect.signature(leukoflag.convert).parameters
    assert list(convert) == ["data", "settings", "source"]
    assert convert["settings"].default is None
    assert convert["source"].kind is inspect.Parameter.KEYWORD_ONLY
    convert_file = inspect.signature(leukoflag.convert_file).parameters
    assert list(convert_file) == ["path", "settings"]
    assert convert_file["settings"].default is None
    iter_convert = inspect.signature(leukoflag.iter_convert).parameters
    assert list(iter_convert) == ["data", "settings", "source"]
    assert iter_convert["settings"].default is None
    assert iter_convert["source"].kind is inspect.Parameter.KEYWORD_ONLY
    iter_file = inspect.signature(leukoflag.iter_file).parameters
    assert list(iter_file) == ["path", "settings"]
    assert iter_file["settings"].default is None
    count_per_ul = inspect.signature(leukoflag.count_per_ul).parameters
    assert list(count_per_ul) == ["value", "unit", "analyte"]
    assert count_per_ul["analyte"].default == "wbc"


@pytest.mark.parametrize("entry", [leukoflag.convert, leukoflag.iter_convert])
def test_every_kind_of_content_the_entry_points_convert_is_in_their_signature(
    entry: object,
) -> None:
    # An MLLP listener's receive buffer is a bytearray (or a memoryview of it): converted as
    # its bytes (test_api), but the signature said bytes | str, so mypy (bytearray is no bytes)
    # refused a call that runs.
    assert {bytes, bytearray, memoryview, str} <= set(get_args(get_type_hints(entry)["data"]))


def test_a_conversion_holds_lists_of_dicts_findings_issues_and_rejections() -> None:
    conversion = leukoflag.convert(_MESSAGE.encode(), settings=leukoflag.Settings())
    (bundle,) = conversion.bundles
    assert isinstance(bundle, dict)
    assert bundle["resourceType"] == "Bundle"
    (finding,) = conversion.findings
    assert isinstance(finding, leukoflag.Finding)
    assert (finding.location, finding.value_per_ul, finding.code, finding.rule) == (
        "MSG[1]/OBX[1]",
        Decimal(3100),
        "L",
        "wbc-leukopenia-adult",
    )
    assert all(isinstance(issue, leukoflag.Issue) for issue in conversion.issues)
    assert conversion.rejected == []


def test_iter_file_yields_one_frozen_outcome_per_item(tmp_path: Path) -> None:
    path = tmp_path / "feed.hl7"
    path.write_bytes(_MESSAGE.encode())
    (outcome,) = leukoflag.iter_file(path)
    assert isinstance(outcome, leukoflag.Outcome)
    assert (outcome.index, outcome.source, outcome.rejected) == (1, str(path), None)
    assert isinstance(outcome.output, dict)
    assert outcome.output["resourceType"] == "Bundle"
    assert type(outcome.findings) is tuple
    assert outcome.findings == tuple(leukoflag.convert(_MESSAGE).findings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.index = 2  # type: ignore[misc]


def test_count_per_ul_returns_a_decimal_and_raises_a_unit_error() -> None:
    count = leukoflag.count_per_ul("3.1", "10*3/uL")
    assert type(count) is Decimal
    assert count == 3100
    with pytest.raises(leukoflag.UnitError):
        leukoflag.count_per_ul("4.1", "10*12/L")


@pytest.mark.parametrize(
    ("exception", "builtin"),
    [
        ("SettingsError", ValueError),
        ("UnitError", ValueError),
        ("DataFileError", RuntimeError),
        ("ReadError", OSError),
    ],
)
def test_every_error_is_a_leukoflag_error_and_its_builtin(
    exception: str, builtin: type[Exception]
) -> None:
    # docs/errors.md draws this tree
    cls = getattr(leukoflag, exception)
    assert issubclass(cls, leukoflag.Error)
    assert issubclass(cls, builtin)
    assert issubclass(leukoflag.Error, Exception)


def test_every_setting_has_the_documented_default() -> None:
    settings = Settings()
    assert {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)} == {
        "fhir_version": "R4",
        "bundle_type": "transaction",
        "range_policy": "lab",
        "ctcae_version": "5.0",
        "critical_low": {"wbc": Decimal(2000), "anc": Decimal(500)},
        "duffy_null": frozenset(),
        "default_timezone": None,
        "fallback_charset": "cp1252",
        "strict": False,
    }


def test_settings_cannot_be_changed_after_they_are_built() -> None:
    settings = Settings(range_policy="default")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.range_policy = "lab"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.critical_low["wbc"] = Decimal(1500)  # type: ignore[index]
    assert settings.range_policy == "default"
    assert settings.critical_low_for("wbc") == Decimal(2000)
