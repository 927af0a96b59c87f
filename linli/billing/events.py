"""What the billing app announces (ADR 0008); subscribers import these classes."""

from __future__ import annotations

from dataclasses import dataclass

from linli.core.events import Event


@dataclass(frozen=True)
class BillLedgerChanged(Event):
    """The ledger (payments, adjustments, refunds) of bills another app created changed, and their
    ``paid_fen``/``adjusted_fen``/``status`` were recomputed. One event per ``Bill.source_type``;
    published in the same transaction, so the app that created the bills can follow their outcome
    at once (parking: a temporary-parking fee paid online settles the session and opens the barrier)."""

    bill_ids: tuple[int, ...]
    source_type: str
