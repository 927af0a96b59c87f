"""Demo data for parking: the fee rule, garage barriers (when the access demo made none), permits for
residents' vehicles (billed to their rooms, most paid), and a week of plate events and parking
sessions: permit vehicles going out in the morning and back in the evening, temporary vehicles
charged by the rule (paid online or in cash at the booth; a few released unpaid or waived), residents
without permit, a blocked plate and a few unreadable plates.

Written in bulk and deterministic per estate (``random.Random`` seeded by the estate id). Re-running
it adds nothing once the estate has permits and plate events. Fees are computed by the same pure
function as the live services (``linli.parking.fees``), and each paid fee is a walk-in bill with its
payment and allocation, so billing's ledger and collection figures include parking income.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from linli.access.models import AccessPoint, AccessPointKind, Direction
from linli.billing.models import Bill, BillStatus, Channel, FeeKind, Payment, PaymentAllocation
from linli.billing.money import month_of
from linli.parking import fees, plates
from linli.parking.models import (
    BILLED_KINDS,
    BlockedPlate,
    Category,
    Decision,
    ParkingFeeRule,
    ParkingSession,
    Permit,
    PermitKind,
    PlateDirection,
    PlateEvent,
    Reason,
    SessionStatus,
)
from linli.parking.services import LONG_TERM_UNTIL, PERMIT_SOURCE, SESSION_SOURCE, fee_spec
from linli.places.models import ParkingSpace

PROVINCES = "晋晋晋晋京冀豫陕蒙鲁"
SERIAL = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DAYS = 7


def seed(estate, today: date | None = None) -> dict:
    """Parking demo data of ``estate`` (see the module docstring); returns what was created."""
    tz = timezone.get_default_timezone()
    now = timezone.now()
    today = today or timezone.localdate()
    rng = random.Random(estate.pk * 104729 + 5)  # noqa: S311 - deterministic demo data
    rule = _rule(estate)
    entry, exit_ = _barriers(estate)
    counts = {"permits": 0, "sessions": 0, "events": 0}
    with transaction.atomic():
        if not Permit.objects.filter(estate=estate).exists():
            counts.update(_permits(estate, rule, today, rng, now))
        if not PlateEvent.objects.filter(estate=estate).exists():
            counts.update(_week(estate, rule, entry, exit_, today, rng, now, tz))
    return counts


def _rule(estate) -> ParkingFeeRule:
    rule = ParkingFeeRule.objects.filter(estate=estate, active=True).first()
    if rule is None:
        rule = ParkingFeeRule.objects.create(
            estate=estate,
            name="临停收费标准",
            free_minutes=15,
            first_period_minutes=60,
            first_period_fen=500,
            next_period_minutes=60,
            next_period_fen=200,
            daily_cap_fen=3000,
            night_start=time(22, 0),
            night_end=time(7, 0),
            night_fen=300,
            visitor_free_minutes=120,
            monthly_permit_fen=30000,
            yearly_permit_fen=300000,
            active=True,
            activated_at=timezone.now(),
        )
    return rule


def _barriers(estate) -> tuple[AccessPoint, AccessPoint]:
    """The estate's garage barriers (entry, exit); made here only when the access demo made none."""
    points = list(
        AccessPoint.objects.filter(estate=estate, kind=AccessPointKind.GARAGE_BARRIER).order_by("pk")
    )
    entry = next((p for p in points if p.direction in (Direction.IN, Direction.BOTH)), None)
    exit_ = next((p for p in points if p.direction in (Direction.OUT, Direction.BOTH)), None)
    if entry is None:
        entry, _c = AccessPoint.objects.get_or_create(
            estate=estate,
            code="parking-in",
            defaults={
                "kind": AccessPointKind.GARAGE_BARRIER,
                "name": "地库入口道闸",
                "direction": Direction.IN,
                "allowed_methods": ["plate", "staff"],
            },
        )
    if exit_ is None:
        exit_, _c = AccessPoint.objects.get_or_create(
            estate=estate,
            code="parking-out",
            defaults={
                "kind": AccessPointKind.GARAGE_BARRIER,
                "name": "地库出口道闸",
                "direction": Direction.OUT,
                "allowed_methods": ["plate", "staff"],
            },
        )
    return entry, exit_


