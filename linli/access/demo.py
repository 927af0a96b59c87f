"""Demo entry and exit of one estate (issue #5): access points with their controllers, the default
policies, credentials, a week of access events, visitor passes and a few anomalies.

Per estate:

- two pedestrian gates (东门, 南门), one unit door per building (its first unit), one garage
  barrier; each with its own controller registered through ``devices.services.device_create``
  (profile and adapter ``generic``: the registry has no access-controller profile yet), so every
  controller has a key and a secret, listed in ``demo-devices.json`` (``demo_devices_section``);
- the default resident and visitor policies (created with the first access point) and a staff
  policy for the property's own staff;
- the 一码通 QR identity of every resident with an account (``credentials.credential_issue_qr``),
  IC cards for a sample of residents and for every elderly resident living alone (R23: no phone
  needed);
- a week of access events in local time: commuters out in the morning and back in the evening
  (estate gate, then their unit door), retired residents out mid-morning and some in the afternoon,
  drivers through the garage barrier, a few refusals, and visitors (invited, walk-in, delivery)
  with their passes; written with ``bulk_create``;
- anomalies found by the real rules on crafted events: a card used at both gates 35 s apart, five
  refusals in a row at a unit door, a tailgating report from the south gate, and one elderly
  resident living alone not seen for three days (care alert to the community worker).

The structure is deterministic for a given estate and ``now`` (times follow a seeded generator);
secrets and QR tokens are random. A second run finds the access points and the events and adds
nothing.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from linli.access.insights import anomalies
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessPointKind,
    AccessPolicy,
    AccessResult,
    Audience,
    Credential,
    CredentialKind,
    CredentialStatus,
    Direction,
    EventSource,
    SubjectKind,
    VisitorChannel,
    VisitorKind,
    VisitorPass,
    VisitorPassStatus,
)
from linli.access.points import services
from linli.core import audit
from linli.core.audit import Action
from linli.orgs.models import Membership
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.places.models import Region, RegionLevel, Room

DAYS = 7
CARD_SHARE = 0.15
MAX_CARDS = 300
MAX_DRIVERS = 40
DENY_SHARE = 0.02
BATCH = 2000
GATE_METHODS = ["qr", "card", "face", "staff"]
DOOR_METHODS = ["qr", "card", "pin", "face"]
GARAGE_METHODS = ["plate", "card", "staff"]
STAFF_ROLES = [Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE, Role.TECHNICIAN, Role.GUARD]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"


@dataclass(frozen=True)
class PlannedPoint:
    code: str
    name: str
    kind: str
    methods: list[str]
    device_key: str
    device_name: str
    location: str
    building: Region | None = None
    direction: str = Direction.BOTH


def _property_admin(estate: Region):
    membership = (
        Membership.objects.filter(
            role=Role.PROPERTY_ADMIN,
            is_active=True,
            organization__is_active=True,
            user__is_active=True,
            scope=estate,
        )
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return membership.user if membership else None


def _prefix(estate: Region) -> str:
    from linli.devices.models import estate_code_of

    code = re.sub(r"[^a-z0-9]", "", estate_code_of(estate).lower())
    return code or f"e{estate.pk}"


def plan(estate: Region) -> list[PlannedPoint]:
    """The estate's demo access points (gates, one unit door per building, the garage barrier)."""
    p = _prefix(estate)
    points = [
        PlannedPoint(
            code="gate-east",
            name="东门人行通道",
            kind=AccessPointKind.PEDESTRIAN_GATE,
            methods=GATE_METHODS,
            device_key=f"{p}-acs-gate-east",
            device_name=f"{estate.name} 东门人行通道闸机控制器",
            location="东门",
        ),
        PlannedPoint(
            code="gate-south",
            name="南门人行通道",
            kind=AccessPointKind.PEDESTRIAN_GATE,
            methods=GATE_METHODS,
            device_key=f"{p}-acs-gate-south",
            device_name=f"{estate.name} 南门人行通道闸机控制器",
            location="南门",
        ),
    ]
    buildings = list(Region.objects.filter(parent=estate, level=RegionLevel.BUILDING).order_by("sort", "pk"))
    first_units = {}
    for unit in Region.objects.filter(parent__in=buildings, level=RegionLevel.UNIT).order_by("sort", "pk"):
        first_units.setdefault(unit.parent_id, unit)
    for b in buildings:
        unit = first_units.get(b.pk)
        where = f"{b.name}{unit.name if unit else ''}"
        points.append(
            PlannedPoint(
                code=f"door-{b.pk}",
                name=f"{where}门" if unit else f"{where}单元门",
                kind=AccessPointKind.UNIT_DOOR,
                methods=DOOR_METHODS,
                device_key=f"{p}-acs-door-{b.pk}",
                device_name=f"{where} 单元门门禁控制器",
                location=f"{where}单元门",
                building=b,
            )
        )
    points.append(
        PlannedPoint(
            code="garage",
            name="地库出入口道闸",
            kind=AccessPointKind.GARAGE_BARRIER,
            methods=GARAGE_METHODS,
            device_key=f"{p}-acs-garage",
            device_name=f"{estate.name} 地库道闸控制器",
            location="地库入口",
        )
    )
    return points


