"""Constants and helpers shared by the parking services."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import ValidationFailed
from linli.parking import fees, plates
from linli.parking.models import (
    Category,
    ParkingFeeRule,
    ParkingSession,
)

SESSION_SOURCE = "parking.session"
PERMIT_SOURCE = "parking.permit"
REREAD_MINUTES = 10  # a second entry read of a plate within this time is the same passage
EXIT_REREAD_MINUTES = 30  # an exit read this long after a settled exit still opens the barrier
BLOCKED_NOTIFY_MINUTES = 5  # one notice per blocked plate and estate in this time
MAX_TERM_MONTHS = 24
LONG_TERM_UNTIL = date(2099, 12, 31)  # an owned space has no end
FEE_LIMIT_FEN = 10_000_000  # 10 万元: anything above is a typo
MINUTES_LIMIT = 7 * 24 * 60
BATCH = 2000


# --- helpers -----------------------------------------------------------------------------------


def _int(value, *, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(fields={field: [_("须为 %(a)d 到 %(b)d 之间的整数") % {"a": low, "b": high}]})
    return value


def _plate(value: str, *, field: str = "plate") -> str:
    plate = plates.valid_plate(value or "")
    if plate is None:
        raise ValidationFailed(fields={field: [_("车牌号格式无效，如 晋A12345 或新能源 晋AD12345")]})
    return plate


def _local_tz():
    return timezone.get_default_timezone()


def active_rule(estate_id: int) -> ParkingFeeRule | None:
    return ParkingFeeRule.objects.filter(estate_id=estate_id, active=True).first()


def fee_spec(rule: ParkingFeeRule, *, visitor: bool = False) -> fees.FeeSpec:
    """The pure fee parameters of a rule; a visitor with a valid pass gets the longer free time."""
    free = max(rule.free_minutes, rule.visitor_free_minutes) if visitor else rule.free_minutes
    return fees.FeeSpec(
        free_minutes=free,
        first_minutes=rule.first_period_minutes,
        first_fen=rule.first_period_fen,
        next_minutes=rule.next_period_minutes,
        next_fen=rule.next_period_fen,
        daily_cap_fen=rule.daily_cap_fen,
        night_start=rule.night_start,
        night_end=rule.night_end,
        night_fen=rule.night_fen if rule.night_start else 0,
    )


def session_fee(session: ParkingSession, rule: ParkingFeeRule | None, exited_at: datetime) -> int:
    if rule is None:
        return 0
    spec = fee_spec(rule, visitor=session.category == Category.VISITOR)
    return fees.compute(spec, session.entered_at, max(exited_at, session.entered_at), _local_tz()).total_fen


def _open_barrier(access_point, *, reason: str) -> None:
    """Queue a remote open of the barrier's device (delivered and acknowledged by its adapter)."""
    if access_point is None or access_point.device_id is None:
        return
    from linli.devices.models import CommandKind, DeviceCommand

    DeviceCommand.objects.create(
        device_id=access_point.device_id,
        kind=CommandKind.OPEN_DOOR,
        ref=f"barrier:{access_point.pk}",
        payload={"door_no": access_point.door_no, "reason": reason},
        created_at=timezone.now(),
    )
