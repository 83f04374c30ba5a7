from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import pickle
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

import leukoflag
from leukoflag.settings import Settings
from leukoflag.units._table import default_table


def test_defaults_follow_design() -> None:
    settings = Settings()
    assert settings.fhir_version == "R4"
    assert settings.bundle_type == "transaction"
    assert settings.range_policy == "lab"
    assert settings.ctcae_version == "5.0"
    assert settings.critical_low_for("wbc") == Decimal(2000)
    assert settings.critical_low_for("anc") == Decimal(500)
    assert settings.duffy_null == frozenset()


def test_critical_low_override_keeps_other_analyte() -> None:
    settings = Settings(critical_low={"anc": 200})
    assert settings.critical_low_for("anc") == Decimal(200)
    assert settings.critical_low_for("wbc") == Decimal(2000)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fhir_version", "R3"),
        ("bundle_type", "batch"),
        ("range_policy", "mine"),
        ("ctcae_version", "4.03"),
        ("critical_low", {"plt": 50}),
        ("critical_low", {"wbc": -1}),
        ("critical_low", {"wbc": "many"}),
        ("duffy_null", "MRN123"),
        ("default_timezone", "Mars/Olympus_Mons"),
        ("fallback_charset", "no-such-codec"),
    ],
)
def test_bad_setting_is_a_settings_error_and_a_value_error(field: str, value: object) -> None:
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(**{field: value})  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert field in str(caught.value)


def test_settings_pickle_and_hash_for_worker_processes() -> None:
    settings = Settings(
        critical_low={"wbc": 1800}, duffy_null={"MRN-77"}, default_timezone="Europe/Berlin"
    )
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings
    assert hash(copy) == hash(settings)
    assert copy.critical_low_for("wbc") == Decimal(1800)


def test_duffy_null_is_per_patient_opt_in() -> None:
    settings = Settings(duffy_null={"MRN-77"})
    assert settings.is_duffy_null(("MRN-77",))
    assert not settings.is_duffy_null(("MRN-78",))
    assert not Settings().is_duffy_null(("MRN-77",))
    assert Settings(duffy_null={"*"}).is_duffy_null(())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("default_timezone", 5),
        ("default_timezone", ["Europe/Oslo"]),
        ("fallback_charset", 1252),
        ("fallback_charset", ["cp1252"]),
        ("strict", "yes"),
        ("strict", 1),
        ("critical_low", "anc=200"),  # the command-line spelling passed to the library
        ("critical_low", None),
        ("critical_low", [("anc", 200)]),
        ("duffy_null", None),
        ("duffy_null", 20417),
        ("duffy_null", ["RB-20417", 20418]),  # an identifier read from a number column
        ("duffy_null", [["RB-20417"]]),
    ],
)
def test_setting_of_the_wrong_type_is_a_settings_error(field: str, value: object) -> None:
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(**{field: value})  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(("charset", "kind"), [(b"cp1252", "bytes"), (None, "NoneType")])
def test_a_fallback_charset_of_the_wrong_type_is_said_so_not_called_unknown(
    charset: object, kind: str
) -> None:
    # b"cp1252" (read from a bytes config) was "unknown codec b'cp1252'": cp1252 is known
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(fallback_charset=charset)  # type: ignore[arg-type]
    assert str(caught.value) == f"fallback_charset: a codec name such as 'cp1252', not {kind}"


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("critical_low", "anc=200", "not str 'anc=200'"),
        # identifiers of patients are not copied into messages that may reach a log
        ("duffy_null", 20417, "a set of patient identifiers, not int$"),
        ("duffy_null", ["RB-20417", 20418], "identifiers are strings .*, not int$"),
        # one identifier read from a bytes config: its bytes were named as identifiers of type int
        ("duffy_null", b"RB-20417", "^duffy_null: a set of patient identifiers, not bytes$"),
        # a float 5.0 printed as 5.0 read "5.0 is not one of 5.0, 6.0"
        ("ctcae_version", 5.0, "^ctcae_version: a string, one of '5.0', '6.0', not float 5.0$"),
        ("fhir_version", 4, "^fhir_version: a string, one of 'R4', 'R5', not int 4$"),
    ],
)
def test_a_setting_of_the_wrong_type_names_what_was_given(
    field: str, value: object, named: str
) -> None:
    with pytest.raises(leukoflag.SettingsError, match=named):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_an_unknown_zone_is_refused_every_time_not_only_the_first() -> None:
    for _ in range(3):
        with pytest.raises(leukoflag.SettingsError, match="Mars/Olympus_Mons"):
            Settings(default_timezone="Mars/Olympus_Mons")