def _points(actor, estate: Region, now: datetime) -> tuple[dict[str, AccessPoint], int]:
    from linli.devices import services as device_services
    from linli.devices.models import Device, DeviceProfile

    profile = DeviceProfile.objects.get(key="generic")
    existing = {p.code: p for p in AccessPoint.objects.filter(estate=estate)}
    devices = {
        d.key: d for d in Device.objects.filter(estate=estate, key__startswith=_prefix(estate) + "-acs-")
    }
    created = []
    for planned in plan(estate):
        if planned.code in existing:
            continue
        device = devices.get(planned.device_key)
        if device is None:
            device = device_services.device_create(
                actor=actor,
                estate=estate,
                profile=profile,
                name=planned.device_name,
                key=planned.device_key,
                building=planned.building,
                floor=1 if planned.building else None,
                location=planned.location,
                adapter="generic",
            ).device
        point = services.access_point_create(
            actor=actor,
            estate=estate,
            kind=planned.kind,
            name=planned.name,
            code=planned.code,
            allowed_methods=planned.methods,
            building=planned.building,
            direction=planned.direction,
            device=device,
            door_no=1,
        )
        existing[point.code] = point
        created.append(point.pk)
    if created:  # installed a week before the simulated events start
        AccessPoint.objects.filter(pk__in=created).update(created_at=now - timedelta(days=DAYS + 1))
    if not AccessPolicy.objects.filter(estate=estate, audience=Audience.STAFF).exists():
        services.policy_create(
            actor=actor,
            estate=estate,
            name="物业员工通行：全部出入口",
            audience=Audience.STAFF,
            roles=[str(r) for r in STAFF_ROLES],
            own_building_only=False,
        )
    return existing, len(created)


@dataclass
class Holder:
    person_id: int
    building_id: int
    room: Room
    credential_id: int | None
    method: str
    profile: str  # worker, retired, elderly_alone


