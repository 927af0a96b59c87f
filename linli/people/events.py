"""What the people app announces (ADR 0008); subscribers import these classes."""

from __future__ import annotations

from dataclasses import dataclass

from linli.core.events import Event


@dataclass(frozen=True)
class PersonMovedOut(Event):
    """A person has no current occupancy left in the estate (迁出). Published inside the move-out
    transaction: whatever moving out ends (R28: biometric templates, access credentials) goes with it
    or not at all."""

    person_id: int
    estate_id: int
    actor_user_id: int | None = None
