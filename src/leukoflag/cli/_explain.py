"""``leukoflag explain``: why each WBC/ANC result got its code, for a lab analyst.

For every in-scope count: the value as written → cells/µL → code, then the rule, the threshold
and its source, the reference range used, the finding, the CTCAE grade and the sender's flag; for
a count that was not judged, the Issues that say why. The evaluations are the ones
``leukoflag convert`` writes (the same reader and :func:`leukoflag.api.evaluate_groups`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import BinaryIO, TextIO

from leukoflag import api, fhir, hl7v2
from leukoflag._numbers import long_number, plain
from leukoflag._quote import quoted, shortened
from leukoflag.cli import EXIT_OK, EXIT_REJECTED
from leukoflag.cli._common import (
    STDOUT_NAME,
    guarded,
    raise_naming,
    settings_from,
    skipped_records,
)
from leukoflag.cli._inputs import Input, UsageError, expand_inputs, line_text
from leukoflag.cli._pipeline import sniff
from leukoflag.cli._progress import StderrLines
from leukoflag.model import (
    CodedResult,
    Evaluation,
    Finding,
    Issue,
    LabResult,
    NormalizedRange,
    Number,
    NumberRange,
    Patient,
    PatientResult,
    Ratio,
    Rejected,
    Severity,
    Text,
)
from leukoflag.settings import Settings

__all__ = ["run_explain"]

_ANALYTE_NAMES = {"wbc": "WBC", "anc": "ANC"}
_NOT_JUDGED = "not judged"
_RANGE_SOURCES = {
    "lab": "the lab's range",
    "default": "leukoflag's default range",
    "age-band": "leukoflag's age band",
    "duffy-null": "Duffy-null range",
}


@dataclass(frozen=True, slots=True)
class _Item:
    """One message or FHIR item as read, with the flagging step's evaluations."""

    location: str
    title: str
    groups: tuple[PatientResult, ...]
    evaluations: dict[str, Evaluation]
    # convert's Issues of the item (reading, flagging, writing), shown on the count they are at
    issues: tuple[Issue, ...] = ()
    # the results that are an ANC leukoflag derived and wrote, read back from its own output
    derived: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Row:
    location: str
    analyte: str
    written: str
    per_ul: str
    code: str
    details: tuple[tuple[str, str], ...]


def run_explain(args: argparse.Namespace) -> int:
    """Run ``leukoflag explain`` with parsed options; returns the exit status."""
    return guarded(lambda: _explain(args))


