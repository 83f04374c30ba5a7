"""Assertions over leukoflag output, for tests of EHR pipelines.

Each takes what a test has at hand — a :class:`leukoflag.Conversion`, an
:class:`leukoflag.Outcome` of ``leukoflag.iter_file``, a Bundle or Observation dict, or a list
of them — and raises ``AssertionError`` with a message that says what was
expected, what was found and where (Observation id, code, path in the output), plus the Issues
leukoflag reported when a Conversion or Outcome was given. Nothing here needs pytest.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from leukoflag import detect, fhir, hl7v2
from leukoflag._numbers import plain
from leukoflag.api import Conversion, Outcome
from leukoflag.errors import UnitError
from leukoflag.fhir._elements import DERIVED_ANC_TEXT
from leukoflag.model import Severity
from leukoflag.testing._fhir import FhirResource
from leukoflag.testing.conversion import Convertible, RecordedConversion, input_bytes
from leukoflag.units import count_per_ul

__all__ = [
    "Output",
    "assert_count_per_ul",
    "assert_flagged",
    "assert_no_data_loss",
    "assert_not_flagged",
    "assert_valid_fhir",
    "find_observations",
]

#: What the assertions accept: a Conversion, an Outcome, one FHIR resource, or a list of them;
#: or FHIR JSON text or bytes (one resource, an array of them, or NDJSON).
Output: TypeAlias = (
    Conversion
    | Outcome
    | Mapping[str, Any]
    | str
    | bytes
    | Sequence[Mapping[str, Any] | Conversion | Outcome]
)

# Blood count codes by analyte (shared reference/clinical.md, "LOINC codes"): what analyte=
# selects. leukoflag adds 26464-8 / 26499-4 to results it recognized from a local code.
_ANALYTE_LOINC = {
    "wbc": frozenset({"6690-2", "26464-8", "804-5", "33256-9", "12227-5", "49498-9"}),
    "anc": frozenset({"751-8", "26499-4", "753-4", "752-6"}),
}
_LOINC = "http://loinc.org"
_UCUM = "http://unitsofmeasure.org"
_V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# docs/output.md: leukoflag's own extensions.
_EXPLANATION = "http://leukoflag.org/fhir/StructureDefinition/interpretation-explanation"
_SENDER = "http://leukoflag.org/fhir/StructureDefinition/sender-interpretation"
_PER_UL_CODE = "/uL"
_COMPARATOR = re.compile(r"^\s*(<=|>=|<|>)?\s*(.+?)\s*$")
_GROUPED = re.compile(r"^\s*(<=|>=|<|>)?\s*[+-]?\d{1,3}(,\d{3})+(\.\d*)?\s*$")
_SHOWN = 12  # list items shown in a failure message before "(+N more)"


# --------------------------------------------------------------------------- finding results


@dataclass(frozen=True, slots=True)
class _Observation:
    """A result: an Observation, or one ``component`` of a panel Observation."""

    resource: Mapping[str, Any]
    path: str  # where it is in the output: "bundles[0].entry[5]", "entry[5]", ""
    panel: Mapping[str, Any] | None = None  # the Observation a component belongs to

    def describe(self) -> str:
        """``Observation 1f0c… (LOINC 6690-2 "Leukocytes …") at bundles[0].entry[5]``, with
        ``derived by leukoflag`` and the status when it is not final."""
        owner = self.panel if self.panel is not None else self.resource
        ident = owner.get("id")
        head = f"Observation {ident}" if ident else "Observation (no id)"
        if self.panel is not None:
            head = f"component of {head}"
        elif "resourceType" not in owner:
            head = "component"  # given on its own: its panel is not known
        where = f" at {self.path}" if self.path else ""
        notes = ["derived by leukoflag"] if self.derived else []
        if self.status not in ("final", ""):
            notes.append(f"status {self.status}")
        said = "".join(f"; {note}" for note in notes)
        return f"{head} ({_code_text(self.resource)}{said}){where}"

    @property
    def status(self) -> str:
        """``Observation.status`` (a component's is its panel's)."""
        owner = self.panel if self.panel is not None else self.resource
        return str(owner.get("status") or "")

    @property
    def derived(self) -> bool:
        """Whether leukoflag added this result (a derived ANC, withdrawn ones included: those
        have no explanation): it stands for no result of the input."""
        if self.explained("derived") is True:
            return True
        concept = self.resource.get("code")
        return isinstance(concept, Mapping) and concept.get("text") == DERIVED_ANC_TEXT

    @property
    def explanation(self) -> Mapping[str, Any] | None:
        return _extension(self.resource, _EXPLANATION)

    def explained(self, name: str) -> Any:
        """A part of the explanation extension (``rule``, ``finding`` …), or None."""
        explanation = self.explanation
        if explanation is None:
            return None
        for part in explanation.get("extension", []):
            if part.get("url") == name:
                return next((v for k, v in part.items() if k.startswith("value")), None)
        return None

    @property
    def computed(self) -> list[str]:
        """The interpretation codes leukoflag computed (none when it did not flag the result)."""
        if self.explanation is None:
            return []
        return [
            str(coding.get("code"))
            for concept in self.resource.get("interpretation", [])
            for coding in concept.get("coding", [])
            if coding.get("system") == _V3
        ]

    @property
    def sender_flags(self) -> list[str]:
        """The sender's own flags: leukoflag moves them to an extension when it flags."""
        if self.explanation is not None:
            concepts = [
                extension.get("valueCodeableConcept", {})
                for extension in self.resource.get("extension", [])
                if extension.get("url") == _SENDER
            ]
        else:
            concepts = list(self.resource.get("interpretation", []))
        return [str(c.get("code")) for concept in concepts for c in concept.get("coding", [])]

    def codes(self) -> set[str]:
        """Every code of ``Observation.code``, bare and as ``system|code``."""
        out: set[str] = set()
        for coding in self.resource.get("code", {}).get("coding", []):
            code = str(coding.get("code", ""))
            out.add(code)
            if coding.get("system"):
                out.add(f"{coding['system']}|{code}")
        return out

    def analytes(self) -> set[str]:
        loinc = {
            str(c.get("code"))
            for c in self.resource.get("code", {}).get("coding", [])
            if c.get("system") == _LOINC
        }
        return {name for name, codes in _ANALYTE_LOINC.items() if loinc & codes}


