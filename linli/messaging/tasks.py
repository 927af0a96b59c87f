"""Background delivery of messages: the first attempt runs as a task right after the send commits
(``services.delivery_attempt_task``); this periodic job sends what quiet hours held back and retries
failed attempts once their back-off has passed."""

from __future__ import annotations

from datetime import timedelta

from linli.core.periodic import periodic
from linli.messaging.services import deliveries_due, messages_purge


@periodic("messaging.deliver_due", every=timedelta(minutes=1))
def deliver_due(now):
    counts = deliveries_due(now=now)
    return " ".join(f"{status}={n}" for status, n in sorted(counts.items())) or "nothing due"


@periodic("messaging.purge", every=timedelta(days=1))
def purge(now):
    """Messages are kept one year (data catalogue); older ones go with their delivery log."""
    return f"deleted {messages_purge(now=now)} rows"
