"""Scope, reference ranges, interpretation codes, CTCAE grades and findings.

Contract used by :mod:`leukoflag.api` (keep these signatures; the flagging work replaces the
placeholders below):

* ``patient_context(patient, settings)`` — birth date, sex and the Duffy-null opt-in.
* ``evaluate_order(order, context, settings, fallback_day=)`` — one Evaluation per
  ``order.results`` item in the same order, then any derived ANC evaluations.
"""

from __future__ import annotations

import datetime as dt

from leukoflag.model import Evaluation, Order, Patient, PatientContext
from leukoflag.settings import Settings

__all__ = ["evaluate_order", "patient_context"]


def patient_context(patient: Patient | None, settings: Settings) -> PatientContext:
    raise NotImplementedError  # placeholder


def evaluate_order(
    order: Order,
    context: PatientContext,
    settings: Settings,
    *,
    fallback_day: dt.date | None = None,
) -> tuple[Evaluation, ...]:
    raise NotImplementedError  # placeholder
