"""Access events reported by door devices themselves (vendor pushes: Hikvision ISAPI, Dahua), stored
beside the server's own decisions (``access.gate.decision``).

Vendor adapters (``linli/adapters/<vendor>/``) turn pushes into ``devices.canonical.VendorAccessEvent``
and announce them (``devices.events.AccessEventsReported``); ``access.subscribers`` hands them to
``record_vendor_events``. Mapping:

* ``access`` events → one ``AccessEvent`` (source ``vendor``) per (device, seq): a re-pushed or
  re-uploaded event is a duplicate, not a second row. ``door_no`` → the device's ``AccessPoint``;
  ``employee_no`` → ``AccessSubject`` (the pseudonym on the device) → person; a card number → the
  card credential by blind index; a QR code → its nonce and, when its signature verifies, the
  credential or visitor pass. An allowed visitor entry takes one entry of the pass.
* ``alarm`` events (tailgating, forced door, duress …) → ``access.insights.anomalies.report_device_alarm``.
* ``door`` and ``status`` events are not passages: counted as ignored (device health is the
  devices app's business).

Vendor reasons are mapped to the stable deny reasons of ``access.gate.decision``; the vendor's own code is
kept in ``detail``. Names and images never reach this function (the codecs drop them).
"""

from __future__ import annotations

import importlib
import inspect
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from linli.access.credentials import qr
from linli.access.credentials import services as credentials
from linli.access.gate import decision
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessResult,
    AccessSubject,
    Credential,
    CredentialKind,
    CredentialStatus,
    Direction,
    EventSource,
    Method,
    SubjectKind,
    VisitorPass,
)
from linli.access.points import policy
from linli.devices.canonical import VendorAccessEvent

log = logging.getLogger("linli.access")

VENDOR_REASONS = {
    "no_right": "not_allowed",
    "not_allowed": "not_allowed",
    "expired": "outside_window",
    "outside_window": "outside_window",
    "invalid_card": "unknown_credential",
    "unknown_card": "unknown_credential",
    "stranger": "unknown_credential",
    "unknown_person": "unknown_credential",
    "liveness_failed": "forged",
    "forged": "forged",
    "revoked": "revoked",
    "card_lost": "revoked",
    "used_up": "used_up",
    "replayed": "replayed",
    "malformed": "malformed",
}


def _reason(event: VendorAccessEvent) -> str:
    if event.result == AccessResult.ALLOW:
        return decision.OK
    if event.reason in decision.REASONS and event.reason != decision.OK:
        return event.reason
    return VENDOR_REASONS.get(event.reason, "not_allowed")


def _report_alarm():
    try:
        module = importlib.import_module("linli.access.insights.anomalies")
    except ModuleNotFoundError as exc:
        if exc.name != "linli.access.insights.anomalies":
            raise
        return None
    return getattr(module, "report_device_alarm", None)


class _Subjects:
    """Batch lookups of who an event is about (a few queries per push, not per event)."""

    def __init__(self, device, events: list[VendorAccessEvent]) -> None:
        self.estate_id = device.estate_id
        self.estate_path = device.path
        pseudonyms = {e.employee_no for e in events if e.employee_no}
        self.by_pseudonym = dict(
            AccessSubject.objects.filter(pseudonym__in=pseudonyms, estate_id=self.estate_id).values_list(
                "pseudonym", "person_id"
            )
        )
        hashes = {}
        for e in events:
            number = credentials.normalize_card(e.card_no) if e.card_no else None
            if number:
                hashes[e.card_no] = credentials.card_hash(number)
        self.card_hash = hashes
        self.cards: dict[str, dict] = {}
        for row in Credential.objects.filter(
            estate_id=self.estate_id, kind=CredentialKind.CARD, number_hash__in=set(hashes.values())
        ).values("pk", "person_id", "status", "number_hash"):
            current = self.cards.get(row["number_hash"])
            if current is None or row["status"] == CredentialStatus.ACTIVE:
                self.cards[row["number_hash"]] = row
        self._kinds: dict[int, str] = {}

    def kind_of(self, person_id: int) -> str:
        if person_id not in self._kinds:
            if credentials.current_building_ids(person_id, self.estate_id):
                kind = SubjectKind.RESIDENT
            else:
                from linli.people.models import Person

                user_id = Person.objects.filter(pk=person_id).values_list("user_id", flat=True).first()
                roles = policy.staff_roles(user_id=user_id, estate_path=self.estate_path)
                kind = SubjectKind.STAFF if roles else SubjectKind.UNKNOWN
            self._kinds[person_id] = kind
        return self._kinds[person_id]

    def qr_subject(self, text: str) -> tuple[str, dict]:
        """(nonce, {credential_id, person_id} or {visitor_pass_id}) of a code whose signature
        verifies with a key of this estate; ("", {}) for anything else."""
        try:
            code = qr.parse(text)
        except qr.InvalidCode:
            return "", {}
        found = decision._public_key(code.kid)
        if found is None or found[0] != self.estate_id:
            return code.nonce, {}
        try:
            qr.check_signature(code, found[1])
        except qr.InvalidCode:
            return code.nonce, {}
        if code.kind == qr.KIND_RESIDENT:
            row = (
                Credential.objects.filter(token=code.subject, estate_id=self.estate_id)
                .values("pk", "person_id")
                .first()
            )
            return code.nonce, ({"credential_id": row["pk"], "person_id": row["person_id"]} if row else {})
        pass_id = (
            VisitorPass.objects.filter(token=code.subject, estate_id=self.estate_id)
            .values_list("pk", flat=True)
            .first()
        )
        return code.nonce, ({"visitor_pass_id": pass_id} if pass_id else {})