def test_named_zone_and_codec_are_accepted_and_kept() -> None:
    settings = Settings(default_timezone="America/Chicago", fallback_charset="latin-1")
    assert (settings.default_timezone, settings.fallback_charset) == ("America/Chicago", "latin-1")


def test_critical_limits_given_as_text_or_int_become_decimals() -> None:
    settings = Settings(critical_low={"wbc": "1500", "anc": 250})
    assert settings.critical_low_for("wbc") == Decimal(1500)
    assert settings.critical_low_for("anc") == Decimal(250)
    assert Settings(critical_low={"wbc": 2000, "anc": 500}) == Settings()


def test_the_constructor_type_checkers_see_takes_every_field_in_order() -> None:
    # mypy reads the __init__ written for it under TYPE_CHECKING, not the generated one
    source = ast.parse(inspect.getsource(Settings))
    (init,) = [
        node
        for node in ast.walk(source)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    ]
    declared = [a.arg for a in init.args.args[1:]]
    assert declared == [f.name for f in dataclasses.fields(Settings)]


@pytest.mark.parametrize("declared", [{"MRN100871": False}, {"MRN100871": "no"}])
def test_duffy_null_given_as_a_mapping_is_refused_not_read_as_its_keys(
    declared: dict[str, object],
) -> None:
    # A per-patient flag read from a configuration, {"MRN100871": False}, declared MRN100871
    # Duffy-null (its keys were taken): his WBC of 3,900/uL and ANC of 1,300/uL, each L, were N.
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(duffy_null=declared)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "duffy_null: a set of patient identifiers, not dict (a mapping would declare each of "
        "its keys Duffy-null, whatever its value says)"
    )


def test_duffy_null_given_as_a_list_becomes_a_frozenset() -> None:
    # a list is not in the declared type (a set of identifiers) but is accepted all the same
    settings = Settings(duffy_null=["MRN-77", "MRN-78"])  # type: ignore[arg-type]
    assert settings.duffy_null == frozenset({"MRN-77", "MRN-78"})
    assert hash(settings) == hash(Settings(duffy_null=frozenset({"MRN-78", "MRN-77"})))


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "idna", "undefined"])
def test_a_fallback_codec_that_cannot_decode_bytes_to_text_is_refused(codec: str) -> None:
    # accepted, it turned every message that needs the fallback into "please report it"
    with pytest.raises(leukoflag.SettingsError, match=f"'{codec}' does not decode bytes to text"):
        Settings(fallback_charset=codec)


@pytest.mark.parametrize("codec", ["utf-16", "utf_16_le", "utf-32", "cp500"])
def test_a_fallback_codec_that_does_not_read_ascii_as_ascii_is_refused(codec: str) -> None:
    # accepted, it read 'MSH|^~\\&|' as CJK text and rejected the message for its MSH-2
    with pytest.raises(leukoflag.SettingsError, match=f"'{codec}' does not read ASCII as ASCII"):
        Settings(fallback_charset=codec)


@pytest.mark.parametrize("codec", ["utf-7", "unicode_escape", "raw_unicode_escape"])
def test_a_fallback_codec_that_reads_some_ascii_as_other_text_is_refused(codec: str) -> None:
    # accepted, UTF-7 read MSH-7 '…+0100' as base64 and rejected a message from Europe as
    # "message type M1 is not a lab result"; the escape codecs read backslash text as escapes
    with pytest.raises(leukoflag.SettingsError, match=f"'{codec}' does not read ASCII as ASCII"):
        Settings(fallback_charset=codec)


