"""Conversions are isolated from each other (DESIGN.md: no global state).

The hot path keeps many per-process caches (readings of field texts, unit plans, renderings,
the JSON text of Decimals, flagging's worked-out ages and sources). A cache whose key misses an
input that changes its result makes one conversion's output depend on what the process
converted before. So a varied corpus (delimiters, escape characters, charsets, patients, units,
FHIR input) is converted under each settings variant in a fresh process, and then in this
process interleaved in mixed orders, in threads, after its earlier outputs were scribbled on:
every output (Bundles as JSON text, findings, issues, rejections) must be the fresh one.
"""

from __future__ import annotations

import concurrent.futures
import copy
import decimal
import json
import pickle
import random
import subprocess
import sys
from typing import Any

import pytest

import leukoflag
from leukoflag import fhir, hl7v2
from leukoflag.model import Message
from leukoflag.settings import Settings

_MSH = (
    "MSH|^~\\&|HEMLAB|NORTHGATE^2.16.840.1.113883.3.5521^ISO|EHR|NORTHGATE|"
    "20260311074512-0600||ORU^R01^ORU_R01|{id}|P|2.5.1|||AL|NE||{charset}"
)
_ADULT = "PID|1||NG4471^^^NORTHGATE^MR||HALVORSEN^ERIK^J||19580402|M"
_CHILD = "PID|1||NG9902^^^NORTHGATE^MR||ADEYEMI^TOBI||20230115|F"
_DUFFY = "PID|1||RB-20417^^^NORTHGATE^MR||MENSAH^ABENA||19840211|F"
# OBR-7 without an offset: read with Settings.default_timezone, or kept as a date
_OBR = (
    "OBR|1|EO5521^EHR|HL7730^HEMLAB|58410-2^CBC W Auto Differential panel^LN|||20260311061500|||"
    "||||||||||||20260311073000-0600|||F"
)
_WBC = "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN"
_ANC = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN"


def _obx(n: int, code: str, value: str, unit: str, low_high: str, *, flag: str = "") -> str:
    return f"OBX|{n}|NM|{code}||{value}|{unit}|{low_high}|{flag}|||F|||20260311061500"


def _v2(control_id: str, *segments: str, charset: str = "UNICODE UTF-8") -> str:
    return "\r".join((_MSH.format(id=control_id, charset=charset), *segments)) + "\r"


_CBC = _v2(
    "NG-1001",
    _ADULT,
    _OBR,
    _obx(1, _WBC, "3.1", "10*3/uL^^UCUM", "4.0-11.0", flag="L"),
    _obx(2, _ANC, "0.45", "10*3/uL^^UCUM", "1.8-7.7", flag="LL"),
)
# OBX-3's text, OBX-6 and OBX-7 read as other values where '#' is the escape character.
_ESCAPED = _v2(
    "NG-1004",
    _ADULT,
    _OBR,
    _obx(1, "6690-2^WBC \\T\\ precursors^LN", "3.1", "x10\\S\\9/L", "4.0-11.0 \\T\\ adult"),
)

