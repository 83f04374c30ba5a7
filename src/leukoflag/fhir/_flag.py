"""Flag a FHIR input item in place: the output contract on in-scope results, nothing else touched.

The item's JSON is never mutated: every change copies the containers on its path (copy on
write), so unchanged subtrees are shared with the input and an item without counts comes back
as the very same object. What is added is made for this output (no dict or list of a cache,
none used twice): an element taken over from another resource of the item is a copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from leukoflag import flagging, units
from leukoflag._numbers import plain
from leukoflag._quote import quoted
from leukoflag.errors import UnitError
from leukoflag.fhir import _elements as el
from leukoflag.fhir._ids import resource_id
from leukoflag.fhir._read import FhirItem, Path, path_location, r4_element
from leukoflag.fhir._shared import fresh_json
from leukoflag.fhir._terms import EFFECTIVE, LEGACY_INTERPRETATION, VALUE_ELEMENTS, tables
from leukoflag.model import (
    Coding,
    Evaluation,
    Issue,
    LabResult,
    NormalizedQuantity,
    Number,
    Severity,
    Unit,
)
from leukoflag.settings import Settings

__all__ = ["flag_in_place"]

# Tuples, not sets: the values tested against them come from the input and may be a dict or a
# list where a string belongs (``"url": {}``), which a set lookup would refuse with TypeError.
_OURS = (el.EXPLANATION, el.SENDER_INTERPRETATION)
_KEPT = (el.PQ_TRANSLATION, el.ORIGINAL_TEXT)
_REQUESTING = ("transaction", "batch")
# Bundle types whose every entry records a server's response (FHIR invariants bdl-3/bdl-4; a
# searchset lists what a search returned): an added entry would claim a response no server gave.
_RESPONDED = ("history", "searchset", "transaction-response", "batch-response")
# What a derived ANC takes from its first source: whose it is and when drawn (any effective[x])
_CARRIED = ("subject", "encounter", *EFFECTIVE, "issued")
# Observation / component elements in FHIR's order, so that an added element lands where a
# reader of the JSON expects it.
_ORDER = (
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "instantiatesCanonical",
    "instantiatesReference",
    "basedOn",
    "triggeredBy",
    "partOf",
    "status",
    "category",
    "code",
    "subject",
    "focus",
    "encounter",
    "effectiveDateTime",
    "effectivePeriod",
    "effectiveTiming",
    "effectiveInstant",
    "issued",
    "performer",
    *VALUE_ELEMENTS,
    "dataAbsentReason",
    "interpretation",
    "note",
    "bodySite",
    "bodyStructure",
    "method",
    "specimen",
    "device",
    "referenceRange",
    "hasMember",
    "derivedFrom",
    "component",
)
_RANK = {name: rank for rank, name in enumerate(_ORDER)}
# A referenceRange's elements that FHIR puts before its low and high (BackboneElement's own).
_RANGE_HEAD = ("id", "extension", "modifierExtension")


def _put(node: dict[str, Any], key: str, value: Any) -> None:
    """Set ``node[key]``: in place when present, else at its position in FHIR's order."""
    if key in node or key not in _RANK:
        node[key] = value
        return
    rank = _RANK[key]
    items = list(node.items())
    at = next(
        (i for i, (name, _) in enumerate(items) if _RANK.get(name, -1) > rank),
        len(items),
    )
    items.insert(at, (key, value))
    node.clear()
    node.update(items)


class _Editor:
    """Copy-on-write access to nested JSON: :meth:`node` returns a private copy of the node at
    a path, with every container above it copied and relinked once."""

    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._copies: dict[Path, Any] = {}

    @property
    def root(self) -> dict[str, Any]:
        copy = self._copies.get(())
        return copy if copy is not None else self._root

    def node(self, path: Path) -> Any:
        current: Any = self._copies.get(())
        if current is None:
            current = self._copies[()] = dict(self._root)
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            copy = self._copies.get(prefix)
            if copy is None:
                step = path[depth - 1]
                child: Any = current[step]
                copy = dict(child) if isinstance(child, dict) else list(child)
                current[step] = copy
                self._copies[prefix] = copy
            current = copy
        return current

    def peek(self, path: Path) -> Any:
        """The current node at ``path`` (copied or not), for reading."""
        node: Any = self.root
        for step in path:
            node = node[step]
        return node

    def sent(self, path: Path) -> Any:
        """The node at ``path`` as the item sent it (before any copy was changed)."""
        node: Any = self._root
        for step in path:
            node = node[step]
        return node