def _credentials(actor, estate: Region, rng: random.Random, now: datetime) -> tuple[list[Holder], int, int]:
    """QR identities for residents with accounts, cards for a sample and every elderly person living
    alone; returns (holders, QR issued, cards issued)."""
    from linli.access.credentials import services as access_credentials
    from linli.people.models import CareKind, CareTag, Occupancy, Person

    homes: dict[int, Room] = {}
    for occ in (
        Occupancy.objects.filter(estate=estate, end_date__isnull=True)
        .select_related("room")
        .order_by("person_id", "start_date", "pk")
    ):
        homes.setdefault(occ.person_id, occ.room)
    persons = list(
        Person.objects.filter(pk__in=list(homes)).order_by("pk").values("pk", "user_id", "birth_date")
    )
    elderly = set(
        CareTag.objects.filter(
            estate=estate, kind=CareKind.ELDERLY_ALONE, end_date__isnull=True, person_id__in=list(homes)
        ).values_list("person_id", flat=True)
    )
    active = {
        (pid, kind): cid
        for pid, kind, cid in Credential.objects.filter(
            estate=estate, status=CredentialStatus.ACTIVE
        ).values_list("person_id", "kind", "pk")
    }
    qr_issued = 0
    for p in persons:
        if p["user_id"] and (p["pk"], CredentialKind.QR) not in active:
            row = access_credentials.credential_issue_qr(
                actor=actor, person=Person(pk=p["pk"], estate=estate)
            )
            active[(p["pk"], CredentialKind.QR)] = row.pk
            qr_issued += 1
    others = [p for p in persons if p["pk"] not in elderly and not p["user_id"]]
    sample = rng.sample(others, min(len(others), MAX_CARDS, max(1, round(len(others) * CARD_SHARE))))
    wanted = sorted({p["pk"] for p in sample} | elderly)
    new_cards = []
    for pid in wanted:
        if (pid, CredentialKind.CARD) in active:
            continue
        number = f"{estate.pk % 256:02X}{pid:08X}"
        new_cards.append(
            Credential(
                estate=estate,
                person_id=pid,
                kind=CredentialKind.CARD,
                label="门禁卡",
                number=number,
                number_hash=access_credentials.card_hash(number),
                issued_by=actor.user,
                path=estate.path,
            )
        )
    Credential.objects.bulk_create(new_cards, batch_size=500)
    if new_cards:
        audit.record(
            Action.IMPORT,
            actor=actor,
            object_type=Credential._meta.label_lower,
            estate_id=estate.pk,
            reason="demo",
            detail={"kind": "card", "created": len(new_cards)},
        )
    for pid, cid in Credential.objects.filter(
        estate=estate, kind=CredentialKind.CARD, status=CredentialStatus.ACTIVE, person_id__in=wanted
    ).values_list("person_id", "pk"):
        active[(pid, CredentialKind.CARD)] = cid
    today = timezone.localdate(now)
    holders = []
    for p in persons:
        qr = active.get((p["pk"], CredentialKind.QR))
        card = active.get((p["pk"], CredentialKind.CARD))
        if not qr and not card:
            continue
        age = (today - p["birth_date"]).days // 365 if p["birth_date"] else 40
        profile = "elderly_alone" if p["pk"] in elderly else ("retired" if age >= 60 else "worker")
        room = homes[p["pk"]]
        holders.append(
            Holder(
                person_id=p["pk"],
                building_id=room.building_id,
                room=room,
                credential_id=qr or card,
                method="qr" if qr else "card",
                profile=profile,
            )
        )
    return holders, qr_issued, len(new_cards)


class _Events:
    """Collects access events for one bulk insert."""

    def __init__(self, estate: Region, now: datetime) -> None:
        self.estate, self.now, self.rows = estate, now, []

    def add(
        self,
        point: AccessPoint,
        at: datetime,
        *,
        direction: str,
        method: str,
        result: str = AccessResult.ALLOW,
        reason: str = "ok",
        subject_kind: str = SubjectKind.RESIDENT,
        person_id: int | None = None,
        credential_id: int | None = None,
        visitor_pass_id: int | None = None,
    ) -> AccessEvent | None:
        if at > self.now:
            return None
        row = AccessEvent(
            estate=self.estate,
            path=point.path,
            access_point=point,
            device_id=point.device_id,
            occurred_at=at,
            received_at=at + timedelta(milliseconds=120),
            direction=direction,
            method=method,
            result=result,
            reason=reason,
            subject_kind=subject_kind,
            person_id=person_id,
            credential_id=credential_id,
            visitor_pass_id=visitor_pass_id,
            source=EventSource.ONLINE,
        )
        self.rows.append(row)
        return row

    def save(self) -> int:
        AccessEvent.objects.bulk_create(self.rows, batch_size=BATCH)
        return len(self.rows)


def _at(day: date, hour: float, rng: random.Random, spread_minutes: float) -> datetime:
    minutes = hour * 60 + rng.uniform(0, spread_minutes)
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start + timedelta(minutes=minutes, seconds=rng.randint(0, 59))


