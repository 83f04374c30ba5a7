"""Counters per input file and in total: the ``--report`` JSON and the summary line.

Only counters are kept (never outputs or outcomes), so a report costs the same memory for ten
messages or ten million.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from leukoflag._version import __version__
from leukoflag.cli._inputs import Input, json_text
from leukoflag.cli._records import ItemRecord
from leukoflag.settings import Settings

__all__ = ["FileTally", "Report"]

_LOW = frozenset({"L", "LU", "LL"})
_CODE_ORDER = ("N", "L", "LU", "LL", "H", "HU", "HH")
_SEVERITY_ORDER = ("fatal", "error", "warning", "information")


@dataclass(slots=True)
class FileTally:
    """What one input gave."""

    input: Input
    format: str = ""
    messages: int = 0
    bundles: int = 0
    rejected: int = 0
    observations: int = 0
    normalized: int = 0
    interpretations: Counter[str] = field(default_factory=Counter)
    low: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    issue_codes: Counter[str] = field(default_factory=Counter)

    def add(self, record: ItemRecord) -> None:
        self.messages += 1
        if record.output is not None:
            self.bundles += 1
        else:
            self.rejected += 1
        self.observations += record.observations
        self.normalized += record.normalized
        for analyte, code in record.judged:
            self.interpretations[code] += 1
            if code in _LOW:
                self.low[analyte] += 1
        for severity, code in record.issues:
            self.severities[severity] += 1
            self.issue_codes[code] += 1

    def merge(self, other: FileTally) -> None:
        self.messages += other.messages
        self.bundles += other.bundles
        self.rejected += other.rejected
        self.observations += other.observations
        self.normalized += other.normalized
        self.interpretations.update(other.interpretations)
        self.low.update(other.low)
        self.severities.update(other.severities)
        self.issue_codes.update(other.issue_codes)

    def counts(self) -> dict[str, Any]:
        """The JSON object of the report for these counters."""
        return {
            "messages": self.messages,
            "bundles": self.bundles,
            "rejected": self.rejected,
            "observations": self.observations,
            "normalized": self.normalized,
            "interpretations": _ordered(self.interpretations, _CODE_ORDER),
            "low": {"wbc": self.low["wbc"], "anc": self.low["anc"]},
            "issues": {
                "total": sum(self.severities.values()),
                "by_severity": _ordered(self.severities, _SEVERITY_ORDER),
                "by_code": dict(sorted(self.issue_codes.items())),
            },
        }


class Report:
    """The tallies of a run, in input order."""

    def __init__(self, inputs: Sequence[Input]) -> None:
        self.files = [FileTally(item) for item in inputs]

    def totals(self) -> FileTally:
        total = FileTally(Input("", "", None, None))
        for tally in self.files:
            total.merge(tally)
        return total

    def as_json(self, settings: Settings) -> dict[str, Any]:
        """The ``--report`` document: no timings or paths of the run, so a report depends only on
        the inputs and the settings (``--jobs`` does not change it)."""
        return {
            "leukoflag": __version__,
            "settings": _settings_json(settings),
            "totals": {"files": len(self.files), **self.totals().counts()},
            "files": [
                {
                    "input": json_text(tally.input.source),
                    "output_name": json_text(tally.input.name),
                    "format": tally.format,
                    **tally.counts(),
                }
                for tally in self.files
            ],
        }

    def summary(self, seconds: float) -> str:
        """The one-line summary printed at the end of a run."""
        total = self.totals()
        files = len(self.files)
        # a FHIR input's unit is an item (a resource, a Bundle, an NDJSON line), flagged in place
        fhir = FileTally(Input("", "", None, None))
        for tally in self.files:
            if tally.format == "fhir":
                fhir.merge(tally)
        messages, bundles = total.messages - fhir.messages, total.bundles - fhir.bundles
        counted = []
        if messages or not fhir.messages:
            counted.append(
                f"{messages:,} {_plural(messages, 'message')} → "
                f"{bundles:,} {_plural(bundles, 'bundle')}"
            )
        if fhir.messages:
            counted.append(
                f"{fhir.messages:,} FHIR {_plural(fhir.messages, 'item')} → "
                f"{fhir.bundles:,} {_plural(fhir.bundles, 'resource')}"
            )
        return (
            f"leukoflag: {', '.join(counted)}, {total.rejected:,} rejected"
            f" · low WBC {total.low['wbc']:,} · low ANC {total.low['anc']:,}"
            f" · {files:,} {_plural(files, 'file')} in {seconds:.1f} s"
        )


def _settings_json(settings: Settings) -> dict[str, Any]:
    return {
        "fhir_version": settings.fhir_version,
        "bundle_type": settings.bundle_type,
        "range_policy": settings.range_policy,
        "ctcae_version": settings.ctcae_version,
        "critical_low": dict(settings.critical_low),
        # identifiers of patients are not copied into a report: only how many were declared,
        # or "*" when every patient was (a count would read as one patient named)
        "duffy_null": "*" if "*" in settings.duffy_null else len(settings.duffy_null),
        "default_timezone": settings.default_timezone,
        "fallback_charset": settings.fallback_charset,
        "strict": settings.strict,
    }


def _ordered(counter: Counter[str], order: Iterable[str]) -> dict[str, int]:
    known = [key for key in order if counter[key]]
    rest = sorted(key for key in counter if key not in known and counter[key])
    return {key: counter[key] for key in (*known, *rest)}


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"