@dataclass(slots=True)
class _Flagger:
    item: FhirItem
    evaluations: Mapping[str, Evaluation]
    editor: _Editor
    results: dict[str, LabResult]
    issues: list[Issue] = field(default_factory=list)
    rewritten: set[Path] = field(default_factory=set)
    # resources whose values, interpretation, results or conclusion were written (their paths)
    changed: set[Path] = field(default_factory=set)
    # Built on first use, each once per item (a digest of the whole item, or a scan of all its
    # results or evaluations, for each derived ANC or order made a large Bundle quadratic):
    key: tuple[str, ...] | None = None  # item.key
    derived_by_order: dict[str, list[Evaluation]] | None = None  # see order_evaluations
    result_orders: dict[str, str] | None = None  # result location -> its first order's
    shared_ids: frozenset[str] | None = None  # see _shared_ids
    entry_urls: frozenset[str] | None = None  # the fullUrls of the item's entries

    def issue(self, severity: Severity, code: str, location: str, text: str) -> None:
        self.issues.append(Issue(severity, f"fhir.{code}", location, text))

    def apply(self, location: str, evaluation: Evaluation) -> None:
        ref = self.item.nodes.get(location)
        result = self.results.get(location)
        if ref is None or result is None:
            if evaluation.derived_from:
                self.derived(evaluation)
            else:
                self.issue(
                    Severity.WARNING,
                    "evaluation-unmatched",
                    location,
                    f"an evaluation for {location} matches no result of the item; not written",
                )
            return
        quantity = evaluation.quantity if isinstance(result.value, Number) else None
        finding = evaluation.finding
        if ref.status:  # leukoflag's derived ANC read back: its status follows its sources now
            self.editor.node(ref.path)["status"] = ref.status
            self.changed.add(_resource_path(ref.path))
        if finding is None and "extension" in (sent := self.editor.peek(ref.path)):
            self.unjudge(sent, ref.path)
        if evaluation.loinc is None and quantity is None and finding is None:
            return  # not in scope, or in scope but not judged: left as sent
        chosen = evaluation.reference_range
        if (
            quantity is not None
            and ref.range_note  # said of the counts judged, not of all
            and (chosen is None or chosen.source != "lab")  # not of the lab's ranges' union
        ):
            # which range judged instead: the age band of a child, as flag.lab-range-adults says
            judged = flagging.range_named(chosen) if chosen is not None else "the default range"
            self.issue(
                Severity.WARNING,
                "range-not-applicable",
                f"{location}.referenceRange",
                f"{ref.range_note}: judged with {judged}, instead",
            )
        if quantity is not None:
            self.issues.extend(ref.range_issues)
        # a derived ANC leukoflag wrote, read back: its value and code kept as written (nothing
        # was sent in another unit), its range and code judged again (the settings may differ)
        derived = ref.derived
        node = self.editor.node(ref.path)
        if quantity is not None or finding is not None:
            self.changed.add(_resource_path(ref.path))
        if evaluation.loinc is not None and not derived:
            _put(node, "code", el.with_loinc(node.get("code"), evaluation.loinc))
        if quantity is not None:
            sent = node.get("valueQuantity")
            if isinstance(sent, dict):
                pass
            elif "valueString" in node and isinstance(result.value, Number):
                # rare: a count written as text with its unit ('0.4 x10^9/L'): kept as the
                # quantity it says, as the HL7 v2 writer keeps an ST value read so
                written = result.value
                node.pop("valueString")
                sent = {"value": written.value}
                if written.comparator:
                    sent["comparator"] = written.comparator
                sent["unit"] = written.comment
                if "_valueString" in node:  # left beside valueQuantity: two value[x]
                    sent["_value"] = node.pop("_valueString")
            else:  # valueInteger: a count sent without a unit
                sent = {"value": node.pop("valueInteger", quantity.value)}
                if "_valueInteger" in node:  # left beside valueQuantity: two value[x]
                    sent["_value"] = node.pop("_valueInteger")
            if not derived:
                _put(node, "valueQuantity", self.quantity(sent, evaluation, location))
            if evaluation.reference_range is not None:
                ranges = self.ranges(node, ref.range_index, evaluation, result, location)
                _put(node, "referenceRange", ranges)
        if finding is not None:
            if derived:  # read back as a measured ANC: still leukoflag's derived one
                evaluation = replace(evaluation, finding=replace(finding, derived=True))
            self.interpret(node, ref.path, finding.code, evaluation)

    def quantity(
        self, sent: dict[str, Any], evaluation: Evaluation, location: str
    ) -> dict[str, Any]:
        """The normalized valueQuantity; the sent one kept as a PQ translation (or, with a
        comparator, as original text)."""
        assert evaluation.quantity is not None
        own = [e for e in _listed(sent.get("extension")) if isinstance(e, dict)]
        others = self.originals(own, evaluation, evaluation.quantity, f"{location}.valueQuantity")
        if others is None:
            kept = own  # already leukoflag output: the original is kept once, not wrapped again
        else:
            own = others  # (edited since: the value as now sent is the original)
            original = {k: v for k, v in sent.items() if k not in ("extension", "id")}
            comparator = original.pop("comparator", "")
            if comparator:
                unit = original.get("unit") or original.get("code") or ""
                text = f"{comparator}{el.plain_number(original.get('value'))} {unit}".strip()
                kept = [*own, {"url": el.ORIGINAL_TEXT, "valueString": text}]
            else:
                # the sent quantity's extensions describe it as sent (an uncertainty is in its
                # unit): they stay with it, in its translation, not beside the count in cells/µL
                own, original = _with_sent_extensions(own, original)
                kept = [*own, {"url": el.PQ_TRANSLATION, "valueQuantity": el.not_ucum(original)}]
        normalized = el.per_ul(evaluation.quantity.value, evaluation.quantity.comparator)
        if "comparator" in normalized:
            normalized = self.primitives(sent, normalized, f"{location}.valueQuantity")
        return {**_element_id(sent), "extension": kept, **normalized}

    def primitives(
        self, sent: dict[str, Any], normalized: dict[str, Any], where: str
    ) -> dict[str, Any]:
        """``normalized`` (of a count with a comparator, whose original is kept as text only)
        with the sent comparator's extensions (``_comparator``) when it keeps that comparator;
        the extensions of the sent value and unit, which the text cannot hold, are said."""
        comparator = sent.get("_comparator")
        if comparator is not None and normalized["comparator"] == sent.get("comparator"):
            at = list(normalized).index("comparator") + 1
            items = list(normalized.items())
            normalized = dict([*items[:at], ("_comparator", comparator), *items[at:]])
        for key in ("_value", "_comparator", "_unit", "_system", "_code"):
            if key in sent and key not in normalized:
                self.issue(
                    Severity.INFORMATION,
                    "extension-not-kept",
                    f"{where}.{key}",
                    f"the {key[1:]} sent carries extensions ({_urls(sent[key])}), not kept: a "
                    "count with a comparator keeps its original as text only",
                )
        return normalized

    def originals(
        self,
        own: list[dict[str, Any]],
        evaluation: Evaluation,
        value: NormalizedQuantity,
        where: str,
    ) -> list[dict[str, Any]] | None:
        """The extensions of ``own`` (a quantity's) to keep beside the original written now:
        None when the originals leukoflag kept before (PQ translation, original text) agree with
        ``value`` (its ``value`` and ``comparator`` in cells/µL, as now judged) and are kept as
        they are; ``own`` when there are none (first flagged); else ``own`` without those that
        disagree (edited since), said so: an original never contradicts the value beside it."""
        if not any(e.get("url") in _KEPT for e in own):
            return own
        analyte = evaluation.analyte.value if evaluation.analyte is not None else "wbc"
        kept: list[dict[str, Any]] = []
        dropped: list[str] = []
        for extension in own:
            shown = _disagreeing(extension, value.value, value.comparator, analyte)
            if shown:
                dropped.append(shown)
            else:
                kept.append(extension)
        if not dropped:
            return None
        what = "limit" if where.endswith(("low", "high")) else "value"
        self.issue(
            Severity.WARNING,
            "original-stale",
            where,
            f"the original kept when leukoflag flagged it before ({'; '.join(dropped)}) is not "
            f"the {what} now sent, {value.comparator}{_cells(value.value)} cells/µL (edited "
            f"since?): the {what} now sent is used, and kept as the original instead",
        )
        return kept

    def ranges(
        self,
        node: dict[str, Any],
        index: int | None,
        evaluation: Evaluation,
        result: LabResult,
        location: str,
    ) -> list[dict[str, Any]]:
        chosen = evaluation.reference_range
        assert chosen is not None
        sent = [r for r in _listed(node.get("referenceRange")) if isinstance(r, dict)]
        written = el.normalized_ranges(chosen, None, None)[0]
        if chosen.source != "lab" or index is None:
            if chosen.source == "lab":  # the union of the lab's ranges per sex, read back so
                source = {"url": "source", "valueCode": "lab"}
                written = {
                    "extension": [{"url": el.RANGE_SOURCE, "extension": [source]}],
                    **written,
                }
            # leukoflag's range first (replacing the one it supplied before), the sender's after
            return [written, *(r for r in sent if not el.supplied_range(r))]
        original = sent[index]
        entry = dict(original)
        said = False  # units.code-not-ucum for the range's limits: once
        for name in ("low", "high"):
            limit = written.get(name)
            sent_limit = original.get(name)
            if limit is None:
                entry.pop(name, None)
                continue
            others: list[dict[str, Any]] | None = []  # None: an original kept, that agrees
            edited = False  # an original kept before no longer agrees: the limit was edited
            if isinstance(sent_limit, dict):
                own = [e for e in _listed(sent_limit.get("extension")) if isinstance(e, dict)]
                at = f"{location}.referenceRange[{index}].{name}"
                others = self.originals(own, evaluation, NormalizedQuantity(limit["value"]), at)
                edited = others is not None and others is not own
            if others is None and isinstance(sent_limit, dict):
                # flagged before: kept
                limit = {**_element_id(sent_limit), "extension": sent_limit["extension"], **limit}
            elif (
                isinstance(sent_limit, dict)
                and "value" in sent_limit
                and not (edited and chosen.limits_sent is not None)
            ):
                as_sent = {k: v for k, v in sent_limit.items() if k not in ("extension", "id")}
                # its extensions (a lab's note on the limit) stay with it, as the value's do
                kept, as_sent = _with_sent_extensions(others or [], as_sent)
                translated = el.not_ucum(as_sent)
                if translated is not as_sent and not said:  # rare: a limit's K/uL coded as UCUM
                    at = f"{location}.referenceRange[{index}]"
                    self.limit_not_ucum(as_sent, evaluation, at)
                    said = True
                limit = {
                    **_element_id(sent_limit),
                    "extension": [*kept, {"url": el.PQ_TRANSLATION, "valueQuantity": translated}],
                    **limit,
                }
            elif (sex_limits := chosen.limits_sent) is not None:
                # a range per sex: its chosen sex's limit as sent, so that read back the text
                # decides again (with the limits' unit), not these limits
                if (sent_value := getattr(sex_limits, name)) is not None:
                    unit = sex_limits.high_unit if name == "high" else None
                    translated = el.kept_quantity(
                        sent_value, unit or sex_limits.unit or result.unit
                    )
                    limit = {
                        "extension": [{"url": el.PQ_TRANSLATION, "valueQuantity": translated}],
                        **limit,
                    }
            elif (read := result.reference_range) is not None and getattr(read, name) is not None:
                # read from a range sent as text only: kept as read, as an OBX-7 limit is
                translated = el.kept_quantity(getattr(read, name), read.unit or result.unit)
                limit = {
                    "extension": [{"url": el.PQ_TRANSLATION, "valueQuantity": translated}],
                    **limit,
                }
            entry[name] = limit
        if any(name in entry and name not in original for name in ("low", "high")):
            # limits read from a range sent as text only go before the text, as FHIR orders them
            head = {k: v for k, v in entry.items() if k in _RANGE_HEAD}
            entry = {**head, **{k: entry[k] for k in ("low", "high") if k in entry}, **entry}
        return [*sent[:index], entry, *sent[index + 1 :]]

    def limit_not_ucum(self, limit: dict[str, Any], evaluation: Evaluation, at: str) -> None:
        """units.code-not-ucum for a range limit whose UCUM code is a lab spelling, kept as unit
        text, unless the value's own unit, coded alike, has said so."""
        code = limit.get("code")
        if any(
            i.code == "units.code-not-ucum" and quoted(str(code)) in i.text
            for i in evaluation.issues
        ):
            return
        self.issues.append(
            Issue(
                Severity.WARNING,
                "units.code-not-ucum",
                at,
                f"the reference range's unit code {quoted(str(code))} was sent with the UCUM "
                "system but is a lab spelling, not a UCUM code (UCUM reads such spellings "
                "otherwise or not at all: K/uL as kelvin per µL); its limits as sent are kept "
                "with it as unit text, without the UCUM system",
            )
        )

    def interpret(
        self, node: dict[str, Any], path: Path, code: str, evaluation: Evaluation
    ) -> None:
        finding = evaluation.finding
        assert finding is not None
        own = [e for e in _listed(node.get("extension")) if isinstance(e, dict)]
        previous = [e for e in own if e.get("url") == el.SENDER_INTERPRETATION]
        others = [e for e in own if e.get("url") not in _OURS]
        if previous or any(e.get("url") == el.EXPLANATION for e in own):
            # already flagged by leukoflag: the sender's flags are kept as they were (none, if it
            # sent none), and the interpretation there is leukoflag's own, not the sender's
            senders = previous
        else:
            senders = [
                {"url": el.SENDER_INTERPRETATION, "valueCodeableConcept": concept}
                for concept in current_form(node.get("interpretation"))
            ]
        _put(node, "extension", [*others, el.explanation(finding), *senders])
        _put(node, "interpretation", [el.computed_interpretation(code)])
        self.rewritten.add(path)

    def unjudge(self, sent: dict[str, Any], path: Path) -> None:
        """A result leukoflag judged before (its output read back) that is not judged now
        (cancelled, entered-in-error, its value gone or known only by a bound): its earlier code
        and explanation go, and the sender's flags kept are its interpretation again, as a
        fresh conversion writes a result it did not judge."""
        own = [e for e in _listed(sent.get("extension")) if isinstance(e, dict)]
        if not any(e.get("url") in _OURS for e in own):
            return  # not flagged before: left as sent
        senders = [
            e["valueCodeableConcept"]
            for e in own
            if e.get("url") == el.SENDER_INTERPRETATION and "valueCodeableConcept" in e
        ]
        others = [e for e in _listed(sent.get("extension")) if not _ours(e)]
        node = self.editor.node(path)
        if others:
            node["extension"] = others
        else:
            del node["extension"]
        if senders:
            _put(node, "interpretation", senders)
        else:
            node.pop("interpretation", None)
        self.rewritten.add(path)
        self.changed.add(_resource_path(path))

    def modernize(self, path: Path) -> None:
        """Legacy interpretation (a single object, the old v2 0078 URI) → the current form."""
        if path in self.rewritten:
            return
        node = self.editor.node(path)
        _put(node, "interpretation", current_form(node.get("interpretation")))

    def conclude(self) -> None:
        """Add the findings of low results to their DiagnosticReport's conclusionCode, in place
        of those leukoflag added before (flagged again with other settings, a finding may go);
        the lab's own are kept."""
        for group in self.item.groups:
            for order in group.orders:
                path = self.item.reports.get(order.location)
                if path is None:
                    continue
                conditions: dict[tuple[str, str], Coding] = {}
                for evaluation in self.order_evaluations(
                    order.location, [r.location for r in order.results]
                ):
                    if evaluation.finding is not None and evaluation.finding.condition is not None:
                        condition = evaluation.finding.condition
                        conditions.setdefault((condition.system, condition.code), condition)
                report = self.editor.peek(path)
                sent = _listed(report.get("conclusionCode"))
                kept = [c for c in sent if not el.is_computed_conclusion(c)]
                if not conditions and len(kept) == len(sent):
                    continue
                present = {
                    (c.get("system"), c.get("code"))
                    for concept in kept
                    if isinstance(concept, dict)
                    for c in _listed(concept.get("coding"))
                    if isinstance(c, dict)
                }
                codes = [
                    *kept,
                    *(el.conclusion(c) for key, c in conditions.items() if key not in present),
                ]
                if codes != sent:
                    self.changed.add(path)
                    report = self.editor.node(path)
                    if codes:
                        _put_report(report, "conclusionCode", codes)
                    else:
                        del report["conclusionCode"]

    def narratives(self) -> None:
        """Say which changed resources carry a narrative: leukoflag does not rewrite XHTML, so
        what a reader of it sees may now contradict the flagged values and interpretation."""
        root = self.editor.root
        for path in sorted(self.changed, key=lambda path: [i for i in path if isinstance(i, int)]):
            resource = self.editor.peek(path)
            text = resource.get("text") if isinstance(resource, dict) else None
            if not isinstance(text, dict) or not text.get("div"):
                continue
            if resource == self.editor.sent(path):
                continue  # written as it was sent (flagged output read back): nothing to contradict
            location = path_location(self.item.location, root, path)
            status = text.get("status")
            self.issue(
                Severity.WARNING,
                "narrative-not-updated",
                f"{location}.text",
                "the narrative"
                + (f" (status {quoted(status)})" if isinstance(status, str) else "")
                + " was written for the resource as sent, and leukoflag does not rewrite it: "
                "it may contradict the values, interpretation or conclusion flagged now",
            )

    def signature(self) -> None:
        """Say that a signed Bundle was changed: leukoflag signs nothing, so the signature kept
        no longer verifies what it is sent with (a document's, a message's)."""
        root = self.editor.root
        signature = root.get("signature")
        if root.get("resourceType") != "Bundle" or not isinstance(signature, dict):
            return
        if root is self.editor.sent(()) or root == self.editor.sent(()):
            return  # written as it was sent (flagged output read back): still what was signed
        self.issue(
            Severity.WARNING,
            "signature-invalidated",
            f"{self.item.location}/Bundle.signature",
            "the Bundle is signed, and leukoflag changed what was signed (the flagged counts, "
            "a report's conclusion, a derived ANC) and signs nothing: the signature no longer "
            "verifies this Bundle, so sign it again or keep the Bundle as sent",
        )

    def order_evaluations(self, order_location: str, results: list[str]) -> list[Evaluation]:
        found = [self.evaluations[r] for r in results if r in self.evaluations]
        by_order = self.derived_by_order
        if by_order is None:
            # a derived evaluation under each location its own starts with, up to a "/"
            by_order = self.derived_by_order = {}
            for location, e in self.evaluations.items():
                if e.derived_from:
                    at = location.find("/")
                    while at >= 0:
                        by_order.setdefault(location[:at], []).append(e)
                        at = location.find("/", at + 1)
        found.extend(by_order.get(order_location, ()))
        return found

    # ----------------------------------------------------------------- derived ANC

    def derived(self, evaluation: Evaluation) -> None:
        sources = [self.item.nodes[s].path for s in evaluation.derived_from if s in self.item.nodes]
        root = self.editor.root
        if len(sources) != len(evaluation.derived_from) or evaluation.quantity is None:
            self.not_written(evaluation, "its sources are not all results of this item")
            return
        if root.get("resourceType") == "Bundle":
            if root.get("type") in _RESPONDED:
                self.not_written(
                    evaluation,
                    f"each entry of a {root['type']} Bundle records a server's response, and "
                    "no server responded to a new one",
                )
                return
            if root.get("type") == "document" and self.report_of(evaluation) is None:
                self.not_written(
                    evaluation,
                    "a document Bundle holds only what its Composition references, and no "
                    "DiagnosticReport of it lists the sources to list the ANC beside them",
                )
                return
            self.derived_entry(evaluation, sources)
        elif all(len(p) == 2 and p[0] == "component" for p in sources):
            self.derived_component(evaluation)
        else:
            self.not_written(evaluation, "its sources are not components of one Observation")

    def not_written(self, evaluation: Evaluation, why: str) -> None:
        self.issue(
            Severity.INFORMATION,
            "derived-not-written",
            evaluation.location,
            f"the derived ANC is reported in the findings but not added to the item: {why}",
        )

    def derived_component(self, evaluation: Evaluation) -> None:
        assert evaluation.quantity is not None
        component: dict[str, Any] = {}
        if evaluation.finding is not None:
            component["extension"] = [el.explanation(evaluation.finding)]
        component["code"] = el.with_loinc({"text": el.DERIVED_ANC_TEXT}, evaluation.loinc)
        component["valueQuantity"] = el.per_ul(evaluation.quantity.value)
        if evaluation.finding is not None:
            component["interpretation"] = [el.computed_interpretation(evaluation.finding.code)]
        if evaluation.reference_range is not None:
            component["referenceRange"] = el.normalized_ranges(
                evaluation.reference_range, None, None
            )
        self.editor.node(("component",)).append(component)  # sources are components: it exists
        self.changed.add(())

    def derived_entry(self, evaluation: Evaluation, sources: list[Path]) -> None:
        """A new Bundle entry: an Observation ``derivedFrom`` the source Observations."""
        assert evaluation.quantity is not None
        root = self.editor.root
        entries = root.get("entry", [])
        source_entries = [p[1] for p in sources if len(p) >= 2 and p[0] == "entry"]
        first = entries[source_entries[0]] if source_entries else {}
        first_resource = first.get("resource", {}) if isinstance(first, dict) else {}
        if self.shared_ids is None:
            self.shared_ids = _shared_ids(entries)
        sources_key = _sources_key(entries, sources, self.shared_ids)
        if sources_key is not None:
            rid = resource_id(sources_key, "Observation", "ANC[derived]")
        else:
            if self.key is None:
                self.key = self.item.key
            rid = resource_id(self.key, "Observation", evaluation.location.split("/", 1)[-1])
        resource: dict[str, Any] = {"resourceType": "Observation", "id": rid}
        specimen = first_resource.get("specimen")
        if not isinstance(specimen, dict):
            specimen = None
        carried = [first_resource.get(key) for key in ("subject", "encounter")]
        contained = _contained_copies(first_resource, [*carried, specimen], _entry_reference(first))
        subject = encounter = None
        holder = None if "subject" in first_resource else self.subject_holder(evaluation, sources)
        if holder is not None:
            # a source sent without a subject: the panel's or report's, as it was judged
            holder_entry = entries[holder[1]]
            sent = self.editor.sent(holder)
            subject = sent["subject"]
            if "encounter" not in first_resource and self.was_read(holder, sent):
                encounter = sent.get("encounter")  # its visit, as sources a report contains carry
            # a #id in a contained panel names a resource its entry's resource contains
            contained += _contained_copies(
                holder_entry["resource"], [subject, encounter], _entry_reference(holder_entry)
            )
        if contained:
            resource["contained"] = contained
        finding = evaluation.finding
        if finding is not None:
            resource["extension"] = [el.explanation(finding)]
        # the sources' own statuses: an entry may be the report that contains them
        resource["status"] = el.derived_status(
            self.results[source].status.value
            for source in evaluation.derived_from
            if source in self.results
        )
        resource["category"] = [el.laboratory()]
        resource["code"] = el.with_loinc({"text": el.DERIVED_ANC_TEXT}, evaluation.loinc)
        for key in _CARRIED:
            if key in first_resource:
                resource[key] = fresh_json(first_resource[key])  # the source keeps its own
            elif key == "subject" and subject is not None:
                resource[key] = fresh_json(subject)
            elif key == "encounter" and encounter is not None:
                resource[key] = fresh_json(encounter)
            elif key == EFFECTIVE[-1] and not any(k in resource for k in EFFECTIVE):
                # sources a panel dates (members sent without a time): the time they were judged
                # at, at the last effective[x] choice so it stands before issued, sent or not
                stamp = next(
                    (
                        self.results[source].effective
                        for source in evaluation.derived_from
                        if source in self.results and self.results[source].effective is not None
                    ),
                    None,
                )
                if stamp is not None:
                    resource["effectiveDateTime"] = stamp.fhir
        resource["valueQuantity"] = el.per_ul(evaluation.quantity.value)
        if finding is not None:
            resource["interpretation"] = [el.computed_interpretation(finding.code)]
        # one Reference: sources contained in a DiagnosticReport find its list of specimens here
        if specimen is not None:
            resource["specimen"] = fresh_json(specimen)
        # a batch's server resolves no reference between its entries: they stay server references
        batch = root.get("type") == "batch"
        if self.entry_urls is None:
            self.entry_urls = frozenset(
                url
                for e in entries
                if isinstance(e, dict) and isinstance(url := e.get("fullUrl"), str)
            )
        for key in ("subject", "encounter", "specimen") if not batch else ():
            if key in resource:
                copied_from = (
                    first if key in first_resource or holder is None else entries[holder[1]]
                )
                _name_absolute(resource[key], copied_from, self.entry_urls)
        if evaluation.reference_range is not None:
            resource["referenceRange"] = el.normalized_ranges(
                evaluation.reference_range, None, None
            )
        derived_from = []
        for index in dict.fromkeys(source_entries):
            reference = (_put_to if batch else _entry_reference)(entries[index])
            # derivedFrom may not name a DiagnosticReport (sources contained in one): left out
            if reference and _entry_type(entries[index]) == "Observation":
                derived_from.append({"reference": reference})
        if derived_from:
            resource["derivedFrom"] = derived_from
        url = f"urn:uuid:{rid}"
        entry: dict[str, Any] = {"fullUrl": url, "resource": resource}
        if root.get("type") in _REQUESTING:  # replaying the input must not duplicate it
            entry["request"] = {"method": "PUT", "url": f"Observation/{rid}"}
        if isinstance(root.get("entry"), list):
            self.editor.node(("entry",)).append(entry)  # the copy, registered with the editor
        else:
            self.editor.node(())["entry"] = [entry]
        report = self.report_of(evaluation)
        if report is not None:
            self.changed.add(report)
            node = self.editor.node(report)
            # in a batch, where it is PUT: a batch resolves no urn:uuid (R4 http.html#transaction)
            named = f"Observation/{rid}" if batch else url
            if isinstance(node.get("result"), list):
                # appended to the editor's copy, made once: a new list for each derived ANC of
                # the report copied all its results each time (quadratic in its derived ANCs)
                self.editor.node((*report, "result")).append({"reference": named})
            else:
                node["result"] = [{"reference": named}]

    def subject_holder(self, evaluation: Evaluation, sources: list[Path]) -> Path | None:
        """The path of what names the patient the first source, sent without a subject, was
        judged by: the nearest panel with a subject whose member it is, else the report that
        lists it (None: neither sends one)."""
        panel = self.item.panel_subjects.get(sources[0]) if self.item.panel_subjects else None
        if panel is not None:
            return panel
        report = self.report_of(evaluation)
        if report is not None and len(report) >= 2 and "subject" in self.editor.sent(report):
            return report
        return None

    def was_read(self, holder: Path, sent: dict[str, Any]) -> bool:
        """Whether the panel or report at ``holder`` was read: one set aside (its encounter's
        modifierExtension, a visit that never took place) lends its derived ANC no encounter,
        which read back would set the ANC aside and derive it again."""
        if holder in self.item.reports.values():
            return True  # a report set aside orders no derived ANC
        location = path_location(self.item.location, self.editor.root, holder)
        if location in self.item.nodes:
            return True
        components = _listed(sent.get("component"))
        return any(f"{location}.component[{i}]" in self.item.nodes for i in range(len(components)))

    def report_of(self, evaluation: Evaluation) -> Path | None:
        orders = self.result_orders
        if orders is None:
            orders = self.result_orders = {}
            for group in self.item.groups:
                for order in group.orders:
                    for result in order.results:
                        orders.setdefault(result.location, order.location)
        order_location = orders.get(evaluation.derived_from[0])
        return None if order_location is None else self.item.reports.get(order_location)