def _passage(ev: _Events, rng, h: Holder, gates, doors, at: datetime, *, inbound: bool) -> None:
    gate = rng.choice(gates)
    reasons = {"qr": "expired", "card": "unknown_credential"}
    if rng.random() < DENY_SHARE:  # a refused first try (an expired screenshot, a card held badly)
        ev.add(
            gate,
            at - timedelta(seconds=rng.randint(8, 40)),
            direction=Direction.IN if inbound else Direction.OUT,
            method=h.method,
            result=AccessResult.DENY,
            reason=reasons[h.method],
            person_id=h.person_id if h.method == "card" else None,
            credential_id=h.credential_id,
        )
    ev.add(
        gate,
        at,
        direction=Direction.IN if inbound else Direction.OUT,
        method=h.method,
        person_id=h.person_id,
        credential_id=h.credential_id,
    )
    door = doors.get(h.building_id)
    if inbound and door is not None:
        ev.add(
            door,
            at + timedelta(seconds=rng.randint(60, 240)),
            direction=Direction.IN,
            method=h.method,
            person_id=h.person_id,
            credential_id=h.credential_id,
        )


def _resident_week(
    ev: _Events, rng, holders: list[Holder], gates, doors, days: list[date], absent: int | None
):
    for day in days:
        weekend = day.weekday() >= 5
        for h in holders:
            if h.person_id == absent and day >= days[-1] - timedelta(days=2):
                continue  # the elderly resident nobody has seen for three days
            if h.profile == "worker":
                if rng.random() > (0.45 if weekend else 0.9):
                    continue
                out = _at(day, 9.5 if weekend else 7.0, rng, 120)
                back = _at(day, 16.0 if weekend else 17.5, rng, 180)
            else:
                out = _at(day, 8.0, rng, 150)
                back = out + timedelta(minutes=rng.randint(50, 160))
            _passage(ev, rng, h, gates, doors, out, inbound=False)
            _passage(ev, rng, h, gates, doors, back, inbound=True)
            if h.profile != "worker" and rng.random() < 0.4:
                walk = _at(day, 15.0, rng, 120)
                _passage(ev, rng, h, gates, doors, walk, inbound=False)
                _passage(
                    ev, rng, h, gates, doors, walk + timedelta(minutes=rng.randint(30, 90)), inbound=True
                )


def _drivers(ev: _Events, rng, estate: Region, garage: AccessPoint | None, days: list[date]) -> None:
    from linli.people.models import Vehicle

    if garage is None:
        return
    owners = sorted(set(Vehicle.objects.filter(estate=estate).values_list("owner_id", flat=True)))
    for owner in rng.sample(owners, min(len(owners), MAX_DRIVERS)):
        for day in days:
            if day.weekday() >= 5 and rng.random() < 0.5:
                continue
            for hour, direction in ((7.5, Direction.OUT), (17.8, Direction.IN)):
                ev.add(garage, _at(day, hour, rng, 100), direction=direction, method="plate", person_id=owner)