def test_a_message_with_a_positive_offset_is_read_with_an_accepted_fallback() -> None:
    message = (
        b"MSH|^~\\&|LABSYS|STADTLABOR|EHR|KLINIKUM|20261124091047+0100||ORU^R01|FB-2|P|2.5.1\r"
        b"PID|1||MRN200417^^^KLINIKUM^MR||M\xfcller^J\xfcrgen||19610719|M\r"
        b"OBR|1|ORD2|LAB2|58410-2^CBC^LN|||20261124080500+0100\r"
        b"OBX|1|NM|6690-2^Leukocytes^LN||3.1|10*3/uL|4.0-11.0|L|||F\r"
    )
    conversion = leukoflag.convert(message, Settings(fallback_charset="latin-1"))
    assert not conversion.rejected
    assert conversion.bundles[0]["timestamp"] == "2026-11-24T09:10:47+01:00"
    assert [str(f.value_per_ul) for f in conversion.findings] == ["3.1E+3"]


def test_a_fallback_character_set_decodes_what_utf8_cannot() -> None:
    message = (
        b"MSH|^~\\&|LABSYS|CITYLAB|EHR|GENHOSP|20261124091047-0500||ORU^R01|FB-1|P|2.5.1\r"
        b"PID|1||MRN100871^^^GENHOSP^MR||M\xfcller^J\xfcrgen||19610719|M\r"
        b"OBR|1|ORD1|LAB1|58410-2^CBC^LN|||20261124080500-0500\r"
        b"OBX|1|NM|6690-2^Leukocytes^LN||3.1|10*3/uL|4.0-11.0|L|||F\r"
    )
    conversion = leukoflag.convert(message, Settings(fallback_charset="iso8859_15"))
    assert not conversion.rejected
    patient = conversion.bundles[0]["entry"][0]["resource"]
    assert patient["name"][0]["family"] == "Müller"
    assert [i.code for i in conversion.issues if "charset" in i.code] == ["hl7v2.charset-fallback"]


# An adult with an ANC of 410/µL (OBX 2): LL below any limit of the tests above 410.
_LOW_ANC = (
    b"MSH|^~\\&|HEMA-7|RIVERSIDE LAB|EHR|RIVERSIDE|20261124101731-0500||ORU^R01^ORU_R01|"
    b"RL-88120442|P|2.5.1\r"
    b"PID|1||R-0030912^^^RIVERSIDE^MR||HALLORAN^SIOBHAN||19591223|F\r"
    b"OBR|1|RX-5519|RL-447|CBC^Complete blood count^L|||20261124094500-0500\r"
    b"OBX|1|NM|WBC^White blood cell count^L||2650|cells/uL|4500-11000|L|||F\r"
    b"OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||410|/mm3|"
    b"1800-7700|LL|||F\r"
)


def _anc_threshold(settings: Settings) -> tuple[bytes, Decimal | None]:
    conversion = leukoflag.convert(_LOW_ANC, settings)
    (finding,) = [f for f in conversion.findings if f.analyte.value == "anc"]
    return leukoflag.fhir.dumps(conversion.bundles[0]), finding.threshold


def test_equal_critical_lows_give_equal_output_in_one_plain_form() -> None:
    # "750.0", 750 and "7.5E+2" made equal Settings with equal hashes, yet Finding.threshold
    # and the Bundle said 750.0, 750 or 7.5E+2: an engine caching by Settings mixed them up
    outputs = {
        limit: _anc_threshold(Settings(critical_low={"anc": limit}))
        for limit in ("750.0", 750, "7.5E+2", Decimal("750.000"))
    }
    assert {repr(threshold) for _, threshold in outputs.values()} == {"Decimal('750')"}
    assert len({bundle for bundle, _ in outputs.values()}) == 1
    bundle = outputs[750][0]
    assert b'"url":"threshold","valueQuantity":{"value":750,' in bundle
    assert b"Settings.critical_low ANC < 750/\xc2\xb5L" in bundle