_REPORT_TAIL = ("presentedForm", "conclusionCode", "conclusion", "composition", "media", "note")


def _ours(extension: Any) -> bool:
    return isinstance(extension, dict) and extension.get("url") in _OURS


def _put_report(report: dict[str, Any], key: str, value: Any) -> None:
    """Set a DiagnosticReport element, placed before the elements FHIR lists after it."""
    if key in report:
        report[key] = value
        return
    items = list(report.items())
    after = _REPORT_TAIL[: _REPORT_TAIL.index(key)]
    at = next((i for i, (name, _) in enumerate(items) if name in after), len(items))
    items.insert(at, (key, value))
    report.clear()
    report.update(items)


def _resource_path(path: Path) -> Path:
    """The resource whose narrative shows the node at ``path``: the item, or its Bundle entry's
    (a contained resource has none of its own, nor has a component)."""
    return path[:3] if path[:1] == ("entry",) else ()


def _element_id(sent: dict[str, Any]) -> dict[str, Any]:
    """The sent element's ``id``, which stays on the element written in its place (something
    may point at it), and not on the translation (an id is unique in its resource)."""
    return {"id": sent["id"]} if "id" in sent else {}


def _urls(element: Any) -> str:
    """The extension urls of a primitive's extension element (``_value``), quoted bounded."""
    extensions = _listed(element.get("extension")) if isinstance(element, dict) else []
    urls = [quoted(e.get("url")) for e in extensions if isinstance(e, dict)]
    return ", ".join(urls[:5]) + (f" and {len(urls) - 5} more" if len(urls) > 5 else "") or "none"