def _visitors(ev: _Events, rng, estate: Region, holders: list[Holder], gates, doors, days, now) -> int:
    passes: list[tuple[VisitorPass, list]] = []
    for day in days:
        for _i in range(rng.randint(5, 9)):
            host = rng.choice(holders)
            roll = rng.random()
            kind = (
                VisitorKind.GUEST
                if roll < 0.6
                else VisitorKind.DELIVERY
                if roll < 0.85
                else VisitorKind.SERVICE
            )
            channel = {
                VisitorKind.GUEST: VisitorChannel.INVITE if rng.random() < 0.8 else VisitorChannel.WALK_IN,
                VisitorKind.DELIVERY: VisitorChannel.WALK_IN,
                VisitorKind.SERVICE: VisitorChannel.STAFF,
            }[kind]
            arrive = _at(day, 9.0, rng, 11 * 60)
            start = arrive - timedelta(minutes=rng.randint(10, 90))
            until = start + timedelta(hours=4 if kind == VisitorKind.GUEST else 2)
            shows = rng.random() < 0.85
            stay = rng.randint(5, 15) if kind == VisitorKind.DELIVERY else rng.randint(20, 150)
            vp = VisitorPass(
                estate=estate,
                kind=kind,
                channel=channel,
                host_person_id=host.person_id,
                host_room=host.room,
                visitor_name=rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
                purpose={"guest": "探亲访友", "delivery": "送快递", "service": "家电维修"}[kind],
                valid_from=start,
                valid_until=until,
                max_entries=1,
                entries_used=1 if shows and arrive <= now else 0,
                token=secrets.token_hex(16),
                link_hash=secrets.token_hex(32),
                path=host.room.path,
            )
            vp.status = (
                VisitorPassStatus.USED_UP
                if vp.entries_used >= vp.max_entries
                else VisitorPassStatus.EXPIRED
                if until <= now
                else VisitorPassStatus.ACTIVE
            )
            plan_ = []
            if shows:
                gate = rng.choice(gates)
                plan_.append((gate, arrive, Direction.IN))
                if kind != VisitorKind.DELIVERY and host.building_id in doors:
                    plan_.append(
                        (doors[host.building_id], arrive + timedelta(minutes=rng.randint(1, 4)), Direction.IN)
                    )
                plan_.append((rng.choice(gates), arrive + timedelta(minutes=stay), Direction.OUT))
            elif rng.random() < 0.5:  # came after the window closed
                plan_.append((rng.choice(gates), until + timedelta(minutes=rng.randint(5, 60)), "late"))
            passes.append((vp, plan_))
    VisitorPass.objects.bulk_create([vp for vp, _p in passes], batch_size=500)
    for vp, plan_ in passes:
        for point, at, direction in plan_:
            if direction == "late":
                ev.add(
                    point,
                    at,
                    direction=Direction.IN,
                    method="qr",
                    result=AccessResult.DENY,
                    reason="expired",
                    subject_kind=SubjectKind.VISITOR,
                    visitor_pass_id=vp.pk,
                )
            else:
                ev.add(
                    point,
                    at,
                    direction=direction,
                    method="qr",
                    subject_kind=SubjectKind.VISITOR,
                    visitor_pass_id=vp.pk,
                )
    return len(passes)


def _anomalies(
    estate: Region, rng, holders: list[Holder], points: dict[str, AccessPoint], now: datetime
) -> int:
    """Crafted events that the real rules turn into anomalies (they notify the estate's staff);
    returns the number of events written."""
    east, south = points["gate-east"], points["gate-south"]
    yesterday = timezone.localdate(now) - timedelta(days=1)
    ev = _Events(estate, now)
    cards = [h for h in holders if h.method == "card"]
    card_holders = [h for h in cards if h.profile == "worker"] or cards or holders
    shared = rng.choice(card_holders)
    at = _at(yesterday, 18.5, rng, 30)
    ev.add(
        east,
        at,
        direction=Direction.IN,
        method="card",
        person_id=shared.person_id,
        credential_id=shared.credential_id,
    )
    second = ev.add(
        south,
        at + timedelta(seconds=35),
        direction=Direction.IN,
        method="card",
        person_id=shared.person_id,
        credential_id=shared.credential_id,
    )
    door = next((p for p in points.values() if p.kind == AccessPointKind.UNIT_DOOR), None)
    tries = []
    if door is not None:
        start = _at(yesterday - timedelta(days=1), 22.0, rng, 60)
        for i in range(5):
            tries.append(
                ev.add(
                    door,
                    start + timedelta(seconds=40 * i),
                    direction=Direction.IN,
                    method="card",
                    result=AccessResult.DENY,
                    reason="unknown_credential",
                    subject_kind=SubjectKind.UNKNOWN,
                )
            )
    written = ev.save()
    for row in [second, tries[-1] if tries else None]:
        if row is not None:
            anomalies.check_event(AccessEvent.objects.select_related("access_point").get(pk=row.pk))
    anomalies.report_device_alarm(
        event=None, access_point=south, alarm="tailgating", occurred_at=_at(yesterday, 8.0, rng, 60)
    )
    return written