@pytest.mark.parametrize(
    ("given", "kept"),
    [("750.50", "750.5"), ("1E+3", "1000"), ("-0", "0"), ("0.000", "0"), ("0E+3", "0")],
)
def test_a_critical_low_is_kept_in_one_canonical_form(given: str, kept: str) -> None:
    settings = Settings(critical_low={"anc": given})
    assert str(settings.critical_low_for("anc")) == kept
    assert settings == Settings(critical_low={"anc": kept})
    assert hash(settings) == hash(Settings(critical_low={"anc": kept}))


@pytest.mark.parametrize(
    ("limit", "said"),
    [
        ("1e999999999", "must be at most 1,000,000 cells/µL"),
        ("1000000.5", "must be at most 1,000,000 cells/µL"),
        ("NaN", "not a finite number: 'NaN'"),
        (float("nan"), "not a finite number: nan"),
        ("Infinity", "not a finite number: 'Infinity'"),
        ("-0.5", "must be ≥ 0 cells/µL: '-0.5'"),
    ],
)
def test_an_absurd_critical_low_is_refused_naming_the_analyte(limit: object, said: str) -> None:
    # 1e999999999 was accepted and written to every LL Finding as 1E+999999999 cells/µL
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(critical_low={"anc": limit})  # type: ignore[dict-item]
    assert str(caught.value).startswith("critical_low['anc']: ")
    assert said in str(caught.value)


@pytest.mark.parametrize(("limit", "meant"), [("0.5", "500"), (1.5, "1,500"), ("2", "2,000")])
def test_a_critical_low_in_thousands_per_microlitre_is_refused_as_a_slip(
    limit: object, meant: str
) -> None:
    # A lab's critical list says "ANC < 0.5 x10^9/L": {"anc": "0.5"} was taken as 0.5 cells/uL,
    # so an ANC of 100/uL (0.1 x10^9/L) got LU, not LL: no count but 0 is below such a limit.
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(critical_low={"anc": limit})  # type: ignore[dict-item]
    assert str(caught.value) == (
        f"critical_low['anc']: {limit} cells/µL is below every count a lab sends but 0 (counts "
        f"come in steps of 10 cells/µL, 0.01 × 10³/µL): a limit in 10³/µL or 10⁹/L, {meant} "
        "cells/µL? Give cells/µL (0: no count is critical)"
    )


def test_the_lowest_critical_lows_are_zero_and_ten() -> None:
    assert Settings(critical_low={"anc": 0}).critical_low_for("anc") == 0
    assert Settings(critical_low={"anc": 10}).critical_low_for("anc") == 10
    with pytest.raises(leukoflag.SettingsError, match="below every count a lab sends but 0"):
        Settings(critical_low={"anc": "9.99"})


def test_a_critical_low_above_the_highest_plausible_count_says_so() -> None:
    # the highest plausible count itself is no critical limit either (it is above every
    # normal range's low limit), but a limit above it is said to be implausible
    highest = default_table().plausible_high
    with pytest.raises(leukoflag.SettingsError, match="is not a critical limit"):
        Settings(critical_low={"wbc": highest})
    with pytest.raises(leukoflag.SettingsError, match="at most 1,000,000"):
        Settings(critical_low={"wbc": highest + Decimal("0.1")})


