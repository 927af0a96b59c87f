"""The booth: settle a session (counter or online, through billing), waive it, release a barrier by
hand; and billing's callback when a session's bill changes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing import services as billing
from linli.billing.models import Bill, BillStatus, Channel, Payment
from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.parking import plates
from linli.parking.models import (
    SESSION_CATEGORIES,
    Category,
    Decision,
    ParkingSession,
    PlateDirection,
    PlateEvent,
    Reason,
    SessionStatus,
)
from linli.parking.services.common import (
    SESSION_SOURCE,
    _open_barrier,
)
from linli.parking.services.gate import _close
from linli.places.selectors import require_estate


def _lock_session(actor: Actor, session: ParkingSession) -> ParkingSession:
    session = (
        ParkingSession.objects.select_for_update(of=("self",))
        .select_related("estate", "vehicle")
        .get(pk=session.pk)
    )
    require_estate(actor=actor, estate=session.estate)
    return session


def _close_at_booth(session: ParkingSession) -> None:
    """A vehicle still inside settles at the booth: the stay ends now (pay-then-leave)."""
    if session.status == SessionStatus.OPEN:
        _close(session, exited_at=timezone.now(), exit_point=None)


def _session_bill(actor: Actor, session: ParkingSession) -> Bill:
    return billing.charge_create_walk_in(
        actor=actor,
        estate=session.estate,
        amount_fen=session.fee_fen,
        title=_("临时停车费 %(plate)s") % {"plate": plates.mask_plate(session.plate)},
        source_type=SESSION_SOURCE,
        source_id=str(session.pk),
    )


@transaction.atomic
def session_settle(*, actor: Actor, session: ParkingSession, channel: str, note: str = "") -> ParkingSession:
    """Collect a session's fee at the booth in cash or by transfer (a walk-in charge in billing with
    its receipt). A vehicle still inside is charged up to now. Paying opens the exit barrier where the
    vehicle waits (``on_session_bills``)."""
    actor.require(Perm.PARKING_COLLECT, write=True)
    session = _lock_session(actor, session)
    if channel not in (Channel.CASH, Channel.TRANSFER):
        raise ValidationFailed(fields={"channel": [_("只能是 cash 或 transfer")]})
    if session.status in (SessionStatus.PAID, SessionStatus.WAIVED, SessionStatus.FREE):
        raise Conflict(_("该停车记录无需缴费"))
    _close_at_booth(session)
    if session.status == SessionStatus.FREE:  # still within the free minutes
        audit.record(
            Action.UPDATE, actor=actor, obj=session, detail={"settled": session.status, "fee_fen": 0}
        )
        return session
    bill = _session_bill(actor, session)
    billing.charge_pay_counter(actor=actor, bill=bill, channel=channel, note=note)
    session.refresh_from_db()
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=session,
        subject_person_id=session.vehicle.owner_id if session.vehicle_id else None,
        detail={"settled": session.status, "fee_fen": session.fee_fen, "channel": channel},
    )
    return session


@transaction.atomic
def session_pay_online(*, actor: Actor, session: ParkingSession):
    """An online payment order for a session's fee (the driver scans the provider's code at the booth
    or the exit). The provider's notification settles the session and opens the barrier.
    Returns (session, payment, order)."""
    actor.require(Perm.PARKING_COLLECT, write=True)
    session = _lock_session(actor, session)
    _close_at_booth(session)
    if session.status != SessionStatus.UNPAID:
        raise Conflict(_("该停车记录无需缴费"))
    bill = _session_bill(actor, session)
    payment, order = billing.charge_pay_online(actor=actor, bill=bill)
    ParkingSession.objects.filter(pk=session.pk).update(bill=bill, updated_at=timezone.now())
    session.bill = bill
    audit.record(Action.UPDATE, actor=actor, obj=session, detail={"online_order": payment.out_trade_no})
    return session, payment, order


@transaction.atomic
def session_waive(*, actor: Actor, session: ParkingSession, reason: str) -> ParkingSession:
    """A manager waives an unpaid fee (a dispute, an emergency vehicle, a camera error)."""
    actor.require(Perm.PARKING_MANAGE, write=True)
    session = _lock_session(actor, session)
    reason = clean_text(reason, field="reason", max_length=200, required=True)
    if session.status != SessionStatus.UNPAID:
        raise Conflict(_("只能免收待缴费的停车记录"))
    if session.bill_id and Bill.objects.filter(pk=session.bill_id, paid_fen__gt=0).exists():
        raise Conflict(_("该停车费已有缴款，请在收费管理中处理"))
    session.status = SessionStatus.WAIVED
    session.waived_at, session.waived_by, session.waive_reason = timezone.now(), actor.user, reason
    session.save(update_fields=["status", "waived_at", "waived_by", "waive_reason", "updated_at"])
    audit.record(
        Action.UPDATE, actor=actor, obj=session, reason=reason, detail={"waived_fen": session.fee_fen}
    )
    return session


def _waiting_exit(session: ParkingSession):
    """The exit point where the vehicle was refused for the unpaid fee, if it is still waiting there."""
    last = (
        PlateEvent.objects.filter(session=session, direction=PlateDirection.OUT)
        .select_related("access_point")
        .order_by("-occurred_at", "-pk")
        .first()
    )
    if last is not None and last.reason == Reason.UNPAID and last.released_at is None:
        return last.access_point
    return None


def on_session_bills(bills: list[Bill]) -> None:
    """A session's bill changed (``billing.events.BillLedgerChanged``). Paid → the session is
    paid and the barrier where the vehicle waits opens; waived in billing → waived. A refund approved
    later stays in billing's ledger: the vehicle has left and the session stays settled."""
    for bill in bills:
        try:
            pk = int(bill.source_id)
        except ValueError:
            continue
        session = ParkingSession.objects.select_for_update().filter(pk=pk).first()
        if session is None:
            continue
        if bill.status == BillStatus.PAID and session.status != SessionStatus.PAID:
            payment = (
                Payment.objects.filter(
                    allocations__bill=bill, status=Payment.Status.PAID, allocations__amount_fen__gt=0
                )
                .order_by("-paid_at", "-pk")
                .first()
            )
            session.status, session.paid_at = SessionStatus.PAID, timezone.now()
            session.bill, session.payment = bill, payment
            session.save(update_fields=["status", "paid_at", "bill", "payment", "updated_at"])
            audit.record(
                Action.UPDATE,
                actor_label="billing",
                obj=session,
                detail={"paid": bill.paid_fen, "payment": payment.pk if payment else None},
            )
            _open_barrier(_waiting_exit(session), reason="paid")
        elif bill.status == BillStatus.WAIVED and session.status == SessionStatus.UNPAID:
            session.status, session.waived_at = SessionStatus.WAIVED, timezone.now()
            session.waive_reason = _("收费管理中减免")
            session.bill = bill
            session.save(update_fields=["status", "waived_at", "waive_reason", "bill", "updated_at"])
            audit.record(
                Action.UPDATE, actor_label="billing", obj=session, detail={"waived_in_billing": bill.pk}
            )