CORPUS: dict[str, bytes | str] = {
    "cbc": _CBC.encode(),
    # '10^3/uL' is one component where '$' separates them, and a split unit where '^' does
    "dollar-components": _v2("NG-1002", _ADULT, _OBR, _obx(1, _WBC, "3.1", "10^3/uL", "4.0-11.0"))
    .replace("^", "$")
    .replace("10$3/uL", "10^3/uL")
    .encode(),
    "caret-components": _v2(
        "NG-1003", _ADULT, _OBR, _obx(1, _WBC, "3.1", "10^3/uL", "4.0-11.0")
    ).encode(),
    "escape-backslash": _ESCAPED.encode(),
    "escape-hash": _ESCAPED.replace("^~\\&", "^~#&", 1).encode(),
    "latin1-declared": _v2(
        "NG-1005",
        _ADULT.replace("HALVORSEN", "L\xc9VESQUE"),
        _OBR,
        _obx(1, "6690-2^Leucocytes \\XE9\\l\xe9ments^LN", "3.1", "10*3/uL^^UCUM", "4.0-11.0"),
        charset="8859/1",
    ).encode("latin-1"),
    # no MSH-18 and not UTF-8: 0x80 is '€' in cp1252, a C1 control in latin-1
    "undeclared-cp1252": _v2(
        "NG-1006",
        _ADULT.replace("HALVORSEN", "BR\x80NNER"),
        _OBR,
        _obx(1, _WBC, "2.9", "10*3/uL^^UCUM", "4.0-11.0", flag="L"),
        charset="",
    ).encode("latin-1"),
    "child-local-codes": _v2(
        "NG-1007",
        _CHILD,
        _OBR,
        _obx(1, "WCC^White cell count^L", "5.1", "10*9/L", ""),
        _obx(2, "NEUT#^Neutrophils absolute^L", "0.9", "10*9/L", ""),
    ).encode(),
    "duffy-null-patient": _v2(
        "NG-1008",
        _DUFFY,
        _OBR,
        _obx(1, _ANC, "1.3", "10*3/uL^^UCUM", ""),
        _obx(2, _WBC, "3.2", "10*3/uL^^UCUM", ""),
    ).encode(),
    "sn-and-cells": _v2(
        "NG-1009",
        _ADULT,
        _OBR,
        f"OBX|1|SN|{_WBC}||<^0.5|10*3/uL^^UCUM|4.0-11.0|LL|||F|||20260311061500",
        _obx(2, _ANC, "1750", "cells/uL", "1800-7700", flag="L"),
        _obx(3, "26499-4^Neutrophils^LN", "1750.0", "/mm3", "1800-7700"),
    ).encode(),
    # 2,350 × 21.27 % = 499.845 neutrophils/µL: 500 rounded half to even, LL rounded down
    "derived-anc": _v2(
        "NG-1013",
        _ADULT,
        _OBR,
        _obx(1, _WBC, "2.35", "10*3/uL^^UCUM", "4.0-11.0"),
        _obx(2, "770-8^Neutrophils/100 leukocytes in Blood^LN", "21.27", "%", "40-75"),
    ).encode(),
    "batch": (
        "FHS|^~\\&|HEMLAB\rBHS|^~\\&|HEMLAB\r"
        + _CBC.replace("NG-1001", "NG-1010")
        + _CBC.replace("NG-1001", "NG-1011").replace("0.45", "0.62")
        + "BTS|2\rFTS|1\r"
    ).encode(),
    "text-input": _CBC.replace("NG-1001", "NG-1012").replace("HALVORSEN", "\u00d8STERGAARD"),
    "interface-log": b"2026-03-11 07:45:12 INFO sent MSH|^~\\&|HEMLAB|NORTHGATE ack pending\n",
}
_OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "wbc-7731",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
    "subject": {"reference": "Patient/ng-4471"},
    "effectiveDateTime": "2026-03-11T06:15:00-06:00",
    "valueQuantity": {
        "value": 3.1,
        "unit": "10*3/uL",
        "system": "http://unitsofmeasure.org",
        "code": "10*3/uL",
    },
    "referenceRange": [{"low": {"value": 4.0, "unit": "10*3/uL"}, "text": "4.0-11.0"}],
    "interpretation": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    "code": "L",
                }
            ]
        }
    ],
}
_FHIR_ANC = {
    **_OBSERVATION,
    "id": "anc-7732",
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
    "subject": {"reference": "urn:uuid:5e0b1c0a-2d44-4f6e-9a51-7c3d2e1f0a88"},
    "valueQuantity": {"value": 0.41, "unit": "G/L"},
    "referenceRange": [],
}
CORPUS["fhir-observation"] = json.dumps(_OBSERVATION).encode()
CORPUS["fhir-bundle"] = json.dumps(
    {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:5e0b1c0a-2d44-4f6e-9a51-7c3d2e1f0a88",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {"system": "urn:oid:2.16.840.1.113883.3.5521", "value": "RB-20417"}
                    ],
                    "gender": "female",
                    "birthDate": "1984-02-11",
                },
            },
            {"fullUrl": "urn:uuid:0c4e8f6a-1b2d-4e3f-8a9b-6d5c4b3a2f10", "resource": _FHIR_ANC},
        ],
    }
).encode()
# The lab's range is for ages 0.5-1.5 years (547.875 days): the boy is 548 days old that day.
_FOR_AGES = {
    "low": {"value": 6.0, "unit": "10*3/uL"},
    "high": {"value": 17.5, "unit": "10*3/uL"},
    "age": {
        "low": {"value": 0.5, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
        "high": {"value": 1.5, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
    },
}
CORPUS["fhir-age-range"] = json.dumps(
    {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:9a7c1e52-6b0d-4f1a-8e3c-2d5b7f9a1c40",
                "resource": {
                    "resourceType": "Patient",
                    "gender": "male",
                    "birthDate": "2025-01-01",
                },
            },
            {
                "fullUrl": "urn:uuid:3f6d2b8e-0c41-4a97-b5e2-8d1c7a6f9e03",
                "resource": {
                    **_OBSERVATION,
                    "id": "wbc-8810",
                    "subject": {"reference": "urn:uuid:9a7c1e52-6b0d-4f1a-8e3c-2d5b7f9a1c40"},
                    "effectiveDateTime": "2026-07-03T09:20:00+02:00",
                    "valueQuantity": {"value": 5.2, "unit": "10*3/uL"},
                    "referenceRange": [_FOR_AGES],
                },
            },
        ],
    }
).encode()
CORPUS["fhir-ndjson"] = (json.dumps(_OBSERVATION) + "\n" + json.dumps(_FHIR_ANC) + "\n").encode()

