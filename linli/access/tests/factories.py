"""Test data for entry and exit: access points, the default resident policy, credentials."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from linli.access.credentials import qr
from linli.access.models import (
    AccessPoint,
    AccessPointKind,
    AccessPolicy,
    Audience,
    Credential,
    CredentialKind,
    VisitorKind,
    VisitorPass,
)
from linli.core import crypto

_seq = itertools.count(1)

DEFAULT_METHODS = ["qr", "card", "pin", "staff"]


def access_point(
    *, estate, building=None, kind: str | None = None, device=None, door_no: int = 1, methods=None, **kw
) -> AccessPoint:
    n = next(_seq)
    kind = kind or (AccessPointKind.UNIT_DOOR if building else AccessPointKind.ESTATE_GATE)
    return AccessPoint.objects.create(
        estate=estate,
        building=building,
        kind=kind,
        name=kw.pop("name", f"出入口{n}"),
        code=kw.pop("code", f"ap{n}"),
        allowed_methods=list(methods or DEFAULT_METHODS),
        device=device,
        door_no=door_no,
        **kw,
    )


def resident_policy(*, estate, **kw) -> AccessPolicy:
    """Residents: estate-wide points and the points of their own buildings, all day."""
    return AccessPolicy.objects.create(
        estate=estate,
        name=kw.pop("name", "住户通行"),
        audience=Audience.RESIDENTS,
        own_building_only=True,
        **kw,
    )


def visitor_policy(*, estate, **kw) -> AccessPolicy:
    return AccessPolicy.objects.create(
        estate=estate,
        name=kw.pop("name", "访客通行"),
        audience=Audience.VISITORS,
        own_building_only=True,
        **kw,
    )


def qr_credential(*, person, estate=None) -> Credential:
    return Credential.objects.create(
        estate=estate or person.estate, person=person, kind=CredentialKind.QR, token=qr.new_subject_token()
    )


def card_credential(*, person, number: str | None = None, estate=None) -> Credential:
    number = number or f"{next(_seq):010d}"
    estate = estate or person.estate
    return Credential.objects.create(
        estate=estate,
        person=person,
        kind=CredentialKind.CARD,
        number=number,
        number_hash=crypto.blind_index(number, purpose="access_card"),
    )


def visitor_pass(*, estate, host_person=None, host_room=None, hours: int = 4, max_entries: int = 1, **kw):
    now = timezone.now()
    return VisitorPass.objects.create(
        estate=estate,
        kind=kw.pop("kind", VisitorKind.GUEST),
        host_person=host_person,
        host_room=host_room,
        visitor_name=kw.pop("visitor_name", "王"),
        valid_from=kw.pop("valid_from", now - timedelta(minutes=5)),
        valid_until=kw.pop("valid_until", now + timedelta(hours=hours)),
        max_entries=max_entries,
        token=qr.new_subject_token(),
        link_hash=kw.pop("link_hash", qr.new_subject_token() * 2),
        path=kw.pop("path", host_room.path if host_room else estate.path),
        **kw,
    )