def _permits(estate, rule: ParkingFeeRule, today: date, rng: random.Random, now: datetime) -> dict:
    """Owned-space permits for owners of a space, rented spaces and floating monthly permits for
    others; this month's term billed to the rooms, ~85% paid."""
    from linli.billing.services.common import _latest_households
    from linli.people.models import Occupancy, Vehicle

    vehicles = list(Vehicle.objects.filter(estate=estate).order_by("pk"))
    rooms = dict(
        Occupancy.objects.filter(estate=estate, end_date__isnull=True)
        .order_by("person_id", "start_date", "pk")
        .values_list("person_id", "room_id")
    )
    owned = {}
    for space in ParkingSpace.objects.filter(
        estate=estate, kind=ParkingSpace.Kind.OWNED, room__isnull=False
    ).order_by("pk"):
        owned.setdefault(space.room_id, space)
    rented = list(ParkingSpace.objects.filter(estate=estate, kind=ParkingSpace.Kind.RENTED).order_by("pk"))
    start = today.replace(day=1)
    permits = []
    floating = 0
    for vehicle in vehicles:
        room_id = rooms.get(vehicle.owner_id)
        if room_id is None:
            continue
        roll = rng.random()
        if room_id in owned:
            permits.append(
                Permit(
                    estate=estate,
                    vehicle=vehicle,
                    kind=PermitKind.OWNED_SPACE,
                    space=owned.pop(room_id),
                    room_id=room_id,
                    valid_from=start - timedelta(days=rng.randint(30, 900)),
                    valid_until=LONG_TERM_UNTIL,
                )
            )
        elif rented and roll < 0.45:
            permits.append(
                Permit(
                    estate=estate,
                    vehicle=vehicle,
                    kind=PermitKind.RENTED_SPACE,
                    space=rented.pop(0),
                    room_id=room_id,
                    valid_from=start,
                    valid_until=plates.add_months(start, 1) - timedelta(days=1),
                    price_fen=rule.monthly_permit_fen,
                )
            )
        elif floating < 20 and roll < 0.7:
            floating += 1
            permits.append(
                Permit(
                    estate=estate,
                    vehicle=vehicle,
                    kind=PermitKind.MONTHLY,
                    room_id=room_id,
                    valid_from=start,
                    valid_until=plates.add_months(start, 1) - timedelta(days=1),
                    price_fen=rule.monthly_permit_fen,
                )
            )
    Permit.objects.bulk_create(permits, batch_size=1000)
    billed = [p for p in permits if p.kind in BILLED_KINDS and p.price_fen]
    households = _latest_households({p.room_id for p in billed})
    plate_of = {v.pk: v.plate for v in vehicles}
    bills = [
        Bill(
            estate=estate,
            room_id=p.room_id,
            household_id=households.get(p.room_id),
            kind=FeeKind.PARKING,
            title=f"{p.get_kind_display()}停车 {plates.mask_plate(plate_of[p.vehicle_id])} "
            f"{p.valid_from:%Y-%m-%d}～{p.valid_until:%Y-%m-%d}",
            period=month_of(p.valid_from),
            quantity=1,
            unit_price=Decimal(p.price_fen) / 100,
            amount_fen=p.price_fen,
            due_date=p.valid_from + timedelta(days=15),
            source_type=PERMIT_SOURCE,
            source_id=f"{p.pk}:{p.valid_from:%Y%m%d}",
        )
        for p in billed
    ]
    Bill.objects.bulk_create(bills, batch_size=1000)
    paid = [b for b in bills if rng.random() < 0.85]
    payments = _pay(estate, paid, rng, now, prefix="PM", room=True)
    return {"permits": len(permits), "permit_bills": len(bills), "permit_payments": payments}


def _pay(
    estate, bills: list[Bill], rng: random.Random, now: datetime, *, prefix: str, room: bool, at=None
) -> int:
    """One paid payment per bill (online or at the counter), the ledger rows consistent."""
    seq = Payment.objects.filter(estate=estate).count()
    payments = []
    for i, bill in enumerate(bills):
        paid_at = (
            at[i] if at is not None else now - timedelta(days=rng.randint(0, 10), minutes=rng.randint(0, 600))
        )
        online = rng.random() < 0.65
        seq += 1
        payments.append(
            Payment(
                estate=estate,
                room_id=bill.room_id if room else None,
                amount_fen=bill.amount_fen,
                channel=Channel.ONLINE
                if online
                else rng.choice([Channel.CASH, Channel.CASH, Channel.TRANSFER]),
                provider="simulated" if online else "",
                out_trade_no=f"{prefix}DEMO{estate.pk:04d}{seq:07d}",
                provider_trade_no=f"SIM{prefix}{estate.pk:04d}{seq:07d}" if online else "",
                status=Payment.Status.PAID,
                paid_at=paid_at,
                receipt_no=f"SJ{timezone.localtime(paid_at):%Y%m%d}{prefix}{estate.pk:03d}{seq:06d}",
            )
        )
    Payment.objects.bulk_create(payments, batch_size=1000)
    PaymentAllocation.objects.bulk_create(
        [
            PaymentAllocation(payment=p, bill=b, amount_fen=b.amount_fen)
            for p, b in zip(payments, bills, strict=True)
        ],
        batch_size=2000,
    )
    for bill in bills:
        bill.paid_fen, bill.status = bill.amount_fen, BillStatus.PAID
    Bill.objects.bulk_update(bills, ["paid_fen", "status"], batch_size=1000)
    for bill, payment in zip(bills, payments, strict=True):
        bill._payment = payment
    return len(payments)


