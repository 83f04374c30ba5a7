"""A range per sex labelled in a European lab's language (``Männer 4,0-10,0 Frauen 4,5-11,0``,
``H 4,0-10,0 M 4,5-11,0``) is read as one range for each sex only when its labels say which is
which in every language that uses them; else it is not used (the default range judges)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import leukoflag
from leukoflag.model import ReferenceRange

from .messages import finding_and_range, read, results

EXPLANATION = "http://leukoflag.org/fhir/StructureDefinition/interpretation-explanation"

# A German hospital lab: Latin-1 (MSH-18 8859/1), decimal commas, counts in G/L
_CBC = (
    "MSH|^~\\&|LABOR|KLINIKUM NORD|KIS|KLINIKUM NORD|20261124091047+0100||ORU^R01^ORU_R01|"
    "KN-0044817|P|2.5|||||DEU|8859/1\r"
    "PID|1||4471203^^^KLINIKUM NORD^MR||Müller^Jürgen||19610719|{sex}\r"
    "OBR|1|A7721^KIS|L5512^LABOR|58410-2^Blutbild^LN|||20261124080500+0100\r"
    "OBX|1|NM|6690-2^Leukozyten^LN||{value}|G/L|{reference}||||F\r"
)


def cbc(reference: str, sex: str, value: str = "4,2") -> bytes:
    return _CBC.format(reference=reference, sex=sex, value=value).encode("latin-1")


def observation(conversion: leukoflag.Conversion) -> dict[str, Any]:
    (bundle,) = conversion.bundles
    found: list[dict[str, Any]] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    return found[0]


def explanation(written: dict[str, Any]) -> dict[str, Any]:
    (extension,) = [e for e in written["extension"] if e["url"] == EXPLANATION]
    return {
        part["url"]: next(v for k, v in part.items() if k.startswith("value"))
        for part in extension["extension"]
    }


@pytest.mark.parametrize(
    ("reference", "men", "women"),
    [
        ("M 4,0-10,0 W 4,5-11,0 G/L", "M (German)", "W (German)"),
        ("Männer: 4,0-10,0 Frauen: 4,5-11,0 G/L", "Männer (German)", "Frauen (German)"),
        ("MAENNER 4,0-10,0 / FRAUEN 4,5-11,0", "MAENNER (German)", "FRAUEN (German)"),
        ("männlich 4,0-10,0; weiblich 4,5-11,0", "männlich (German)", "weiblich (German)"),
        ("Herren 4,0-10,0 Damen 4,5-11,0 G/L", "Herren (German)", "Damen (German)"),
        ("Mænd: 4,0-10,0 Kvinder: 4,5-11,0", "Mænd (Danish)", "Kvinder (Danish)"),
        ("Menn 4,0-10,0 Kvinner 4,5-11,0", "Menn (Norwegian)", "Kvinner (Norwegian)"),
        ("H 4,0-10,0 F 4,5-11,0 G/L", "H (French)", "F (French)"),
        # French typography: a space before the colon
        ("Hommes : 4,0-10,0 ; Femmes : 4,5-11,0", "Hommes (French)", "Femmes (French)"),
        ("H: 4,0-10,0 M: 4,5-11,0", "H (Spanish, Portuguese)", "M (Spanish, Portuguese)"),
        ("M: 4,5-11,0 H: 4,0-10,0 G/L", "H (Spanish, Portuguese)", "M (Spanish, Portuguese)"),
        ("Hombres 4,0-10,0 Mujeres 4,5-11,0", "Hombres (Spanish)", "Mujeres (Spanish)"),
        ("Varón 4,0-10,0 Mujer 4,5-11,0", "Varón (Spanish)", "Mujer (Spanish)"),
        ("VARONES 4,0-10,0 MUJERES 4,5-11,0", "VARONES (Spanish)", "MUJERES (Spanish)"),
        # a letter beside a word is read in the word's language: M is women in Spanish
        ("Hombres 4,0-10,0 M 4,5-11,0", "Hombres (Spanish)", "M (Spanish)"),
        ("Homens: 4,0-10,0 Mulheres: 4,5-11,0", "Homens (Portuguese)", "Mulheres (Portuguese)"),
        ("U 4,0-10,0 D 4,5-11,0", "U (Italian)", "D (Italian)"),
        ("Uomini 4,0-10,0 Donne 4,5-11,0 G/L", "Uomini (Italian)", "Donne (Italian)"),
        ("Mannen 4,0-10,0 Vrouwen 4,5-11,0", "Mannen (Dutch)", "Vrouwen (Dutch)"),
        ("Mannen 4,0-10,0 V 4,5-11,0", "Mannen (Dutch)", "V (Dutch)"),
        ("Male 4,0-10,0 / F 4,5-11,0", "Male (English)", "F (English)"),
    ],
)
@pytest.mark.parametrize(
    ("sex", "judged"),
    [("M", ("male", 4000, 10000, "N")), ("F", ("female", 4500, 11000, "L"))],
)
def test_wbc_judged_with_the_range_a_european_lab_gives_for_the_patients_sex(
    reference: str, men: str, women: str, sex: str, judged: tuple[str, int, int, str]
) -> None:
    gender, low, high, code = judged
    # labels in other languages gave no limits: a man's 4.2 G/L was L against 5,000-10,000
    conversion = leukoflag.convert(cbc(reference, sex))
    assert "flag.lab-range-unusable" not in {i.code for i in conversion.issues}
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.sex) == ("lab", gender)
    assert (applied.low, applied.high) == (Decimal(low), Decimal(high))
    assert finding.code == code
    written = observation(conversion)
    assert written["referenceRange"][0]["text"] == reference
    parts = explanation(written)
    assert (parts["rangeSex"], parts["rangeSexLabel"]) == (gender, men if sex == "M" else women)


@pytest.mark.parametrize(
    "reference",
    [
        "Ma\u0308nner 4,0-10,0 Fe\u0301minin 4,5-11,0",  # UTF-8 sent decomposed
        "Manner 4,0-10,0 feminin 4,5-11,0",  # accents left out
    ],
)
def test_labels_are_read_with_or_without_their_accents(reference: str) -> None:
    data = _CBC.format(reference=reference, sex="F", value="4,2").replace("8859/1", "UNICODE UTF-8")
    _, applied = finding_and_range(leukoflag.convert(data.encode("utf-8")))
    assert (applied.sex, applied.low, applied.high) == (
        "female",
        Decimal(4500),
        Decimal(11000),
    )


@pytest.mark.parametrize(
    ("reference", "label"),
    [
        ("Mężczyźni 4,0-10,0 Kobiety 4,5-11,0", "Kobiety (Polish)"),
        ("Muži 4,0-10,0 Ženy 4,5-11,0 G/L", "Ženy (Czech)"),
    ],
)
def test_a_range_per_sex_under_polish_or_czech_words_judges_a_woman(
    reference: str, label: str
) -> None:
    # the words were no labels leukoflag knew: the lab's range was not used
    data = _CBC.format(reference=reference, sex="F", value="4,2").replace("8859/1", "UNICODE UTF-8")
    conversion = leukoflag.convert(data.encode("utf-8"))
    assert "flag.lab-range-unusable" not in {i.code for i in conversion.issues}
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.sex, applied.low, applied.high) == (
        "lab",
        "female",
        Decimal(4500),
        Decimal(11000),
    )
    assert finding.code == "L"
    assert explanation(observation(conversion))["rangeSexLabel"] == label


def test_a_spanish_range_for_women_under_m_is_not_taken_for_the_mens() -> None:
    # M beside H is mujeres: read as the English M, a woman's 4.6 would be N against 4.0-10.0
    reference = "H: 3,5-9,5 M: 4,8-11,0"
    conversion = leukoflag.convert(cbc(reference, "F", value="4,6"))
    finding, applied = finding_and_range(conversion)
    assert (applied.sex, applied.low, applied.high) == (
        "female",
        Decimal(4800),
        Decimal(11000),
    )
    assert finding.code == "L"


def test_a_european_range_per_sex_judges_a_patient_of_unknown_sex_with_its_union() -> None:
    conversion = leukoflag.convert(cbc("H: 4,0-10,0 M: 4,5-11,0 G/L", "U"))
    (said,) = [i for i in conversion.issues if i.code == "flag.lab-range-sex-union"]
    assert said.text == (
        "the lab's reference range 'H: 4,0-10,0 M: 4,5-11,0 G/L' gives one range for men and one "
        "for women, read from 'H' and 'M' in Spanish, Portuguese, and the patient's sex is "
        "'unknown': judged with their union, 4,000–11,000 cells/µL (a value normal for either sex "
        "is not flagged)"
    )
    _, applied = finding_and_range(conversion)
    assert (applied.low, applied.high, applied.sex) == (
        Decimal(4000),
        Decimal(11000),
        "",
    )
    assert "rangeSexLabel" not in explanation(observation(conversion))


def test_the_union_issue_names_labels_of_two_languages_each_with_its_own() -> None:
    conversion = leukoflag.convert(cbc("Männer 4,0-10,0 Femmes 4,5-11,0", "U"))
    (said,) = [i for i in conversion.issues if i.code == "flag.lab-range-sex-union"]
    assert "read from 'Männer' in German and 'Femmes' in French, and" in said.text


@pytest.mark.parametrize(
    "reference",
    [
        "M 4,0-10,0 V 4,5-11,0",  # Dutch mannen/vrouwen, or Spanish varones/mujeres the other way
        "V 4,0-10,0 M 4,5-11,0",
        "M: 4,0-10,0",  # one letter alone: men in English, women in Spanish
        "M 4,0-10,0 K 4,5-11,0",  # Polish mężczyźni/kobiety: a pair not listed
        "H 4,0-10,0 D 4,5-11,0",  # Herren/Damen: a pair not listed
        "H 4,0-10,0 H 4,5-11,0",
        "Männer 4,0-10,0 M 4,5-11,0",  # M beside a German word is men: men twice
        "Hommes 4,0-10,0 M 4,5-11,0",  # M is no French label
        "Hombres 4,0-10,0 Varones 4,5-11,0",
    ],
)
def test_a_range_per_sex_whose_labels_do_not_say_which_is_which_is_not_used(
    reference: str,
) -> None:
    (result,) = results(read(cbc(reference, "F")))
    assert result.reference_range == ReferenceRange(reference)
    conversion = leukoflag.convert(cbc(reference, "F"))
    assert "flag.lab-range-unusable" in {i.code for i in conversion.issues}
    _, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "default",
        Decimal(4500),
        Decimal(11000),
    )


@pytest.mark.parametrize("reference", ["Frauen 4,5-11,0", "Female: 4.5-11.0 G/L", "Damen 4,5-11,0"])
def test_one_sexs_range_alone_judges_a_patient_of_that_sex(reference: str) -> None:
    # it gave no limits: a woman's 4.2 G/L was judged with the default range, unusable
    conversion = leukoflag.convert(cbc(reference, "F"))
    assert "flag.lab-range-unusable" not in {i.code for i in conversion.issues}
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.sex, applied.low, applied.high) == (
        "lab",
        "female",
        Decimal(4500),
        Decimal(11000),
    )
    assert finding.code == "L"
    written = observation(conversion)
    assert written["referenceRange"][0]["text"] == reference
    assert explanation(written)["rangeSex"] == "female"


@pytest.mark.parametrize(
    ("sex", "who", "low", "high"),
    [
        ("M", "the patient is male", 5000, 10000),
        ("U", "the patient's sex is 'unknown'", 4500, 11000),
        ("", "the patient's sex is 'unknown'", 4500, 11000),
    ],
)
def test_one_sexs_range_alone_does_not_judge_another_or_an_unknown_sex(
    sex: str, who: str, low: int, high: int
) -> None:
    conversion = leukoflag.convert(cbc("Frauen 4,5-11,0", sex))
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert found.text == (
        "the lab's reference range 'Frauen 4,5-11,0' is not used (it gives limits for women only "
        f"('Frauen'), and {who}); leukoflag's default range applies"
    )
    assert (found.severity, found.location) == ("warning", "MSG[1]/OBX[1]-7")
    _, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "default",
        Decimal(low),
        Decimal(high),
    )


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        (
            "M 4,0-10,0 V 4,5-11,0",
            (
                "it gives limits under 'M' and 'V', but the letters 'M' and 'V' name men and "
                "women either way round ('M' women in Spanish but 'M' men in Dutch): which range "
                "is whose is not known"
            ),
        ),
        (
            "M: 4,0-10,0",
            (
                "it gives limits under 'M' alone, a letter that names a sex only beside the other "
                "sex's"
            ),
        ),
        (
            "M 4,0-10,0 K 4,5-11,0",
            "it gives limits under 'M' and 'K', and 'K' is no label of a sex leukoflag knows",
        ),
        (
            "Frauen 4,000-11,000",
            (
                "the comma in '4,000' may separate thousands or be a decimal comma: no numeric "
                "limits were read from its range for women ('Frauen')"
            ),
        ),
        (
            "Frauen 11,0-4,5",
            "its range for women ('Frauen') has its low limit above its high limit",
        ),
        (
            "Männer 4,0-10,0 M 4,5-11,0",
            (
                "it gives limits under 'Männer' and 'M', but 'Männer' and 'M' both name men: which "
                "range is whose is not known"
            ),
        ),
        (
            "Hommes 4,0-10,0 M 4,5-11,0",
            (
                "it gives limits under 'Hommes' and 'M', but 'M' names no sex in French, the "
                "language of 'Hommes' beside it: which range is whose is not known"
            ),
        ),
        (
            "Hommes : 4,0-10,0 ; Femmes : voir note",
            "no numeric limits were read from its range for women ('Femmes')",
        ),
        (
            "M 4,000-10,000 W 4,500-11,000",
            (
                "the comma in '4,000' may separate thousands or be a decimal comma: no numeric "
                "limits were read from its range for men ('M')"
            ),
        ),
    ],
)
def test_a_range_per_sex_not_used_says_its_limits_are_under_labels_not_read(
    reference: str, why: str
) -> None:
    # it said "no numeric limits were read from it", though the text gives limits
    conversion = leukoflag.convert(cbc(reference, "F"))
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert found.text == (
        f"the lab's reference range {reference!r} is not used ({why}); leukoflag's default range "
        "applies"
    )


@pytest.mark.parametrize(
    ("reference", "chosen"),
    [
        (
            "H: 4,0-10,0 g/dL M: 4,5-11,0 G/L",
            "its range for men, '4,0-10,0 g/dL', read from 'H' in Spanish, Portuguese,",
        ),
        (
            "M: 4,0-10,0 g/dL F: 4,5-11,0 G/L",
            "its range for men, '4,0-10,0 g/dL', read from 'M' in English,",
        ),
    ],
)
def test_the_patients_range_per_sex_not_used_is_named_with_its_label(
    reference: str, chosen: str
) -> None:
    # the Issue gave the unit's reason alone: whose range it was, under which label, was not said
    conversion = leukoflag.convert(cbc(reference, "M"))
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert found.text.startswith(
        f"the lab's reference range {reference!r} is not used ({chosen} cannot be used: "
        "wrong-analyte: unit 'g/dL' (g/dL) is grams per decilitre"
    )
    _, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "default",
        Decimal(5000),
        Decimal(10000),
    )