def seed(
    estate: Region, *, log: Callable[[str], None] = print, now: datetime | None = None
) -> dict[str, int]:
    """Seed the estate's demo entry and exit; returns counts of what was created (zeros on a re-run)."""
    started = time.monotonic()
    user = _property_admin(estate)
    if user is None:
        log(f"  {estate.name}: no property admin, no access demo")
        return {}
    now = now or timezone.now()
    actor = actor_for_user(user, via="demo")
    rng = random.Random(f"linli-demo-access/{estate.pk}")  # noqa: S311 - demo sample, not a secret
    counts = {"access_points": 0, "qr": 0, "cards": 0, "events": 0, "visitor_passes": 0}
    services.national_holidays_install(year=2026)
    with transaction.atomic():
        points, counts["access_points"] = _points(actor, estate, now)
        holders, counts["qr"], counts["cards"] = _credentials(actor, estate, rng, now)
        if holders and not AccessEvent.objects.filter(estate=estate).exists():
            from linli.people.models import Person

            today = timezone.localdate(now)
            days = [today - timedelta(days=d) for d in range(DAYS - 1, -1, -1)]
            gates = [points["gate-east"], points["gate-south"]]
            doors = {p.building_id: p for p in points.values() if p.kind == AccessPointKind.UNIT_DOOR}
            elderly = [h for h in holders if h.profile == "elderly_alone"]
            absent = elderly[0].person_id if elderly else None
            # The residents were registered before the simulated week (the rules look at that).
            Person.objects.filter(pk__in=[h.person_id for h in elderly]).update(
                created_at=now - timedelta(days=DAYS + 30)
            )
            ev = _Events(estate, now)
            _resident_week(ev, rng, holders, gates, doors, days, absent)
            _drivers(ev, rng, estate, points.get("garage"), days)
            counts["visitor_passes"] = _visitors(ev, rng, estate, holders, gates, doors, days, now)
            counts["events"] = ev.save() + _anomalies(estate, rng, holders, points, now)
    anomalies.not_seen_scan(now)
    log(
        f"  {estate.name}: {counts['access_points']} access points, {counts['qr']} QR and {counts['cards']} "
        f"card credentials, {counts['events']} access events, {counts['visitor_passes']} visitor passes "
        f"({time.monotonic() - started:.1f} s)"
    )
    return counts


# --- demo-devices.json --------------------------------------------------------------------------


def demo_devices_section() -> list[dict]:
    """Every active access point with a controller, as the demo's device simulator and a real gate
    integrator need it: where it is, what it accepts, the controller's key and secret, and how to ask
    for decisions (``access.gate.device_auth`` signing)."""
    from linli.access.gate import device_auth
    from linli.devices.models import DeviceStatus, estate_code_of

    decide = reverse("api-v1:access_device_decide")
    upload = reverse("api-v1:access_device_events")
    keys = reverse("api-v1:access_device_keys")
    auth = {
        "headers": [device_auth.HEADER_DEVICE, device_auth.HEADER_TIMESTAMP, device_auth.HEADER_SIGNATURE],
        "signature": (
            'lowercase hex HMAC-SHA256(device secret, f"{METHOD}\\n{path}\\n{unix seconds}\\n" + raw body)'
        ),
        "window_seconds": device_auth.WINDOW_SECONDS,
    }
    out = []
    qs = (
        AccessPoint.objects.filter(
            status=AccessPoint.Status.ACTIVE, device__isnull=False, device__status=DeviceStatus.ACTIVE
        )
        .select_related("estate", "building", "device")
        .order_by("estate__path", "path", "code")
    )
    for p in qs:
        out.append(
            {
                "code": p.code,
                "name": p.name,
                "kind": p.kind,
                "estate": p.estate.name,
                "estate_code": estate_code_of(p.estate),
                "building": p.building.name if p.building_id else "",
                "direction": p.direction,
                "allowed_methods": list(p.allowed_methods),
                "door_no": p.door_no,
                "offline_decisions": p.offline_decisions,
                "device_key": p.device.key,
                "device_secret": p.device.secret,
                "decision_endpoint": decide,
                "offline_events_endpoint": upload,
                "public_keys_endpoint": keys,
                "auth": auth,
            }
        )
    return out