def _access_event(device, e: VendorAccessEvent, point, subjects: _Subjects, now) -> AccessEvent:
    person_id = credential_id = pass_id = None
    nonce = ""
    if e.employee_no:
        person_id = subjects.by_pseudonym.get(e.employee_no)
    if e.card_no and e.card_no in subjects.card_hash:
        card = subjects.cards.get(subjects.card_hash[e.card_no])
        if card is not None:
            credential_id, person_id = card["pk"], person_id or card["person_id"]
    if e.qr_code:
        nonce, found = subjects.qr_subject(e.qr_code)
        credential_id = found.get("credential_id", credential_id)
        person_id = found.get("person_id", person_id)
        pass_id = found.get("visitor_pass_id")
    if pass_id:
        subject_kind = SubjectKind.VISITOR
    elif person_id:
        subject_kind = subjects.kind_of(person_id)
    else:
        subject_kind = SubjectKind.UNKNOWN
    if e.direction in (Direction.IN, Direction.OUT):
        direction = e.direction
    elif point is not None:
        direction = decision.effective_direction(point, None)
    else:
        direction = Direction.IN
    detail = {"live": e.live}
    if e.method and e.method not in Method.values:
        detail["vendor_method"] = e.method[:32]
    if e.reason:
        detail["vendor_reason"] = e.reason[:64]
    if e.raw:
        detail["vendor"] = {k: v for k, v in e.raw.items() if isinstance(v, str | int | float | bool)}
    if point is None:
        detail["door_no"] = e.door_no
    return AccessEvent(
        estate_id=device.estate_id,
        path=point.path if point is not None else device.path,
        access_point=point,
        device=device,
        occurred_at=e.occurred_at,
        received_at=now,
        direction=direction,
        method=e.method if e.method in Method.values else "",
        result=AccessResult.ALLOW if e.result == AccessResult.ALLOW else AccessResult.DENY,
        reason=_reason(e),
        subject_kind=subject_kind,
        person_id=person_id,
        visitor_pass_id=pass_id,
        credential_id=credential_id,
        source=EventSource.VENDOR,
        device_seq=e.seq,
        code_nonce=nonce,
        detail=detail,
    )


def record_vendor_events(*, device, events: list[VendorAccessEvent]) -> dict:
    """Store a device's access events once each and pass its alarms on.

    Returns ``{"stored", "duplicates", "alarms", "ignored"}``."""
    now = timezone.now()
    access = [e for e in events if e.kind == "access" and e.result in (AccessResult.ALLOW, AccessResult.DENY)]
    alarms = [e for e in events if e.kind == "alarm" and e.alarm]
    ignored = len(events) - len(access) - len(alarms)
    doors = {e.door_no for e in events}
    points = {p.door_no: p for p in AccessPoint.objects.filter(device=device, door_no__in=doors)}
    seqs = [e.seq for e in access if e.seq is not None]
    existing = set(
        AccessEvent.objects.filter(device=device, device_seq__in=seqs).values_list("device_seq", flat=True)
    )
    subjects = _Subjects(device, access)
    stored: list[AccessEvent] = []
    duplicates = 0
    seen: set[int] = set()
    for e in access:
        if e.seq is not None:
            if e.seq in existing or e.seq in seen:
                duplicates += 1
                continue
            seen.add(e.seq)
        point = points.get(e.door_no)
        row = _access_event(device, e, point, subjects, now)
        try:
            with transaction.atomic():
                row.save(force_insert=True)
                if row.result == AccessResult.ALLOW and row.visitor_pass_id and row.direction == Direction.IN:
                    decision.consume_entry(row.visitor_pass_id)
        except IntegrityError:  # the same (device, seq) arrived concurrently
            duplicates += 1
            continue
        stored.append(row)
    decision.run_anomaly_rules(stored)
    reported = 0
    report = _report_alarm() if alarms else None
    if report is not None:
        takes_live = "live" in inspect.signature(report).parameters
        for e in alarms:
            kwargs = {"live": e.live} if takes_live else {}
            report(
                event=None,
                access_point=points.get(e.door_no),
                alarm=e.alarm,
                occurred_at=e.occurred_at,
                **kwargs,
            )
            reported += 1
    return {"stored": len(stored), "duplicates": duplicates, "alarms": reported, "ignored": ignored}
