"""Whatever JSON arrives, every item is read into an output or a Rejected, never a traceback."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leukoflag
from leukoflag import fhir

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10_000),
    st.decimals(min_value=-10, max_value=10_000, places=2, allow_nan=False),
    st.sampled_from(["final", "L", "K/uL", "10*3/uL", "http://loinc.org", "6690-2", "751-8", "#p"]),
)
_KEYS = [
    "resourceType", "status", "code", "coding", "system", "value", "unit", "valueQuantity",
    "valueString", "referenceRange", "low", "high", "text", "interpretation", "component",
    "subject", "reference", "specimen", "contained", "entry", "resource", "fullUrl", "id",
    "effectiveDateTime", "dataAbsentReason", "comparator", "result", "birthDate", "gender",
]  # fmt: skip
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5),
    ),
    max_leaves=25,
)
_resource_types = st.sampled_from(["Observation", "Bundle", "DiagnosticReport", "Patient", "Nope"])


@st.composite
def _resources(draw: st.DrawFn) -> dict[str, Any]:
    resource = draw(st.dictionaries(st.sampled_from(_KEYS), _json, max_size=6))
    resource["resourceType"] = draw(_resource_types)
    if draw(st.booleans()):
        resource["code"] = {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]}
        resource["status"] = "final"
    return resource


def _items(data: bytes) -> list[fhir.FhirItem]:
    read = fhir.read_items(io.BytesIO(data), source="<t>", settings=leukoflag.Settings())
    return [item for item in read if isinstance(item, fhir.FhirItem)]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_resources(), min_size=1, max_size=4), st.booleans())
def test_any_json_gives_one_output_or_rejection_per_item(
    resources: list[dict[str, Any]], as_ndjson: bool
) -> None:
    if as_ndjson:
        data = b"".join(fhir.dumps(r, newline=True) for r in resources)
    else:
        data = fhir.dumps(resources)
    conversion = leukoflag.convert(data)
    assert len(conversion.bundles) + len(conversion.rejected) == len(resources)
    assert sorted([r.index for r in conversion.rejected] + [i.index for i in _items(data)]) == list(
        range(1, len(resources) + 1)
    )
    for output in conversion.bundles:
        assert fhir.loads(fhir.dumps(output)) == output  # serializable, exactly
