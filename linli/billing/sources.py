"""Bills that another app created (``Bill.source_type``/``source_id``) and whose outcome it follows.

An app registers one listener per source type at start-up (in its ``AppConfig.ready``); every change
of a bill's ledger (payment, adjustment, refund) calls the listener of the bill's source type with the
refreshed bills, inside the same transaction. Parking uses it so that a temporary-parking fee paid
online (the provider's notification) or at the billing counter settles the parking session and
opens the barrier. Billing never imports the apps that listen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

_LISTENERS: dict[str, Callable[[list], None]] = {}


def listen(source_type: str, listener: Callable[[list], None]) -> None:
    """Call ``listener(bills)`` whenever the ledger of bills of ``source_type`` changes."""
    _LISTENERS[source_type] = listener


def notify(bills: Iterable) -> None:
    """Hand refreshed bills to the listener of their source type (bills without one are skipped)."""
    groups: dict[str, list] = defaultdict(list)
    for bill in bills:
        if bill.source_type in _LISTENERS:
            groups[bill.source_type].append(bill)
    for source_type, group in groups.items():
        _LISTENERS[source_type](group)