def test_repr_says_how_many_duffy_null_identifiers_never_which() -> None:
    # an engine that logs its settings wrote its patients' identifiers to its logs
    settings = Settings(
        duffy_null={"RB-20417", "urn:oid:2.16.840.1.113883.3.7104.1|RB-20533", "MRN-77"},
        default_timezone="Europe/Warsaw",
    )
    for shown in (repr(settings), str(settings), f"{settings!r}", repr([settings])):
        assert "RB-20417" not in shown
        assert "RB-20533" not in shown
        assert "MRN-77" not in shown
        assert "duffy_null=<3 identifiers>, default_timezone='Europe/Warsaw'" in shown
    assert "duffy_null=<'*' and 1 identifier>" in repr(Settings(duffy_null={"*", "RB-20417"}))
    assert "duffy_null=frozenset({'*'})" in repr(Settings(duffy_null={"*"}))
    assert repr(Settings()) == (
        "Settings(fhir_version='R4', bundle_type='transaction', range_policy='lab', "
        "ctcae_version='5.0', critical_low={'anc': Decimal('500'), 'wbc': Decimal('2000')}, "
        "duffy_null=frozenset(), default_timezone=None, fallback_charset='cp1252', strict=False)"
    )
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings
    assert copy.duffy_null == settings.duffy_null
    assert copy.is_duffy_null(("RB-20417",))


@pytest.mark.parametrize(
    ("zone", "said"),
    [
        # the host's zone: the same message gave other times on another machine
        ("localtime", "'localtime' is this machine's zone, so the output would depend on the host"),
        ("posixrules", "'posixrules' is the rules file of POSIX TZ strings, not a zone"),
        # written +00:00 for a clock nobody set
        ("Factory", "'Factory' is the zone of a clock nobody set"),
        ("posix/Europe/Warsaw", "'posix/Europe/Warsaw' is a copy of the zone database: name "),
        ("right/America/Chicago", "'right/America/Chicago' counts leap seconds, which FHIR times"),
        ("+05:00", "unknown IANA zone '+05:00' (a fixed offset is an IANA name too: Etc/GMT+5"),
        ("", "unknown IANA zone ''"),
    ],
)
def test_a_zone_database_name_that_is_no_place_is_refused(zone: str, said: str) -> None:
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(default_timezone=zone)
    assert str(caught.value).startswith(f"default_timezone: {said}")


@pytest.mark.parametrize(
    ("zone", "written"),
    [
        ("Etc/GMT+5", "2026-11-24T08:05:00-05:00"),  # a fixed offset, as IANA writes it
        ("UTC", "2026-11-24T08:05:00+00:00"),
        ("US/Eastern", "2026-11-24T08:05:00-05:00"),  # a link of the backward file
        ("Europe/Warsaw", "2026-11-24T08:05:00+01:00"),
    ],
)
def test_iana_zones_and_fixed_offsets_are_accepted(zone: str, written: str) -> None:
    message = _LOW_ANC.replace(b"|F\r", b"|F|||20261124080500\r")
    conversion = leukoflag.convert(message, Settings(default_timezone=zone))
    (bundle,) = conversion.bundles
    times = {
        entry["resource"].get("effectiveDateTime")
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
    }
    assert times == {written}


# An adult (PID-3 RB-20417 of RIVERSIDE) with an ANC of 1,300/µL: neutropenia, but within the
# Duffy-null range (1,210-5,390) when the patient is declared Duffy-null.
_ANC_1300 = _LOW_ANC.replace(b"R-0030912^^^RIVERSIDE^MR", b"RB-20417^^^RIVERSIDE^MR").replace(
    b"||410|/mm3|1800-7700|LL|", b"||1300|/mm3||L|"
)


@pytest.mark.parametrize(
    "declared",
    [{"RB-20417\n"}, {" RB-20417 "}, {"RIVERSIDE|RB-20417\r\n"}, {"RB-20417", "RB-20417 "}],
)
def test_a_duffy_null_identifier_is_matched_stripped_as_the_message_identifiers_are(
    declared: set[str],
) -> None:
    # an identifier read from a file with its line break matched no patient, silently
    settings = Settings(duffy_null=declared)
    assert settings == Settings(duffy_null={declared.pop().strip()})
    conversion = leukoflag.convert(_ANC_1300, settings)
    (finding,) = [f for f in conversion.findings if f.analyte.value == "anc"]
    assert (finding.code, finding.rule) == ("N", "anc-within-range")
    without = leukoflag.convert(_ANC_1300)
    assert [f.rule for f in without.findings if f.analyte.value == "anc"] == ["anc-neutropenia"]