def _with_sent_extensions(
    own: list[dict[str, Any]], sent: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The extensions of a quantity as sent (``own``, but the originals leukoflag kept before)
    moved from the element written in cells/µL to ``sent``, the quantity as sent, where they
    describe what they were sent with (an uncertainty in its unit): (those left, ``sent``)."""
    theirs = [e for e in own if e.get("url") not in _KEPT]
    if not theirs:
        return own, sent
    return [e for e in own if e.get("url") in _KEPT], {"extension": theirs, **sent}


def _listed(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else nothing (input JSON is not trusted)."""
    return value if isinstance(value, list) else []


def _contained_copies(
    source: dict[str, Any], references: list[Any], source_reference: str
) -> list[dict[str, Any]]:
    """Copies of the resources of ``source``'s ``contained`` that ``references`` name by ``#id``,
    and of those the copies name in turn (a Patient's ``#org``): a local reference copied into a
    new resource resolves only against its own ``contained``. In ``source``'s order. A ``#`` in
    them named ``source`` (the containing resource): it names ``source_reference`` instead."""
    positions: dict[str, int] = {}
    contained = _listed(source.get("contained"))
    for i, inner in enumerate(contained):
        if isinstance(inner, dict) and isinstance(inner.get("id"), str):
            positions.setdefault(inner["id"], i)  # the first of an id, as references resolve
    needed: set[int] = set()
    wanted = [rid for reference in references for rid in _local_ids(reference)]
    while wanted:
        at = positions.get(wanted.pop())
        if at is not None and at not in needed:
            needed.add(at)
            wanted.extend(_local_ids(contained[at]))
    copies = [fresh_json(contained[i]) for i in sorted(needed)]
    pending: list[Any] = list(copies)
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            if current.get("reference") == "#":
                # in the new resource, "#" would name the derived ANC, not the source
                if source_reference:
                    current["reference"] = source_reference
                else:
                    del current["reference"]
                    current.setdefault("display", "the resource this one was contained in")
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return copies


def _local_ids(node: Any) -> list[str]:
    """The ids every ``#id`` reference in ``node`` (at any depth) names."""
    found: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            target = current.get("reference")
            if isinstance(target, str) and target.startswith("#") and len(target) > 1:
                found.append(target[1:])
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return found


def _sources_key(
    entries: list[Any], sources: list[Path], shared: frozenset[str]
) -> tuple[str, ...] | None:
    """The identity of a derived ANC entry: its sources as a server knows them (``Type/id``,
    else ``fullUrl``), so a replay of an amended Bundle PUTs the ANC it derived before; a
    ``Type/id`` that entries of other ``fullUrl``s share (``shared``: a Bundle gathered from two
    servers) names no one source, so its ``fullUrl`` does. None when a source has neither (the
    item's digest is its identity then)."""
    key = ["fhir-derived"]
    for path in sources:
        index = path[1] if path[:1] == ("entry",) and len(path) > 2 else None
        entry = entries[index] if isinstance(index, int) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            return None
        rid, url = entry["resource"].get("id"), entry.get("fullUrl")
        typed = f"{entry['resource'].get('resourceType')}/{rid}" if isinstance(rid, str) else ""
        if isinstance(rid, str) and rid and typed not in shared:
            name = typed
        elif isinstance(url, str) and url:
            name = url
        else:
            return None
        # a result contained in the entry (or a component) is named by its path inside it
        key.append("/".join((name, *(str(part) for part in path[3:]))))
    return tuple(key)


def _name_absolute(reference: Any, entry: Any, urls: frozenset[str]) -> None:
    """A relative ``Type/id`` ``reference`` copied out of ``entry`` into the derived ANC's entry
    (a ``urn:uuid:`` fullUrl, against which FHIR gives a relative reference no meaning): the
    entry of ``urls`` it names against ``entry``'s RESTful fullUrl base, named by that fullUrl
    (R4 bundle.html#references); else as sent."""
    target = reference.get("reference") if isinstance(reference, dict) else None
    url = entry.get("fullUrl") if isinstance(entry, dict) else None
    if not isinstance(target, str) or not isinstance(url, str) or "://" not in url:
        return
    if target.startswith("#") or ":" in target or "?" in target:
        return  # contained, absolute (urn: too) or a conditional reference
    parts = url.rstrip("/").split("/")
    kind = (
        entry["resource"].get("resourceType") if isinstance(entry.get("resource"), dict) else None
    )
    if len(parts) < 4 or parts[-2] != kind:
        return  # not a RESTful fullUrl, [base]/Type/id
    absolute = "/".join(parts[:-2]) + "/" + target
    if absolute in urls:
        reference["reference"] = absolute


def _shared_ids(entries: list[Any]) -> frozenset[str]:
    """The ``Type/id``s that entries of different ``fullUrl``s (or one without) carry: of a
    Bundle gathered from servers whose resources have the same ids (two ``Observation/1``)."""
    urls: dict[str, object] = {}
    shared = set()
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
            continue
        typed = f"{resource.get('resourceType')}/{resource['id']}"
        url = entry.get("fullUrl")
        if urls.setdefault(typed, url) != url:
            shared.add(typed)
    return frozenset(shared)


def _put_to(entry: Any) -> str:
    """How a batch names ``entry``'s resource: where its request PUTs it (``Observation/w1``),
    as the server will know it; else as :func:`_entry_reference` names it."""
    request = entry.get("request") if isinstance(entry, dict) else None
    if isinstance(request, dict) and request.get("method") == "PUT":
        url = request.get("url")
        if isinstance(url, str) and url.count("/") == 1 and "?" not in url:
            return url
    return _entry_reference(entry)


def _entry_reference(entry: Any) -> str:
    if not isinstance(entry, dict):
        return ""
    url = entry.get("fullUrl")
    if isinstance(url, str) and url:
        return url
    resource = entry.get("resource")
    if isinstance(resource, dict) and isinstance(resource.get("id"), str):
        return f"{resource['resourceType']}/{resource['id']}"
    return ""


def _disagreeing(extension: dict[str, Any], per_ul: Decimal, comparator: str, analyte: str) -> str:
    """``extension`` shown when it is an original leukoflag kept (PQ translation, original text)
    that says another count than ``per_ul`` with ``comparator``; "" when it agrees, or when
    what it says cannot be told exactly (no unit, one not known: nothing shows it wrong)."""
    url = extension.get("url")
    if url == el.PQ_TRANSLATION:
        sent = extension.get("valueQuantity")
        if not isinstance(sent, dict):
            return ""
        text, code, system = (
            value if isinstance(value := sent.get(k), str) else ""
            for k in ("unit", "code", "system")
        )
        number, said = sent.get("value"), ""
        unit: Unit | str | None = Unit(text or code, code, system) if text or code else None
        shown = (
            f"{plain(Decimal(number))} {text or code}" if isinstance(number, int | Decimal) else ""
        )
    elif url == el.ORIGINAL_TEXT:
        original = extension.get("valueString")
        match = el.ORIGINAL_FORM.match(original) if isinstance(original, str) else None
        if match is None:
            return ""
        said, number, unit, shown = match[1] or "", Decimal(match[2]), match[3], match.string
    else:
        return ""
    if unit is None or isinstance(number, bool) or not isinstance(number, int | Decimal):
        return ""
    try:
        count = units.normalize(number, unit, analyte)
    except UnitError:
        return ""
    if count.inferred or (count.value_per_ul == per_ul and said == comparator):
        return ""
    return f"{quoted(shown)}, {said}{_cells(count.value_per_ul)} cells/µL"


def _cells(value: Decimal) -> str:
    """A plausible count in cells/µL for an Issue text: ``7,500`` or ``1,234.5``."""
    return f"{int(value):,}" if value == value.to_integral_value() else f"{value:,f}"


def _entry_type(entry: Any) -> Any:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    return resource.get("resourceType") if isinstance(resource, dict) else None


def current_form(interpretation: Any) -> list[Any]:
    """An interpretation element as a list, legacy v2 0078 codings in today's systems."""
    concepts = [interpretation] if isinstance(interpretation, dict) else list(interpretation or ())
    table = tables().interpretation
    deprecated = tables().deprecated_interpretation
    written = []
    for concept in concepts:
        if not isinstance(concept, dict):
            written.append(concept)
            continue
        if not isinstance(concept.get("coding"), list):
            written.append(concept)
            continue
        codings = []
        for sent in concept["coding"]:
            system = sent.get("system") if isinstance(sent, dict) else None
            if isinstance(system, str) and system in LEGACY_INTERPRETATION:
                code = str(sent.get("code", ""))
                known = table.get(code) or deprecated.get(code)
                current = LEGACY_INTERPRETATION[system][1]
                codings.append(el.coding(known) if known else {**sent, "system": current})
            else:
                codings.append(sent)
        written.append({**concept, "coding": codings} if "coding" in concept else concept)
    return written


def flag_in_place(
    item: FhirItem, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    """``item``'s resource with in-scope results per the output contract; the rest unchanged."""
    results = {
        result.location: result
        for group in item.groups
        for order in group.orders
        for result in order.results
    }
    flagger = _Flagger(item, evaluations, _Editor(item.resource), results)
    # nothing version-specific is written in place (docs/fhir-input.md): an R5 item stays R5
    if item.r5_element and settings.fhir_version != "R5":
        flagger.issue(
            Severity.WARNING,
            "version-kept",
            item.location,
            f"the item is FHIR R5 ({item.r5_element} is R5's only): it is flagged in place and "
            f"written in R5, its own version, not in {settings.fhir_version} "
            "(Settings.fhir_version): leukoflag does not convert resources between FHIR "
            "versions",
        )
    elif settings.fhir_version == "R5" and (r4 := r4_element(item)):
        flagger.issue(
            Severity.WARNING,
            "version-kept",
            item.location,
            f"the item is FHIR R4 or R4B ({r4} is not in R5): it is flagged in place and "
            "written in its own version, not in R5 (Settings.fhir_version): leukoflag does "
            "not convert resources between FHIR versions",
        )
    for location, evaluation in evaluations.items():
        flagger.apply(location, evaluation)
    for path in item.legacy:
        flagger.modernize(path)
    flagger.conclude()
    flagger.narratives()
    flagger.signature()
    return flagger.editor.root, tuple(flagger.issues)
