"""Every Bundle and flagged resource the FHIR tests produce is checked with fhir.resources.

The writer's and the flagger's outputs are validated as they are made (R4 Bundles with the R4B
models, R5 Bundles with the R5 models; flagged input in every version the input itself is valid
in), and checked against the FHIR invariants the models do not check (fhir_invariants; flagged
input when the input itself keeps them), so no test can produce invalid FHIR unnoticed, whatever
it asserts itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from fhir_invariants import invariant_problems

from leukoflag import fhir
from leukoflag.model import Evaluation, Issue, Message
from leukoflag.settings import Settings

_write_bundle = fhir.write_bundle
_flag_in_place = fhir.flag_in_place


def _validated_bundle(
    message: Message, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    bundle, issues = _write_bundle(message, evaluations, settings)
    problems = fhir.validate(bundle, settings.fhir_version)
    assert problems == [], (
        f"{message.location} wrote invalid FHIR {settings.fhir_version}: {problems}"
    )
    broken = invariant_problems(bundle)
    assert broken == [], f"{message.location} wrote a Bundle breaking FHIR invariants: {broken}"
    return bundle, issues


def _validated_flagged(
    item: fhir.FhirItem, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    output, issues = _flag_in_place(item, evaluations, settings)
    for version in ("R4", "R5"):
        if not fhir.validate(item.resource, version):  # valid input must stay valid
            problems = fhir.validate(output, version)
            assert problems == [], f"{item.location} flagged into invalid {version}: {problems}"
    if not invariant_problems(item.resource):  # input keeping them must keep them
        broken = invariant_problems(output)
        assert broken == [], f"{item.location} flagged breaking FHIR invariants: {broken}"
    return output, issues


@pytest.fixture(autouse=True)
def _validate_every_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhir, "write_bundle", _validated_bundle)
    monkeypatch.setattr(fhir, "flag_in_place", _validated_flagged)