def _extension(resource: Mapping[str, Any], url: str) -> Mapping[str, Any] | None:
    for extension in resource.get("extension", []):
        if extension.get("url") == url:
            found: Mapping[str, Any] = extension
            return found
    return None


def _code_text(resource: Mapping[str, Any]) -> str:
    concept = resource.get("code", {})
    codings = concept.get("coding", [])
    shown = []
    for coding in codings[:2]:
        system = coding.get("system", "")
        name = "LOINC" if system == _LOINC else (system.rsplit("/", 1)[-1] or "code")
        display = coding.get("display") or concept.get("text") or ""
        shown.append(f"{name} {coding.get('code', '?')}" + (f' "{display}"' if display else ""))
    if not shown:
        return f'text "{concept.get("text", "")}"'
    return ", ".join(shown)


def _walk(resource: Mapping[str, Any], path: str) -> Iterator[_Observation]:
    kind = resource.get("resourceType")
    if kind == "Observation":
        yield _Observation(resource, path)
        for number, component in enumerate(resource.get("component", [])):
            where = f"{path}.component[{number}]" if path else f"component[{number}]"
            yield _Observation(component, where, panel=resource)
    elif kind is None and "code" in resource:  # a component, as find_observations returns it
        yield _Observation(resource, path)
    elif kind == "Bundle":
        for number, entry in enumerate(resource.get("entry", [])):
            inner = entry.get("resource")
            if isinstance(inner, Mapping):
                where = f"{path}.entry[{number}]" if path else f"entry[{number}]"
                yield from _walk(inner, where)
    # leukoflag reads and flags contained Observations too (a DiagnosticReport's results …)
    for number, contained in enumerate(resource.get("contained") or []):
        if isinstance(contained, Mapping):
            where = f"{path}.contained[{number}]" if path else f"contained[{number}]"
            yield from _walk(contained, where)


def _resources(output: Output) -> list[tuple[str, Mapping[str, Any]]]:
    """The top-level resources of ``output`` with their paths: a Conversion's outputs, the dict
    itself, or those of each item of a list (of dicts or of Conversions)."""
    if isinstance(output, Conversion):
        return [(f"bundles[{n}]", r) for n, r in enumerate(output.bundles)]
    if isinstance(output, Outcome):  # one item of leukoflag.iter_file: none when rejected
        return [] if output.output is None else [("output", output.output)]
    if isinstance(output, Mapping):
        return [("", output)]
    if isinstance(output, (str, bytes)):  # what a pipeline's feed or leukoflag's files hold
        return _json_resources(output)
    items: Sequence[object] = output
    if not isinstance(items, Iterable):  # None, a Rejected: "not iterable" named no argument
        raise TypeError(
            "pass the converted output (a Conversion, a FHIR dict or a list of them), "
            f"not {type(items).__name__}"
        )
    found: list[tuple[str, Mapping[str, Any]]] = []
    for number, item in enumerate(items):
        if isinstance(item, Conversion | Outcome):  # several messages converted one by one
            found.extend((f"[{number}].{path}", r) for path, r in _resources(item))
        elif isinstance(item, Mapping):
            found.append((f"[{number}]", item))
        else:
            raise TypeError(
                "pass Conversions, Outcomes or FHIR dicts (a list of them), "
                f"got {type(item).__name__} at [{number}]"
            )
    return found