@pytest.mark.parametrize(
    "declared", [{""}, {"  "}, {"RB-20417", "\t"}, {"RIVERSIDE|"}, {"|RB-20417"}, {"RIVERSIDE| "}]
)
def test_a_blank_duffy_null_identifier_is_refused_without_naming_the_others(
    declared: set[str],
) -> None:
    # it matched no patient: a declared Duffy-null patient silently judged on the general ranges
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(duffy_null=declared)
    assert str(caught.value) == (
        "duffy_null: an identifier is blank, or has a blank system or value (system|value), "
        "and would match no patient"
    )


def test_zones_do_not_depend_on_the_system_zone_database(tmp_path: Path) -> None:
    # without system zone files (Windows, an Alpine image) every zone name was refused:
    # tzdata is a runtime dependency, and zoneinfo reads it when the system has none
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))
    assert [d for d in project["project"]["dependencies"] if d.startswith("tzdata")]
    script = (
        "import zoneinfo, leukoflag, sys\n"
        "assert zoneinfo.TZPATH == ()\n"
        "settings = leukoflag.Settings(default_timezone='America/Chicago')\n"
        "conversion = leukoflag.convert(sys.stdin.buffer.read(), settings)\n"
        "for entry in conversion.bundles[0]['entry']:\n"
        "    print(entry['resource'].get('effectiveDateTime'))\n"
    )
    message = _LOW_ANC.replace(b"|F\r", b"|F|||20261124080500\r")
    ran = subprocess.run(
        [sys.executable, "-c", script],
        input=message,
        capture_output=True,
        env={**os.environ, "PYTHONTZPATH": ""},  # no system zone files
        check=False,
    )
    assert (ran.returncode, ran.stderr) == (0, b"")
    assert b"\n2026-11-24T08:05:00-06:00\n" in ran.stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # a value read from a broken configuration file: a name no zone or codec has
        ("default_timezone", "America/" + "Chicago" * 40),
        ("fallback_charset", "cp1252\x00"),
        ("fallback_charset", "latin-1\udc80"),
    ],
)
def test_a_name_no_zone_or_codec_can_have_is_a_settings_error(field: str, value: str) -> None:
    with pytest.raises(leukoflag.SettingsError, match=f"^{field}: unknown"):
        Settings(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("analyte", "limit", "lowest", "rule"),
    [
        ("wbc", 8000, "3,000", "wbc-duffy-null"),
        ("wbc", "3000.5", "3,000", "wbc-duffy-null"),
        ("anc", 1300, "1,000", "anc-0-1m"),
    ],
)
def test_a_critical_low_above_a_normal_range_low_limit_is_refused(
    analyte: str, limit: object, lowest: str, rule: str
) -> None:
    # --critical-low wbc=8000 made an adult's normal WBC of 6,800/uL LL with no leukopenia;
    # ANC 1,300 made an infant's normal 1,200 (range 1,000-8,500) LL with no neutropenia
    with pytest.raises(leukoflag.SettingsError) as caught:
        Settings(critical_low={analyte: limit})  # type: ignore[dict-item]
    said = str(caught.value)
    assert said.startswith(f"critical_low[{analyte!r}]: ")
    assert f"is not a critical limit: it is above {lowest} cells/µL" in said
    assert f"(rule {rule})" in said
    assert said.endswith(f"give at most {lowest}")


@pytest.mark.parametrize(("analyte", "limit"), [("wbc", 3000), ("anc", 1000)])
def test_a_critical_low_at_the_lowest_normal_low_limit_is_kept(analyte: str, limit: int) -> None:
    assert Settings(critical_low={analyte: limit}).critical_low_for(analyte) == Decimal(limit)
