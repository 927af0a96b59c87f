"""How the access app reacts to what other apps announce (subscribed in ``AccessConfig.ready``;
ADR 0008). Each handler turns the event's plain values back into rows and calls the access service
that owns the reaction."""

from __future__ import annotations

from linli.access.biometrics import services as biometrics
from linli.access.credentials import services as credentials
from linli.access.gate import vendor_events
from linli.accounts.models import User
from linli.core.scoping import Actor
from linli.devices.events import AccessEventsReported, Tally
from linli.devices.models import Device
from linli.orgs.selectors import actor_for_user
from linli.people.events import PersonMovedOut
from linli.people.models import Person
from linli.privacy.events import ConsentWithdrawn
from linli.privacy.models import Consent


def _actor(user_id: int | None) -> Actor | None:
    """The acting user as an ``Actor`` again, so the audit records name them with their role."""
    if user_id is None:
        return None
    return actor_for_user(User.objects.get(pk=user_id))


def on_person_moved_out(event: PersonMovedOut) -> None:
    """Moving out ends biometric access at once (R28) and revokes the person's credentials there."""
    person = Person.objects.get(pk=event.person_id)
    biometrics.on_person_moved_out(person, actor=_actor(event.actor_user_id))
    credentials.credentials_revoke_for_person(person=person)


def on_consent_withdrawn(event: ConsentWithdrawn) -> None:
    """A withdrawn face or voice consent deletes the template in the same transaction (R25)."""
    if event.purpose_code not in biometrics.MODALITY_OF_PURPOSE:
        return
    consent = Consent.objects.select_related("person", "purpose").get(pk=event.consent_id)
    biometrics.on_consent_withdrawn(consent, actor=_actor(event.actor_user_id))


def on_access_events_reported(event: AccessEventsReported) -> Tally:
    """Store a door controller's events once each (duplicates counted) and pass its alarms on."""
    device = Device.objects.get(pk=event.device_id)
    counts = vendor_events.record_vendor_events(device=device, events=list(event.events))
    return Tally(stored=int(counts.get("stored", 0)), duplicates=int(counts.get("duplicates", 0)))