@transaction.atomic
def barrier_release(
    *, actor: Actor, access_point, reason: str, event: PlateEvent | None = None
) -> PlateEvent | None:
    """A guard opens a barrier by hand, with a reason (audited). With the refused ``event`` of that
    barrier: an entry opens a parking session for the plate (when it is valid), an exit lets a
    vehicle with an unpaid fee leave (the fee stays owed: ``released_*`` on the session)."""
    require_estate(actor=actor, estate=access_point.estate, perm=Perm.PARKING_COLLECT, write=True)
    reason = clean_text(reason, field="reason", max_length=200, required=True)
    session = None
    if event is not None:
        event = PlateEvent.objects.select_for_update().get(pk=event.pk)
        if event.access_point_id != access_point.pk:
            raise ValidationFailed(fields={"event_id": [_("该记录不属于此出入口")]})
        if event.decision != Decision.DENY:
            raise Conflict(_("该车辆已放行"))
        if event.released_at is not None:
            raise Conflict(_("该记录已人工放行"))
        now = timezone.now()
        event.released_at, event.released_by, event.release_reason = now, actor.user, reason
        session = event.session
        if event.direction == PlateDirection.IN and event.plate_valid and event.category != Category.PERMIT:
            session = ParkingSession.objects.filter(
                estate_id=event.estate_id, plate=event.plate, status=SessionStatus.OPEN
            ).first() or ParkingSession.objects.create(
                estate_id=event.estate_id,
                plate=event.plate,
                category=event.category if event.category in SESSION_CATEGORIES else Category.TEMPORARY,
                vehicle_id=event.vehicle_id,
                visitor_pass_id=event.visitor_pass_id,
                entered_at=event.occurred_at,
                entry_point=access_point,
            )
            event.session = session
        elif session is not None and session.status == SessionStatus.UNPAID and session.released_at is None:
            session.released_at, session.released_by, session.release_reason = now, actor.user, reason
            session.save(update_fields=["released_at", "released_by", "release_reason", "updated_at"])
        event.save(update_fields=["released_at", "released_by", "release_reason", "session"])
    _open_barrier(access_point, reason="manual")
    audit.record(
        Action.UPDATE,
        actor=actor,
        object_type="access.accesspoint",
        object_id=access_point.pk,
        estate_id=access_point.estate_id,
        reason=reason,
        subject_person_id=event.vehicle.owner_id if event is not None and event.vehicle_id else None,
        detail={
            "manual_release": True,
            "event": event.pk if event is not None else None,
            "session": session.pk if session is not None else None,
        },
    )
    return event