# Each field differs from the default in some variant (several in one, to keep the fresh
# processes few): a cache mixing two variants up shows as a difference from the fresh output.
VARIANTS = {
    "default": Settings(),
    "r5-collection-chicago": Settings(
        fhir_version="R5", bundle_type="collection", default_timezone="America/Chicago"
    ),
    "default-ranges-ctcae6-duffy-null": Settings(
        range_policy="default", ctcae_version="6.0", duffy_null={"RB-20417"}
    ),
    # limits a quarter apart (a cache keyed by the rounded limit would mix them up), and an equal
    # ANC limit written apart (Settings keeps it in one form: the same output)
    "critical-one-decimal-strict": Settings(
        critical_low={"wbc": "1750.5", "anc": 750}, strict=True
    ),
    "critical-two-decimals-latin1": Settings(
        critical_low={"wbc": "1750.25", "anc": "750.0"}, fallback_charset="latin-1"
    ),
}

Snapshot = tuple[tuple[bytes, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]

# A fresh process converts the corpus under one variant, in corpus order: what it prints is what
# the conversions give when nothing else was converted before them with other settings.
_FRESH = (
    "import pickle, sys\n"
    "import leukoflag\n"
    "settings, items = pickle.load(sys.stdin.buffer)\n"
    "pickle.dump([leukoflag.convert(data, settings) for data in items], sys.stdout.buffer)\n"
)


def snapshot(conversion: leukoflag.Conversion) -> Snapshot:
    """Everything a conversion gives, as exact text (Decimals keep their exponent)."""
    return (
        tuple(fhir.dumps(bundle) for bundle in conversion.bundles),
        tuple(map(repr, conversion.findings)),
        tuple(map(repr, conversion.issues)),
        tuple(map(repr, conversion.rejected)),
    )


def _fresh(variant: str) -> list[Snapshot]:
    sent = pickle.dumps((VARIANTS[variant], list(CORPUS.values())))
    done = subprocess.run(
        [sys.executable, "-c", _FRESH], input=sent, capture_output=True, check=True
    )
    conversions: list[leukoflag.Conversion] = pickle.loads(done.stdout)
    return [snapshot(conversion) for conversion in conversions]


@pytest.fixture(scope="module")
def fresh() -> dict[tuple[str, str], Snapshot]:
    """The snapshot of every (variant, corpus item), each variant from its own fresh process."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        by_variant = dict(zip(VARIANTS, pool.map(_fresh, VARIANTS), strict=True))
    return {
        (variant, name): shot
        for variant, shots in by_variant.items()
        for name, shot in zip(CORPUS, shots, strict=True)
    }


def _interleaved(seed: int) -> list[tuple[str, str]]:
    """Every (variant, item) pair, in an order that alternates settings (A, B, A, C, B …)."""
    pairs = [(variant, name) for name in CORPUS for variant in VARIANTS]
    random.Random(seed).shuffle(pairs)
    return pairs


def _convert(variant: str, name: str) -> leukoflag.Conversion:
    return leukoflag.convert(CORPUS[name], VARIANTS[variant])


def test_the_corpus_tells_the_variants_apart(fresh: dict[tuple[str, str], Snapshot]) -> None:
    # each variant changes some output (else a cache mixing it up with another could not show)
    for variant in VARIANTS:
        if variant != "default":
            assert any(fresh[variant, name] != fresh["default", name] for name in CORPUS), variant
    one, two = "critical-one-decimal-strict", "critical-two-decimals-latin1"
    assert fresh[one, "sn-and-cells"][1] != fresh[two, "sn-and-cells"][1]
    # and every item ends as one output per message, or (the log) one rejection
    for name in CORPUS:
        bundles, _, _, rejected = fresh["default", name]
        expected = {"interface-log": (0, 1), "batch": (2, 0), "fhir-ndjson": (2, 0)}
        assert (len(bundles), len(rejected)) == expected.get(name, (1, 0)), name


def test_interleaved_conversions_give_what_fresh_ones_give(
    fresh: dict[tuple[str, str], Snapshot],
) -> None:
    different = [pair for pair in _interleaved(1) if snapshot(_convert(*pair)) != fresh[pair]]
    assert different == []


def test_conversions_in_threads_give_what_fresh_ones_give(
    fresh: dict[tuple[str, str], Snapshot],
) -> None:
    # as an integration engine's pool runs them: 16 threads, every pair three times over, so each
    # conversion (and its fhir.dumps) overlaps others of every variant, strict mode included
    pairs = _interleaved(2) + _interleaved(6) + _interleaved(7)
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        shots = list(pool.map(lambda pair: snapshot(_convert(*pair)), pairs))
    different = [pair for pair, shot in zip(pairs, shots, strict=True) if shot != fresh[pair]]
    assert different == []


# What an application may have set in its threads' decimal context, for its own arithmetic.
_CALLER_CONTEXTS = [
    decimal.Context(prec=2),
    decimal.Context(rounding=decimal.ROUND_DOWN),
    decimal.Context(traps=[decimal.Inexact, decimal.Rounded, decimal.InvalidOperation]),
]


def test_the_callers_decimal_context_changes_no_conversion(
    fresh: dict[tuple[str, str], Snapshot],
) -> None:
    different = []
    for n, pair in enumerate(_interleaved(5)):
        with decimal.localcontext(_CALLER_CONTEXTS[n % len(_CALLER_CONTEXTS)]):
            shot = snapshot(_convert(*pair))
        if shot != fresh[pair]:
            different.append(pair)
    assert different == []


def _scribble(node: Any) -> None:
    """Change every container of a JSON tree in place: each string, number and list."""
    for key, value in list(node.items() if isinstance(node, dict) else enumerate(node)):
        if isinstance(value, dict | list):
            _scribble(value)
        else:
            node[key] = f"{value}*changed" if isinstance(value, str) else 0
    if isinstance(node, dict):
        node["extension"] = [{"url": "urn:changed"}]
    else:
        node.append({"changed": True})


def test_changing_every_output_in_place_changes_no_later_conversion(
    fresh: dict[tuple[str, str], Snapshot],
) -> None:
    for pair in _interleaved(3):
        conversion = _convert(*pair)
        for output in conversion.bundles:
            _scribble(output)
    different = [pair for pair in _interleaved(4) if snapshot(_convert(*pair)) != fresh[pair]]
    assert different == []


def test_settings_and_what_conversions_give_survive_pickling() -> None:
    for settings in VARIANTS.values():
        copied = pickle.loads(pickle.dumps(settings))
        assert (copied, hash(copied)) == (settings, hash(settings))
        for name, data in CORPUS.items():
            conversion = leukoflag.convert(data, settings)
            parts = [*conversion.findings, *conversion.issues, *conversion.rejected]
            # every protocol: a queue or store may use an old one (0 and 1 raised TypeError)
            for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
                copied = pickle.loads(pickle.dumps(conversion, protocol))
                assert (copied, copied.fhir_version) == (conversion, settings.fhir_version), name
            assert copy.deepcopy(conversion) == conversion, name
            assert [pickle.loads(pickle.dumps(part)) for part in parts] == parts, name


def test_messages_read_survive_pickling() -> None:
    for name, data in CORPUS.items():
        if not isinstance(data, bytes) or not data.startswith(b"MSH"):
            continue
        read = hl7v2.read_message(data, index=1, source=name, settings=Settings())
        assert isinstance(read, Message), name
        copied = pickle.loads(pickle.dumps(read))
        assert (copied, hash(copied)) == (read, hash(read)), name