def _explain(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    records: list[str] = []  # leukoflag's own, in DIR/rejected: no input, skipped as convert does
    inputs = expand_inputs(args.inputs, records=records, stdout=True)
    if not inputs and not records:
        raise UsageError("no input files found in " + ", ".join(args.inputs))
    out = sys.stdout
    if out is None:  # started with stdout closed (`>&-`)
        raise UsageError("stdout is closed: nowhere to write the explanation")
    lines = StderrLines(sys.stderr)
    for note in skipped_records(args.inputs, records):
        lines.message(note)
    if not inputs:  # a rejected directory of envelope lines only: nothing to do, no error
        lines.message(
            f"leukoflag: nothing to explain: {line_text(', '.join(args.inputs))} holds only "
            f"rejection records ({len(records)}, *.reason.json), each saying why its item was "
            "rejected"
        )
        return EXIT_OK
    try:
        rejected = _explain_inputs(out, inputs, settings)
        out.flush()
    except OSError as exc:  # a write to stdout: the inputs' own errors are UsageErrors
        raise_naming(exc, STDOUT_NAME)
    return EXIT_REJECTED if rejected else EXIT_OK


def _explain_inputs(out: TextIO, inputs: Sequence[Input], settings: Settings) -> int:
    """Write the explanation of every input to ``out``; returns how many items were rejected."""
    rejected = 0
    for number, item in enumerate(inputs):
        if number:
            out.write("\n")
        out.write(f"{line_text(item.source)}\n")  # stdout may refuse a non-UTF-8 name
        read = None
        with item.open() as stream:
            for read in item.reading(_read(stream, settings, item.source)):
                if isinstance(read, Rejected):
                    rejected += 1
                    where = read.location or f"ITEM[{read.index}]"
                    out.write(f"\n{where}  rejected: {line_text(read.reason)}\n")
                else:
                    _write_item(out, read)
        if read is None:  # empty, blanks only, '[]': its name alone would read as cut short
            out.write("\n  no message or resource in it\n")
    return rejected


def _read(stream: BinaryIO, settings: Settings, source: str) -> Iterator[_Item | Rejected]:
    kind, stream = sniff(stream)
    if kind == "hl7v2":
        for index, raw in enumerate(hl7v2.split_stream(stream), start=1):
            # convert's own outcome decides what is rejected (--strict, a defect guard)
            outcome = api.convert_v2_message(raw, index, source, settings)
            if outcome.rejected is not None:
                yield outcome.rejected
                continue
            message = hl7v2.read_message(raw, index=index, source=source, settings=settings)
            assert not isinstance(message, Rejected)  # convert read the same bytes
            title = "  ".join(
                part
                for part in (
                    message.message_type,
                    f"control id {message.control_id}" if message.control_id else "",
                    message.timestamp.fhir if message.timestamp else "",
                )
                if part
            )
            evaluations = api.evaluate_groups(message.groups, settings, fallback=message)
            yield _Item(message.location, title, message.groups, evaluations, outcome.issues)
    elif kind == "fhir":
        for entry, outcome in _fhir_items(stream, source, settings):
            if outcome.rejected is not None:
                yield outcome.rejected
                continue
            assert not isinstance(entry, Rejected)  # convert read the same bytes
            resource = entry.resource
            title = "/".join(
                str(part) for part in (resource.get("resourceType"), resource.get("id")) if part
            )
            evaluations = api.evaluate_groups(
                entry.groups, settings, fallback=None, sent=entry.sent
            )
            for location in entry.derived:  # leukoflag's own ANC read back, as convert marks it
                found = evaluations.get(location)
                if found is not None and found.finding is not None:
                    finding = replace(found.finding, derived=True)
                    evaluations[location] = replace(found, finding=finding)
            yield _Item(
                entry.location, title, entry.groups, evaluations, outcome.issues, entry.derived
            )
    else:
        # convert's own rejection (none for a blank input): the same reason, and a large file
        # (a day's log named by mistake) is read in blocks, not into memory whole
        for outcome in api.iter_outcomes(stream, settings, source=source):
            assert outcome.rejected is not None  # content of no format is rejected whole
            yield outcome.rejected


def _fhir_items(
    stream: BinaryIO, source: str, settings: Settings
) -> Iterator[tuple[fhir.FhirItem | Rejected, api.Outcome]]:
    """The items as ``convert`` reads them (api.split_fhir: UTF-16/32 transcoded), each with
    convert's outcome of it."""
    for index, part in enumerate(api.split_fhir(stream), start=1):
        if isinstance(part, fhir.Document):
            outcomes = api.convert_fhir_document(part, source, settings)
            yield from zip(fhir.read_document(part, source=source), outcomes, strict=True)
        else:
            item = fhir.read_line(part, index=index, source=source)
            yield item, api.convert_fhir_line(part, index, source, settings)


def _write_item(out: TextIO, item: _Item) -> None:
    # Every text from the input is shown by line_text: a FHIR id, a unit or a value holding a
    # line break or an ESC forged rows and drove the terminal.
    out.write(f"\n{item.location}  {line_text(item.title)}\n")
    others = 0
    counts = {e.location for e in item.evaluations.values() if e.analyte is not None}
    read = {r.location for g in item.groups for o in g.orders for r in o.results}
    more, elsewhere = _issues_at_counts(item, counts, read | set(item.evaluations))
    # an ANC leukoflag derived (OBR[1]/ANC[derived]) is shown below its order's counts
    derived: dict[str, list[_Row]] = {}
    for location, evaluation in item.evaluations.items():
        if location not in read and evaluation.analyte is not None:
            row = _row(evaluation, "(derived)", more.get(location, ()))
            derived.setdefault(location.rpartition("/")[0], []).append(row)
    # each patient's line above the rows of that patient's counts (a message may hold several)
    blocks: list[tuple[str, list[_Row]]] = []
    for group in item.groups:
        head = "" if group.patient is None else f"  patient {line_text(_patient(group.patient))}\n"
        rows: list[_Row] = []
        for order in group.orders:
            for result in order.results:
                found = item.evaluations.get(result.location)
                if found is None or found.analyte is None:
                    others += 1
                    continue
                written = line_text(shortened(_as_written(result)))
                if result.location in item.derived:  # as an ANC derived from a message is
                    written = f"{written} (derived)"
                flags = tuple([flag.code for flag in result.sender_flags])
                rows.append(_row(found, written, more.get(result.location, ()), flags))
            rows.extend(derived.pop(order.location, ()))
        blocks.append((head, rows))
    blocks.append(("", [row for rows in derived.values() for row in rows]))  # of no order read
    every = [row for _, rows in blocks for row in rows]
    for head, rows in blocks:
        out.write(head)
        _write_rows(out, rows, every)  # aligned across the whole item
    if not every:
        out.write("  no WBC or ANC count\n")
    for evaluation in item.evaluations.values():  # flag.anc-not-derived on a segmented count
        if evaluation.analyte is None:
            out.writelines(f"  note  {i.code}: {line_text(i.text)}\n" for i in evaluation.issues)
    # the message's own problems (MSH, PID, OBR …): a birth date not read decides the rules too
    out.writelines(
        f"  note  {i.code} at {i.location}: {line_text(i.text)}\n"
        for i in elsewhere
        if i.severity is not Severity.INFORMATION
    )
    if others:
        results = "result is" if others == 1 else "results are"
        out.write(f"  {others} other {results} not a WBC or ANC count\n")


def _issues_at_counts(
    item: _Item, counts: set[str], results: set[str]
) -> tuple[dict[str, list[Issue]], list[Issue]]:
    """The item's Issues other than the flagging step's, by the count they are at (its segment,
    field or element: ``MSG[1]/OBX[1]-3``, ``ITEM[1]/Observation.referenceRange``), and those at
    no result at all (the message's, its patient's, its orders')."""
    # equal, not identical: convert's Issues come from its own run of the flagging step
    flagging = {issue for e in item.evaluations.values() for issue in e.issues}
    found: dict[str, list[Issue]] = {}
    elsewhere: list[Issue] = []
    for issue in item.issues:
        if issue in flagging:
            continue
        location = issue.location
        while location not in results and (cut := max(map(location.rfind, "-./"))) > 0:
            location = location[:cut]
        if location in counts:
            found.setdefault(location, []).append(issue)
        elif location not in results:
            elsewhere.append(issue)
    return found, elsewhere


def _write_rows(out: TextIO, rows: Sequence[_Row], aligned: Sequence[_Row]) -> None:
    """Write ``rows`` in columns as wide as those of ``aligned`` (the item's rows) need."""
    widths = [
        max((len(getattr(row, name)) for row in aligned), default=0)
        for name in ("location", "analyte", "written", "per_ul")
    ]
    label = max((len(key) for row in aligned for key, _ in row.details), default=0)
    for row in rows:
        out.write(
            f"  {row.location:<{widths[0]}}  {row.analyte:<{widths[1]}}  "
            f"{row.written:<{widths[2]}}  →  {row.per_ul:>{widths[3]}}  →  {row.code}\n"
        )
        for key, text in row.details:
            out.write(f"      {key:<{label}}  {line_text(text)}\n")


# Flagging Issues that say how a count was judged (the rules, range, age or limit it was judged
# by, or that it is judged though another of its results may stand), never that it was not: on
# a count set aside after judging (a preliminary replaced by its correction) or not judged they
# are notes, not why it was not judged (docs/issues.md)
_HOW_JUDGED = frozenset(
    {
        "flag.age-unknown",
        "flag.age-from-result",
        "flag.age-imprecise-agreed",
        "flag.age-result-disagrees",
        "flag.duffy-null-not-applied",
        "flag.lab-range-unusable",
        "flag.lab-range-adults",
        "flag.lab-range-children",
        "flag.lab-range-sex-union",
        "flag.specimen-unrecognized",
        "flag.sender-disagrees",
        "flag.bound-interpreted",
        "flag.critical-within-range",
        "flag.anc-derived",
        "flag.result-duplicate",
        "flag.correction-ambiguous",
        "flag.result-cancelled-after",
    }
)


def _row(
    evaluation: Evaluation, written: str, more: Sequence[Issue] = (), sent: tuple[str, ...] = ()
) -> _Row:
    analyte = _ANALYTE_NAMES.get(str(evaluation.analyte), str(evaluation.analyte))
    quantity = evaluation.quantity
    per_ul = f"{quantity.comparator}{_count(quantity.value)} cells/µL" if quantity else "—"
    finding = evaluation.finding
    details: list[tuple[str, str]] = []
    if finding is not None:
        code = finding.code
        details.extend(_finding_details(finding))
    else:
        code = _NOT_JUDGED
        if evaluation.reference_range is not None:
            details.append(("range", _range(evaluation)))
        if sent:  # the Bundle keeps them as its interpretation (docs/output.md)
            details.append(("sender", ", ".join(sent)))
    if evaluation.derived_from:
        details.append(("derived", "from " + ", ".join(evaluation.derived_from)))
    elif finding is not None and finding.derived:
        details.append(("derived", "by leukoflag, read back from its own output"))
    if evaluation.loinc is not None:
        details.append(("LOINC", f"{evaluation.loinc.code} {evaluation.loinc.display}".strip()))
    # why a count was not judged is the flagging step's to say: an Issue of reading or writing
    # its segment (an obs-6 value beside a cancelled status, a field not carried) is a note, and
    # so is one of how it was judged before being set aside (flag.age-unknown: 'judged with
    # adult ranges') — each a note below the why
    if finding is None:
        details.extend(
            ("why", f"{issue.code}: {issue.text}")
            for issue in evaluation.issues
            if issue.code not in _HOW_JUDGED
        )
    details.extend(
        ("note", f"{issue.code}: {issue.text}")
        for issue in evaluation.issues
        if finding is not None or issue.code in _HOW_JUDGED
    )
    details.extend(("note", f"{issue.code}: {issue.text}") for issue in more)
    return _Row(evaluation.location, analyte, written, per_ul, code, tuple(details))


def _finding_details(finding: Finding) -> Iterator[tuple[str, str]]:
    rule = finding.rule
    if finding.threshold is not None:
        rule += f": threshold {_count(finding.threshold)} cells/µL"
    if finding.threshold_source:
        rule += f" ({finding.threshold_source})"
    yield "rule", rule
    if finding.range is not None:
        span = _span(finding.range.low, finding.range.high)
        where = _RANGE_SOURCES.get(finding.range.source, finding.range.source)
        where += _whose(finding.range)
        said = f', sent as "{shortened(finding.range.text)}"' if finding.range.text else ""
        cited = f" ({finding.range.citation})" if finding.range.citation else ""
        yield "range", f"{span} cells/µL, {where}{said}{cited}"
    if finding.condition is not None:
        severity = f", {finding.severity}" if finding.severity else ""
        yield (
            "finding",
            f"{finding.condition.display} (SNOMED CT {finding.condition.code}){severity}",
        )
    if finding.ctcae_grade is not None:
        term = finding.ctcae_term
        named = f" {term.display} ({term.code})" if term is not None else ""
        yield "CTCAE", f"v{finding.ctcae_version} grade {finding.ctcae_grade}{named}"
    if finding.sender_flags:
        yield "sender", ", ".join(finding.sender_flags)


def _whose(chosen: NormalizedRange) -> str:
    """Of a lab range per sex, the sex whose range judged and the label it was under: `` for
    women (under 'M', Spanish, Portuguese)`` (M beside H is women); ``""`` for any other."""
    if not chosen.sex:
        return ""
    whose = f" for {'men' if chosen.sex == 'male' else 'women'}"
    sent = chosen.limits_sent
    if sent is None or not sent.sex_label:
        return whose
    return f"{whose} (under {quoted(sent.sex_label)}, {sent.sex_language})"


def _range(evaluation: Evaluation) -> str:
    reference = evaluation.reference_range
    assert reference is not None  # only called with a range
    where = _RANGE_SOURCES.get(reference.source, reference.source)
    return f"{_span(reference.low, reference.high)} cells/µL, {where}"


def _span(low: Decimal | None, high: Decimal | None) -> str:
    if low is not None and high is not None:
        return f"{_count(low)}–{_count(high)}"
    if low is not None:
        return f"≥ {_count(low)}"
    if high is not None:
        return f"≤ {_count(high)}"
    return "no limits"


def _count(value: Decimal) -> str:
    long = long_number(value)  # a lab range from 1e-999999999: a billion digits written out
    return long if long is not None else f"{value:,f}"


def _as_written(result: LabResult) -> str:
    value = result.value
    if isinstance(value, Number):
        text = value.text or plain(value.value)
        if value.comparator and not text.startswith(value.comparator):
            text = value.comparator + text
    elif isinstance(value, NumberRange | Ratio):
        text = value.text
    elif isinstance(value, Text):
        text = f'"{value.text}"'
    elif isinstance(value, CodedResult):
        concept = value.concept
        text = concept.text or ", ".join(c.display or c.code for c in concept.codings)
    else:
        shown = f": {value.text}" if value.text else ""
        return f"no value ({value.reason}{shown})"
    unit = ""
    if result.unit is not None:
        unit = result.unit.text or result.unit.code
    if isinstance(value, NumberRange) and value.high_unit is not None:
        # each limit in its own unit (a FHIR valueRange): 2.1 10*3/uL-3500 /uL
        high_unit = value.high_unit.text or value.high_unit.code
        ends = [
            f"{plain(end)} {end_unit}".rstrip() if end is not None else ""
            for end, end_unit in ((value.low, unit), (value.high, high_unit))
        ]
        return "-".join(ends)
    return f"{text} {unit}" if unit and not isinstance(value, Text) else text


def _patient(patient: Patient) -> str:
    parts = [identifier.value for identifier in patient.identifiers[:1]]
    if patient.sex and patient.sex != "unknown":
        parts.append(patient.sex)
    if patient.birth_date is not None:
        parts.append(f"born {patient.birth_date.fhir}")
    return " · ".join(parts) or patient.location