def _json_resources(text: str | bytes) -> list[tuple[str, Mapping[str, Any]]]:
    """The resources of FHIR JSON: one resource, an array of them (``[n]``), or NDJSON, one
    resource per line (``[n]``, counted from 0 as in a list). Numbers are read exactly."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    data = data.removeprefix(b"\xef\xbb\xbf")
    kind = detect.detect(data[:4096])
    if kind != "fhir":  # the message itself, passed by mistake: the output is what is checked
        found = (
            "HL7 v2 text: convert the message first (leukoflag_convert, convert_message)"
            if kind == "hl7v2"
            else "text that is not JSON"
        )
        raise TypeError(
            f"pass the converted output (a Conversion, a FHIR dict or its JSON), got {found}"
        )
    try:
        documents: list[Any] = [fhir.loads(data)]
        paths = [""]
    except ValueError:  # NDJSON: one resource per line, blank lines between them skipped
        documents, paths = [], []
        for number, line in enumerate(data.splitlines(), 1):  # the file's line, blanks counted
            if not line.strip():
                continue
            try:
                documents.append(fhir.loads(line))
            except ValueError as error:
                raise TypeError(f"pass FHIR JSON or NDJSON: line {number}: {error}") from None
            paths.append(f"[{len(paths)}]")
    if len(documents) == 1 and isinstance(documents[0], list):
        paths = [f"[{number}]" for number in range(len(documents[0]))]
        documents = documents[0]
    for path, document in zip(paths, documents, strict=True):
        if not isinstance(document, Mapping):
            raise TypeError(
                f"pass FHIR JSON: a resource is a JSON object, got {type(document).__name__}"
                + (f" at {path}" if path else "")
            )
    return list(zip(paths, documents, strict=True))


def _refuse_builder_input(output: Output, call: str) -> None:
    """A builder's FHIR resource is the input, never leukoflag's output: judged unconverted it
    has no computed code and its count is as written, so a check of leukoflag's work on it
    would pass (or fail) whatever leukoflag does."""
    items = [output] if isinstance(output, Mapping) else output
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        return
    if any(isinstance(item, FhirResource) for item in items):
        raise TypeError(
            f"{call}: got the builders' FHIR input (FhirResource): convert it first "
            "(leukoflag_convert, convert_message) and pass what that returns"
        )


def _all_observations(output: Output) -> list[_Observation]:
    found = [obs for path, resource in _resources(output) for obs in _walk(resource, path)]
    if isinstance(output, Conversion | Outcome | Mapping | str | bytes):
        return found
    # a list find_observations returned holds a panel and each of its components as well:
    # a component given on its own that its panel in the list holds too is one result
    members = [o.resource for o in found if o.panel is not None]
    kept = []
    for obs in found:
        alone = obs.panel is None and "resourceType" not in obs.resource
        if alone and obs.resource in members:
            members.remove(obs.resource)
            continue
        kept.append(obs)
    return kept


# Observation.status (R4 and R5): what status= selects.
_STATUSES = (
    "registered",
    "specimen-in-process",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "appended",
    "cancelled",
    "entered-in-error",
    "unknown",
    "cannot-be-obtained",
)


def _select(
    found: list[_Observation], analyte: str | None, code: str | None, status: str | None = None
) -> list[_Observation]:
    if analyte is not None:
        name = str(analyte).lower()
        if name not in _ANALYTE_LOINC:
            raise ValueError(f"analyte: 'wbc' or 'anc', got {analyte!r}")
        found = [o for o in found if name in o.analytes()]
    if code is not None:
        found = [o for o in found if code in o.codes()]
    if status is not None:
        if status not in _STATUSES:
            raise ValueError(f"status: an Observation.status ({', '.join(_STATUSES)}): {status!r}")
        found = [o for o in found if o.status == status]
    return found


def _selection(analyte: str | None, code: str | None, status: str | None = None) -> str:
    chosen = (("analyte", analyte), ("code", code), ("status", status))
    parts = [f"{name}={str(value)!r}" for name, value in chosen if value]  # Analyte.WBC → 'wbc'
    return ", ".join(parts)


def find_observations(
    output: Output,
    *,
    analyte: str | None = None,
    code: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """The results in ``output`` (a Conversion, a Bundle, an Observation or a list), in order:
    each Observation, followed by its ``component`` entries when it is a panel. ``analyte``
    (``"wbc"``/``"anc"``, by LOINC code), ``code`` (a code of any system, or
    ``"system|code"``) and ``status`` (``Observation.status``, a component's its panel's)
    narrow them."""
    return [dict(o.resource) for o in _select(_all_observations(output), analyte, code, status)]


# --------------------------------------------------------------------------- message text


def _value_text(resource: Mapping[str, Any]) -> str:
    if "valueQuantity" in resource:
        quantity = resource["valueQuantity"]
        number = _plain(quantity.get("value"))
        unit = quantity.get("unit") or quantity.get("code") or ""
        return f"{quantity.get('comparator', '')}{number} {unit}".strip()
    for kind in ("valueString", "valueCodeableConcept", "valueRange", "valueRatio"):
        if kind in resource:
            return f"{kind} {resource[kind]!r}"
    reason = resource.get("dataAbsentReason", {}).get("coding", [{}])[0].get("code")
    return f"no value (dataAbsentReason {reason})" if reason else "no value"


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else str(value)
    return str(value)


def _bulleted(lines: Sequence[str]) -> str:
    shown = [f"  - {line}" for line in lines[:_SHOWN]]
    if len(lines) > _SHOWN:
        shown.append(f"  (+{len(lines) - _SHOWN} more)")
    return "\n".join(shown)


def _found_list(found: Sequence[_Observation]) -> str:
    if not found:
        return "no Observation at all in the output"
    lines = []
    for obs in found:
        computed = "/".join(obs.computed) or "not flagged"
        lines.append(f"{obs.describe()}: {_value_text(obs.resource)}, {computed}")
    return "Observations in the output:\n" + _bulleted(lines)


def _issues_note(output: Output) -> str:
    conversions: list[tuple[str, Conversion | Outcome]] = []
    if isinstance(output, Conversion | Outcome):
        conversions = [("", output)]
    elif not isinstance(output, Mapping | str | bytes):
        # in a list every conversion has its own MSG[1]: the item's index says whose it is
        conversions = [
            (f"[{number}].", item)
            for number, item in enumerate(output)
            if isinstance(item, Conversion | Outcome)
        ]
    lines = [
        f"{i.code} ({i.severity}) at {item}{i.location}: {i.text}"
        for item, conversion in conversions
        for i in conversion.issues
    ]
    if not lines:
        return ""
    return "\nIssues leukoflag reported:\n" + _bulleted(lines)


def _rejections(output: Output) -> list[str]:
    """The inputs rejected in ``output`` (``[n].`` before each of a list's items)."""
    if isinstance(output, Conversion | Outcome):
        items: list[tuple[str, Conversion | Outcome]] = [("", output)]
    elif isinstance(output, Mapping | str | bytes):
        return []
    else:
        items = [
            (f"[{n}].", i) for n, i in enumerate(output) if isinstance(i, Conversion | Outcome)
        ]
    return [
        f"{prefix}{r.location or f'item {r.index}'} rejected: {r.reason}"
        for prefix, item in items
        for r in (item.rejected if isinstance(item, Conversion) else [item.rejected])
        if r is not None
    ]


def _fail(message: str, output: Output) -> AssertionError:
    return AssertionError(message + _issues_note(output))


# --------------------------------------------------------------------------- interpretation


def assert_flagged(
    output: Output,
    expected: str,
    *,
    analyte: str | None = None,
    code: str | None = None,
    status: str | None = None,
) -> None:
    """Assert that leukoflag gave interpretation ``expected`` (``"L"``, ``"LL"``, ``"N"`` …).

    ``analyte`` (``"wbc"``/``"anc"``), ``code`` (any code of ``Observation.code``, bare or
    ``system|code``) or ``status`` (``Observation.status``: ``"corrected"`` picks a correction
    from the result it replaces) select the results; without them every result leukoflag
    flagged is checked. Every selected result must carry ``expected`` as its computed code (the
    one in ``interpretation`` explained by leukoflag's extension; the sender's flag does not
    count).
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller's line
    _refuse_builder_input(output, "assert_flagged")
    found = _all_observations(output)
    chosen = _select(found, analyte, code, status)
    which = _selection(analyte, code, status)
    if which and not chosen:
        raise _fail(f"no Observation matches {which}.\n{_found_list(found)}", output)
    if not which:
        chosen = [o for o in found if o.explanation is not None]
        if not chosen:
            raise _fail(
                f"expected interpretation {expected!r}, but leukoflag flagged no result.\n"
                + _found_list(found),
                output,
            )
    problems = []
    for obs in chosen:
        computed = obs.computed
        if computed == [expected]:
            continue
        value = _value_text(obs.resource)
        sender = "/".join(obs.sender_flags)
        extra = f"; the sender's flag is {sender}" if sender else ""
        if not computed and obs.explanation is not None:  # judged, the code lost on the way
            problems.append(f"{obs.describe()}: {_code_lost(obs)} (value {value}){extra}")
        elif not computed:
            problems.append(f"{obs.describe()}: not flagged by leukoflag (value {value}){extra}")
        else:
            rule = obs.explained("rule")
            why = f" by rule {rule}" if rule else ""
            problems.append(
                f"{obs.describe()}: flagged {'/'.join(computed)}{why}, value {value}{extra}"
            )
    if problems:
        scope = f" on {which}" if which else ""
        raise _fail(
            f"expected interpretation {expected!r}{scope}, found:\n{_bulleted(problems)}", output
        )


def _code_lost(obs: _Observation) -> str:
    """What a result leukoflag judged (its explanation is there) holds instead of the computed
    code: a pipeline dropped the interpretation, or wrote it in another system."""
    rule = obs.explained("rule")
    by = f" by rule {rule}" if rule else ""
    concepts = obs.resource.get("interpretation") or []
    if not concepts:
        return f"judged by leukoflag{by}, but the result has no interpretation"
    sent = [
        f"{coding.get('system', '')} {coding.get('code', '')}".strip()
        for concept in concepts
        for coding in concept.get("coding", [])
    ]
    shown = f" ({', '.join(sent)})" if sent else ""
    return (
        f"judged by leukoflag{by}, but the result has an interpretation without a "
        f"v3-ObservationInterpretation code{shown}"
    )


def assert_not_flagged(
    output: Output,
    *,
    analyte: str | None = None,
    code: str | None = None,
    status: str | None = None,
) -> None:
    """Assert that leukoflag computed no interpretation for the selected results (all results
    without ``analyte``/``code``/``status``, and there must be one): urine, cancelled, non-numeric …
    results are not flagged."""
    __tracebackhide__ = True  # pytest shows the failure at the caller's line
    _refuse_builder_input(output, "assert_not_flagged")
    found = _all_observations(output)
    chosen = _select(found, analyte, code, status)
    which = _selection(analyte, code, status)
    if which and not chosen:
        raise _fail(f"no Observation matches {which}.\n{_found_list(found)}", output)
    if not found:  # a rejected message has no result, flagged or not: that is no pass
        raise _fail(
            "expected results leukoflag did not flag, but there is none.\n" + _found_list(found),
            output,
        )
    if lost := _rejections(output):  # nor does one of several: its results are not written
        raise _fail(
            "expected results leukoflag did not flag, but an input was rejected, its results "
            f"neither flagged nor written:\n{_bulleted(lost)}",
            output,
        )
    problems = []
    for obs in chosen:
        if obs.explanation is None:
            continue
        if not obs.computed:
            problems.append(
                f"{obs.describe()}: {_code_lost(obs)}, value {_value_text(obs.resource)}"
            )
            continue
        rule = obs.explained("rule")
        problems.append(
            f"{obs.describe()}: flagged {'/'.join(obs.computed)}"
            + (f" by rule {rule}" if rule else "")
            + f", value {_value_text(obs.resource)}"
        )
    if problems:
        scope = f" on {which}" if which else ""
        raise _fail(
            f"expected no interpretation from leukoflag{scope}, found:\n{_bulleted(problems)}",
            output,
        )


# --------------------------------------------------------------------------- counts


def assert_count_per_ul(
    output: Output,
    expected: int | str | Decimal | float,
    *,
    analyte: str | None = None,
    code: str | None = None,
    status: str | None = None,
) -> None:
    """Assert that one result was normalized to ``expected`` cells/µL.

    ``output`` is the Observation itself, or a Conversion/Bundle with ``analyte``, ``code`` or
    ``status`` choosing exactly one Observation. The value must be a ``valueQuantity`` in UCUM
    ``/uL`` equal to ``expected`` as a number (``3200`` matches ``3.2E+3`` and ``3200.0``); a
    string may start with a comparator (``"<500"``), which must then match too.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller's line
    _refuse_builder_input(output, "assert_count_per_ul")
    comparator, wanted = _expected_count(expected)
    found = _all_observations(output)
    chosen = _select(found, analyte, code, status)
    which = _selection(analyte, code, status)
    shown = f"{comparator}{_plain(wanted)} cells/µL"
    if len(chosen) != 1:
        if not chosen:
            what = f"no Observation matches {which}" if which else "no Observation in the output"
        else:
            what = (
                f"{len(chosen)} Observations match {which}"
                if which
                else f"{len(chosen)} Observations in the output"
            ) + "; pass analyte=, code= or status= to choose one"
        raise _fail(f"expected one result of {shown}: {what}.\n{_found_list(found)}", output)
    obs = chosen[0]
    quantity = obs.resource.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        raise _fail(
            f"{obs.describe()}: expected {shown}, found {_value_text(obs.resource)}", output
        )
    if quantity.get("system") != _UCUM or quantity.get("code") != _PER_UL_CODE:
        raise _fail(
            f"{obs.describe()}: expected {shown}, found {_value_text(obs.resource)} "
            f"(not normalized: unit code {quantity.get('code')!r}, system "
            f"{quantity.get('system')!r})",
            output,
        )
    mislabelled = _unit_text_problem(quantity, obs)
    if mislabelled:
        raise _fail(
            f"{obs.describe()}: expected {shown}, found {_value_text(obs.resource)} "
            f"(the {mislabelled})",
            output,
        )
    sent = quantity.get("value")
    if isinstance(sent, str | bool):  # FHIR JSON: a decimal is a JSON number, never text
        raise _fail(
            f"{obs.describe()}: expected {shown}, found {_value_text(obs.resource)}, but its "
            f"valueQuantity.value is the JSON {'string' if isinstance(sent, str) else 'boolean'}"
            f" {sent!r}, not a number",
            output,
        )
    value = _number(sent)
    if value != wanted or quantity.get("comparator", "") != comparator:
        raise _fail(
            f"{obs.describe()}: expected {shown}, found {_value_text(obs.resource)}", output
        )


def _unit_text_problem(quantity: Mapping[str, Any], obs: _Observation) -> str:
    """Why the human-readable ``unit`` of a ``/uL`` quantity names another unit (an EHR shows
    it beside the value), or ``""``: a spelling leukoflag does not know is left alone."""
    text = quantity.get("unit")
    if not isinstance(text, str) or not text.strip():
        return ""
    analyte = "anc" if "anc" in obs.analytes() else "wbc"
    try:
        factor = count_per_ul("1", text, analyte)
    except UnitError as error:
        if error.reason == "unknown-unit":
            return ""
        return f"unit text {text!r} is not the /uL of its code: {error.reason}"
    if factor == 1:
        return ""
    return f"unit text {text!r} is not the /uL of its code: 1 {text} is {plain(factor)} cells/µL"


def _expected_count(expected: int | str | Decimal | float) -> tuple[str, Decimal]:
    if isinstance(expected, bool):
        raise TypeError("expected: a number of cells/µL, not a bool")
    text = repr(expected) if isinstance(expected, float) else str(expected)
    if "," in text and not _GROUPED.match(text):  # "3,2" is no 32: a comma groups thousands
        raise ValueError(
            f"expected: a comma groups thousands ('3,200'), got {expected!r}: write a decimal "
            "with a point"
        )
    match = _COMPARATOR.match(text.replace(",", ""))
    number = _number(match.group(2)) if match else None
    if match is None or number is None:
        raise ValueError(f"expected: a number of cells/µL such as 3200 or '<500', got {expected!r}")
    return match.group(1) or "", number


def _number(value: Any) -> Decimal | None:
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# --------------------------------------------------------------------------- nothing lost


def assert_no_data_loss(conversion: Conversion | Outcome, data: Convertible | None = None) -> None:
    """Assert that nothing was lost: no input rejected, no Issue of severity error or fatal,
    and every OBX of the input (every Observation, for FHIR input) has an Observation in the
    output. The input comes from ``data`` (anything ``convert_message`` takes: builder output,
    text, bytes), or from the conversion itself when it was made by the ``leukoflag_convert``
    fixture (or :func:`leukoflag.testing.convert_message`); without it only the first two checks
    are made. An :class:`leukoflag.Outcome` is checked as the one-item Conversion it adds to.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller's line
    item: Outcome | None = None
    if isinstance(conversion, Outcome):
        item = conversion
        conversion = Conversion()
        conversion.add(item)
    if not isinstance(conversion, Conversion):  # a Bundle has no rejected: an AttributeError
        raise TypeError(
            "assert_no_data_loss: pass the Conversion or Outcome (its rejected items and Issues "
            f"count), not {type(conversion).__name__}"
        )
    if data is not None:
        # read as convert_message reads it: text with surrogate escapes, a builder's message
        data = input_bytes(data)
    elif isinstance(conversion, RecordedConversion):
        data = conversion.data
    problems = [
        f"rejected {r.location or f'item {r.index}'} of {r.source}: {r.reason}"
        for r in conversion.rejected
    ]
    problems.extend(
        f"{i.severity} Issue {i.code} at {i.location}: {i.text}"
        for i in conversion.issues
        if i.severity in (Severity.ERROR, Severity.FATAL) and i.code != "input.rejected"
    )
    if data:
        kind = detect.detect(data[:4096])
        if kind == "hl7v2":
            problems.extend(_lost_results(conversion, data, item))
        elif kind == "fhir":
            problems.extend(_lost_observations(conversion, data, item))
    if problems:
        raise AssertionError("data lost in conversion:\n" + _bulleted(problems))


def _lost_results(conversion: Conversion, data: bytes, item: Outcome | None) -> list[str]:
    """OBX segments of the input without an Observation in their message's Bundle. The input
    of an Outcome (``item``) is that item alone: its message is MSG[index], its Bundle output."""
    first = 1 if item is None else item.index
    chunks = list(hl7v2.split_stream(io.BytesIO(data)))
    rejected = {r.index for r in conversion.rejected}
    accepted = [n for n in range(first, len(chunks) + first) if n not in rejected]
    if len(accepted) != len(conversion.bundles):
        return [
            (
                f"{len(chunks)} messages read, but {len(conversion.bundles)} Bundles and "
                f"{len(conversion.rejected)} rejected: each message must give exactly one of them"
            )
        ]
    problems = []
    # an OBX-11 U that made an earlier result of its message final is that result's Observation
    made_final = {i.location.rpartition("-")[0] for i in conversion.issues if i.code == _MADE_FINAL}
    for number, bundle in zip(accepted, conversion.bundles, strict=True):
        available = Counter[str]()
        for obs in _walk(bundle, ""):
            if obs.derived:
                continue  # a derived ANC is added by leukoflag, it stands for no OBX
            available.update(_result_keys(obs))
        where = "output" if item is not None else f"bundles[{accepted.index(number)}]"
        for segment, code in _obx_codes(chunks[number - first]):
            if f"MSG[{number}]/{segment}" in made_final:
                continue
            if available[code] > 0:
                available[code] -= 1
            else:
                problems.append(
                    f"MSG[{number}]/{segment} ({_shown_key(code)}) has no Observation in {where}"
                )
    return problems


_MADE_FINAL = "hl7v2.result-made-final"


def _shown_key(key: str) -> str:
    if key == "text:":
        return "no code or text"
    return f"text {key[5:]!r}" if key.startswith("text:") else f"code {key!r}"


def _result_keys(obs: _Observation) -> set[str]:
    """What an OBX is matched by: its codes, and for an OBX-3 without code its text."""
    concept = obs.resource.get("code", {})
    keys = {str(c.get("code", "")) for c in concept.get("coding", [])}
    texts = [concept.get("text"), *(c.get("display") for c in concept.get("coding", []))]
    keys.update(f"text:{text}" for text in texts if text)
    # an OBX-3 sent empty gives an Observation whose code is data-absent: "text:" stands for it
    return keys - {""} or {"text:"}


def _obx_codes(raw: bytes) -> list[tuple[str, str]]:
    """``("OBX[n]", key)`` for each OBX of one raw message, read independently of the reader
    under test (delimiters from MSH, escapes undone): the key is OBX-3.1, else the
    alternate code OBX-3.4, or ``text:`` and OBX-3.2 (else 3.5) when the OBX-3 has no code."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = [line for line in re.split(r"\r\n|\r|\n", text.strip("\x0b\x1c\r\n ")) if line]
    header = next((line for line in lines if line.startswith("MSH") and len(line) >= 8), None)
    if header is None:
        return []
    field, component, repetition, escape, subcomponent = (header[i] for i in range(3, 8))
    # HL7 v2 2.7.4, in one pass: a delimiter's escape gives it, \H\ and \N\ (highlighting on
    # and off) nothing; any other sequence is kept as sent
    meaning = {"F": field, "S": component, "T": subcomponent, "R": repetition, "E": escape}
    meaning |= {"H": "", "N": ""}
    sequence = re.compile(f"{re.escape(escape)}([^{re.escape(escape)}]*){re.escape(escape)}")

    def unescaped(value: str) -> str:
        return sequence.sub(lambda m: meaning.get(m.group(1), m.group(0)), value)

    out: list[tuple[str, str]] = []
    for line in lines:
        if not line.startswith(f"OBX{field}"):
            continue
        fields = line.split(field)
        parts = [*(fields[3].split(component) if len(fields) > 3 else []), "", "", "", "", ""]
        for number, part in enumerate(parts[:5]):
            parts[number] = unescaped(part).strip()
        # a code sent only as the alternate (CWE.4) is read as the result's code
        key = parts[0] or parts[3] or f"text:{parts[1] or parts[4]}"
        out.append((f"OBX[{len(out) + 1}]", key))
    return out


def _lost_observations(conversion: Conversion, data: bytes, item: Outcome | None) -> list[str]:
    """Observations of FHIR input missing from the output (matched by id, else by code). The
    items are numbered as leukoflag numbers them (each element of an array, each non-blank
    NDJSON line; from ``item``'s index for an Outcome's input): a rejected one is reported by
    its rejection alone."""
    first = 1 if item is None else item.index
    numbered: list[tuple[int, Any]] = []
    try:
        document = fhir.loads(data)
        elements = document if isinstance(document, list) else [document]
        numbered = list(enumerate(elements, first))
    except ValueError:
        lines = [line for line in data.splitlines() if line.strip()]
        for number, line in enumerate(lines, first):
            try:
                numbered.append((number, fhir.loads(line)))
            except ValueError:
                continue  # an unreadable line is a Rejected entry, reported above
    rejected = {r.index for r in conversion.rejected}
    inputs = [
        obs
        for number, element in numbered
        if number not in rejected and isinstance(element, Mapping)
        for obs in _walk(element, "")
    ]
    outputs = _all_observations(conversion)
    ids = Counter(str(o.resource["id"]) for o in outputs if o.resource.get("id"))
    # a result without id (a component …) by its codes: leukoflag may add a LOINC code to them
    unnamed: list[set[str] | None] = [o.codes() for o in outputs if not o.resource.get("id")]
    problems = []
    for obs in inputs:
        ident = obs.resource.get("id")
        if ident:
            found = ids[str(ident)] > 0
            if found:
                ids[str(ident)] -= 1
        else:
            codes = obs.codes()
            slot = next((n for n, c in enumerate(unnamed) if c is not None and codes <= c), None)
            found = slot is not None
            if slot is not None:
                unnamed[slot] = None
        if not found:
            problems.append(f"input {obs.describe()} is not in the output")
    return problems


# --------------------------------------------------------------------------- FHIR validity


def assert_valid_fhir(output: Output, version: str | None = None) -> None:
    """Assert that every resource of ``output`` is valid FHIR ``version`` (``"R4"``, ``"R5"``;
    default: the version each Conversion or Outcome was made in, else R4), checked by
    ``leukoflag.fhir.validate`` (fhir.resources models for the resource and each resource
    inside it, plus the required code bindings the models do not check)."""
    __tracebackhide__ = True  # pytest shows the failure at the caller's line
    if version is not None and version not in ("R4", "R5"):  # a usage error, even if empty
        # named as the argument is: this call has no fhir_version, Settings and fhir.validate do
        raise ValueError(f"assert_valid_fhir: version is 'R4' or 'R5', got {version!r}")
    resources = _resources(output)
    if not resources:  # a rejected message: the Issues say why
        raise _fail("no FHIR resource to validate: the output is empty", output)
    # each Conversion in the version it was written in: a list of them may mix R4 and R5
    used = [version or made_in or "R4" for made_in in _made_in(output)]
    versions = sorted(set(used))
    problems: list[str] = []
    # components find_observations returned beside their panel are checked with the panel
    parts = [
        part
        for _, resource in resources
        if resource.get("resourceType") == "Observation"
        for part in resource.get("component") or []
    ]
    for (path, resource), release in zip(resources, used, strict=True):
        where = f" at {path}" if path else ""
        shown = f" ({release})" if len(versions) > 1 else ""
        if "resourceType" in resource or "code" not in resource:
            head = f"{resource.get('resourceType', '?')} {resource.get('id', '(no id)')}"
            found = fhir.validate(dict(resource), release)
        elif resource in parts:
            parts.remove(resource)
            continue
        else:  # a component alone, no resource: checked as an Observation's component
            head, found = "component", _component_problems(resource, release)
        problems.extend(f"{head}{where}{shown}: {problem}" for problem in found)
    if problems:
        raise AssertionError(f"not valid FHIR {' and '.join(versions)}:\n" + _bulleted(problems))


def _component_problems(component: Mapping[str, Any], release: str) -> list[str]:
    """What ``fhir.validate`` finds in a panel's ``component`` (a backbone element, which it
    cannot check alone), checked inside a panel Observation that has nothing else to find."""
    panel = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "panel"},
        "component": [dict(component)],
    }
    inside = "Observation.component[0]"
    return [problem.replace(inside, "component") for problem in fhir.validate(panel, release)]


def _made_in(output: Output) -> list[str | None]:
    """The FHIR version each resource of ``_resources(output)`` was written in, when known."""
    if isinstance(output, Conversion):
        return [output.fhir_version] * len(output.bundles)
    if isinstance(output, Outcome):
        return [output.fhir_version] * len(_resources(output))
    if isinstance(output, Mapping):
        return [None]
    if isinstance(output, (str, bytes)):  # JSON does not say which version wrote it
        return [None] * len(_resources(output))
    return [
        made_in
        for item in output
        for made_in in (_made_in(item) if isinstance(item, Conversion | Outcome) else [None])
    ]