def _plate(rng: random.Random, taken: set[str]) -> str:
    while True:
        raw = rng.choice(PROVINCES) + rng.choice("ABCDEFGH") + "".join(rng.choice(SERIAL) for _i in range(5))
        plate = plates.valid_plate(raw)
        if plate and plate not in taken:
            taken.add(plate)
            return plate


def _local(day: date, minutes: int, tz) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minutes)


class _Events:
    """Plate events under construction (bulk-created at the end with their sessions)."""

    def __init__(self, estate, entry, exit_):
        self.estate, self.entry, self.exit = estate, entry, exit_
        self.rows: list[tuple[PlateEvent, ParkingSession | None]] = []
        self.seq = 0

    def add(
        self, plate: str, at: datetime, direction: str, category: str, *, session=None, **kw
    ) -> PlateEvent:
        self.seq += 1
        point = self.entry if direction == PlateDirection.IN else self.exit
        ev = PlateEvent(
            estate=self.estate,
            access_point=point,
            device_id=point.device_id,
            plate=plate,
            plate_valid=kw.pop("plate_valid", True),
            plate_color="green" if len(plate) == 8 else "blue",
            direction=direction,
            occurred_at=at,
            received_at=at + timedelta(seconds=1),
            confidence=kw.pop("confidence", 96),
            source_event_id=f"demo-{self.estate.pk}-{self.seq}",
            picture_refs=["detectionPicture.jpg", "licensePlatePicture.jpg"],
            category=category,
            decision=kw.pop("decision", Decision.ALLOW),
            reason=kw.pop("reason", Reason.OK),
            **kw,
        )
        self.rows.append((ev, session))
        return ev


