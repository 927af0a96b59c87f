"""What the privacy app announces (ADR 0008); subscribers import these classes."""

from __future__ import annotations

from dataclasses import dataclass

from linli.core.events import Event


@dataclass(frozen=True)
class ConsentWithdrawn(Event):
    """A person withdrew a consent (R3). Published inside the withdrawal's transaction, before its
    audit record: what the consent allowed ends in the same request (R25: a biometric template is
    deleted and every door device told to delete it) or the withdrawal does not happen."""

    consent_id: int
    person_id: int
    purpose_code: str
    actor_user_id: int | None = None
