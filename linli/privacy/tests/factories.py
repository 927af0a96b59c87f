"""Test data for privacy: purposes (the data migration creates the defaults) and consents."""

from __future__ import annotations

import importlib
from datetime import date

from linli.orgs.selectors import actor_for_user
from linli.people.models import Person, Relation
from linli.people.tests import factories as people_f
from linli.privacy import services
from linli.privacy.models import Consent, Purpose

_defaults = importlib.import_module("linli.privacy.migrations.0002_default_purposes")


def purpose(code: str = "notifications") -> Purpose:
    """A default purpose (created by migration 0002; recreated if a transactional test flushed it)."""
    existing = Purpose.objects.filter(code=code).first()
    if existing is not None:
        return existing
    item = next(p for p in _defaults.PURPOSES if p["code"] == code)
    return Purpose.objects.create(
        code=code, name=item["name"], sensitive=item["sensitive"], notice=item["notice"]
    )


def consent(*, person: Person, code: str = "notifications", channel: str = "h5") -> Consent:
    """A consent given by the person's own resident account."""
    return services.consent_grant(
        actor=actor_for_user(person.user), person=person, purpose=purpose(code), channel=channel
    )


def child(*, estate, room, age: int = 10, household=None) -> Person:
    today = date.today()
    birth = date(today.year - age, 1, 1)
    return people_f.person(
        estate=estate,
        room=room,
        relation=Relation.FAMILY,
        household=household,
        id_no=people_f.id_number(birth=birth),
    )


def resident_user_for(person: Person):
    """A resident account linked to ``person``."""
    from linli.accounts.models import UserKind
    from linli.orgs.tests import factories as orgs_f

    user = orgs_f.user(kind=UserKind.RESIDENT)
    person.user = user
    person.save(update_fields=["user"])
    return user


def tenancy(*, tenant: Person, room, landlord: Person | None = None, start: date = date(2024, 1, 1)):
    """A tenant moving into ``room`` through the people service (opens the rental registration)."""
    from linli.orgs.roles import Role
    from linli.orgs.tests import factories as orgs_f
    from linli.people import services as people_services

    clerk = orgs_f.staff(role=Role.CUSTOMER_SERVICE, scope=[room.estate])
    return people_services.occupancy_start(
        actor=actor_for_user(clerk),
        person=tenant,
        room=room,
        relation=Relation.TENANT,
        start_date=start,
        landlord=landlord,
    )