def _week(estate, rule, entry, exit_, today: date, rng: random.Random, now: datetime, tz) -> dict:
    from linli.people.models import Vehicle

    events = _Events(estate, entry, exit_)
    sessions: list[ParkingSession] = []
    taken = set(Vehicle.objects.filter(estate=estate).values_list("plate", flat=True))
    days = [today - timedelta(days=d) for d in range(DAYS - 1, -1, -1)]
    # Permit vehicles: out in the morning, back in the evening.
    permits = list(
        Permit.objects.filter(estate=estate, status="active", valid_from__lte=today, valid_until__gte=today)
        .select_related("vehicle")
        .order_by("pk")
    )
    commuters = [p for p in permits if p.space_id is None] + rng.sample(
        [p for p in permits if p.space_id], min(30, len([p for p in permits if p.space_id]))
    )
    for permit in commuters:
        for day in days:
            if rng.random() < 0.15:
                continue
            out_at = _local(day, rng.randint(7 * 60, 9 * 60 + 30), tz)
            in_at = _local(day, rng.randint(17 * 60, 20 * 60 + 30), tz)
            for at, direction in ((out_at, PlateDirection.OUT), (in_at, PlateDirection.IN)):
                if at < now:
                    events.add(
                        permit.vehicle.plate,
                        at,
                        direction,
                        Category.PERMIT,
                        vehicle=permit.vehicle,
                        permit=permit,
                    )
    # Residents without a permit park now and then, like temporary vehicles.
    with_permit = {p.vehicle_id for p in permits}
    residents = [v for v in Vehicle.objects.filter(estate=estate).order_by("pk") if v.pk not in with_permit][
        :40
    ]
    temporary_spaces = ParkingSpace.objects.filter(estate=estate, kind=ParkingSpace.Kind.TEMPORARY).count()
    open_left = max(min(4, temporary_spaces // 4), 0)
    spec = fee_spec(rule)
    waiting = None
    for day in days:
        arrivals = [(Category.TEMPORARY, None) for _i in range(rng.randint(20, 32))]
        arrivals += [(Category.RESIDENT, v) for v in rng.sample(residents, min(3, len(residents)))]
        for category, vehicle in arrivals:
            plate = vehicle.plate if vehicle else _plate(rng, taken)
            entered = _local(day, rng.randint(7 * 60, 21 * 60 + 30), tz)
            if entered >= now:
                continue
            roll = rng.random()
            stay = timedelta(
                minutes=rng.randint(3, 14)
                if roll < 0.3
                else rng.randint(30, 240)
                if roll < 0.8
                else rng.randint(240, 720)
                if roll < 0.95
                else rng.randint(720, 1800)
            )
            exited = entered + stay
            if exited >= now and (open_left <= 0 or vehicle is not None):
                continue
            session = ParkingSession(
                estate=estate,
                plate=plate,
                category=category,
                vehicle=vehicle,
                entered_at=entered,
                entry_point=entry,
            )
            events.add(plate, entered, PlateDirection.IN, category, session=session, vehicle=vehicle)
            if exited >= now:  # still inside
                open_left -= 1
                sessions.append(session)
                continue
            session.exited_at, session.exit_point, session.rule = exited, exit_, rule
            session.fee_fen = fees.compute(spec, entered, exited, tz).total_fen
            outcome = rng.random()
            if session.fee_fen == 0:
                session.status = SessionStatus.FREE
            elif outcome < 0.04:
                session.status = SessionStatus.UNPAID
                session.released_at, session.release_reason = (
                    exited + timedelta(minutes=3),
                    "车主称手机无电，登记后放行",
                )
            elif outcome < 0.06:
                session.status = SessionStatus.WAIVED
                session.waived_at, session.waive_reason = exited + timedelta(hours=2), "道闸故障误计时"
            else:
                session.status, session.paid_at = SessionStatus.PAID, exited
            refused = session.status == SessionStatus.UNPAID
            last_exit = events.add(
                plate,
                exited,
                PlateDirection.OUT,
                category,
                session=session,
                vehicle=vehicle,
                decision=Decision.DENY if refused else Decision.ALLOW,
                reason=Reason.UNPAID if refused else Reason.OK,
                released_at=session.released_at,
                release_reason=session.release_reason,
            )
            sessions.append(session)
            if session.status == SessionStatus.PAID and now - exited < timedelta(hours=2):
                waiting = (session, last_exit)
    if waiting is not None:
        # The latest paying vehicle is still at the exit barrier: its fee is due at the booth.
        session, exit_event = waiting
        session.status, session.paid_at = SessionStatus.UNPAID, None
        exit_event.decision, exit_event.reason = Decision.DENY, Reason.UNPAID
    # One blocked plate refused twice, and a few plates nobody could read.
    blocked = _plate(rng, taken)
    BlockedPlate.objects.get_or_create(
        estate=estate, plate=blocked, active=True, defaults={"reason": "多次逃缴停车费，经业委会同意禁止入场"}
    )
    for day in days[-3::2]:
        at = _local(day, rng.randint(10 * 60, 16 * 60), tz)
        if at < now:
            events.add(
                blocked,
                at,
                PlateDirection.IN,
                Category.BLOCKED,
                decision=Decision.DENY,
                reason=Reason.BLOCKED,
            )
    for day in days[::3]:
        at = _local(day, rng.randint(8 * 60, 20 * 60), tz)
        if at < now:
            events.add(
                "晋A8",
                at,
                PlateDirection.IN,
                Category.UNKNOWN,
                plate_valid=False,
                confidence=35,
                decision=Decision.DENY,
                reason=Reason.INVALID_PLATE,
            )
    ParkingSession.objects.bulk_create(sessions, batch_size=1000)
    paid = [s for s in sessions if s.status == SessionStatus.PAID]
    bills = [
        Bill(
            estate=estate,
            room=None,
            kind=FeeKind.PARKING,
            title=f"临时停车费 {plates.mask_plate(s.plate)}",
            period=month_of(timezone.localtime(s.paid_at, tz).date()),
            quantity=1,
            unit_price=Decimal(s.fee_fen) / 100,
            amount_fen=s.fee_fen,
            due_date=timezone.localtime(s.paid_at, tz).date(),
            source_type=SESSION_SOURCE,
            source_id=str(s.pk),
        )
        for s in paid
    ]
    Bill.objects.bulk_create(bills, batch_size=1000)
    payments = _pay(estate, bills, rng, now, prefix="PK", room=False, at=[s.paid_at for s in paid])
    for session, bill in zip(paid, bills, strict=True):
        session.bill, session.payment = bill, bill._payment
    ParkingSession.objects.bulk_update(paid, ["bill", "payment"], batch_size=1000)
    rows = []
    for ev, session in events.rows:
        ev.session = session
        rows.append(ev)
    PlateEvent.objects.bulk_create(rows, batch_size=2000)
    return {
        "sessions": len(sessions),
        "events": len(rows),
        "session_bills": len(bills),
        "session_payments": payments,
    }
