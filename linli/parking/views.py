"""Console pages of parking: the overview (occupancy, open and unpaid sessions, today's entries and
exits), permits, the fee rule, the block list, the booth (settle, manual release), plate events and
sessions. Pages call the same selectors and services as the API; lists of plate events and sessions
audit the rows of residents' vehicles they show."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from linli.billing.models import Channel
from linli.core.errors import DomainError, ValidationFailed
from linli.core.listing import list_page, page_of, querystring
from linli.core.pii import mask_name
from linli.core.views import error_text, positive_int, staff_page
from linli.notices.views import parse_local_datetime
from linli.orgs.roles import Perm
from linli.parking import plates, selectors, services
from linli.parking.models import (
    Category,
    Decision,
    PermitKind,
    PermitStatus,
    PlateDirection,
    SessionStatus,
)
from linli.parking.schemas import ParkingSessionFilters, PermitFilters, PlateEventFilters
from linli.places.selectors import estate_choice

PAGE_SIZE = 20


def _estate(request, actor):
    """The estates the actor may see and the chosen one (``?estate=``, default the first)."""
    chosen = positive_int(request.GET.get("estate") or request.POST.get("estate"))
    return estate_choice(actor=actor, pk=chosen, perm=Perm.PARKING_VIEW)


def _back(request, name: str, estate=None, **params):
    url = reverse(name)
    query = {k: v for k, v in params.items() if v}
    if estate is not None:
        query = {"estate": estate.pk, **query}
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return redirect(url)


def _fen(text: str | None) -> int | None:
    """A form amount in 元 → fen (None when empty); a malformed amount is -1 (the service refuses it)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return -1
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        return -1
    return int(value * 100)


def _int(text: str | None, default: int) -> int:
    try:
        return int((text or "").strip() or default)
    except ValueError:
        return -1


def _run(request, action, success: str) -> bool:
    """Run a service call; a domain error becomes an error message (the page is shown again)."""
    try:
        action()
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return False
    messages.success(request, success)
    return True


# --- overview ----------------------------------------------------------------------------------


@staff_page
def home(request, actor):
    estates, estate = _estate(request, actor)
    context = {"estates": estates, "estate": estate}
    if estate is not None:
        open_sessions = list(selectors.session_list(actor=actor, estate_id=estate.pk, status="open")[:20])
        unpaid = list(selectors.session_list(actor=actor, estate_id=estate.pk, status="unpaid")[:20])
        selectors.audit_passage_read(actor=actor, rows=open_sessions + unpaid, kind="parkingsession")
        context.update(
            occupancy=selectors.occupancy(actor=actor, estate_id=estate.pk),
            today=selectors.today_stats(actor=actor, estate_id=estate.pk),
            rule=selectors.fee_rule_active(actor=actor, estate_id=estate.pk),
            open_sessions=open_sessions,
            unpaid=unpaid,
            can_collect=actor.has(Perm.PARKING_COLLECT),
        )
    return render(request, "parking/home.html", context)


# --- permits -----------------------------------------------------------------------------------


@staff_page
def permits(request, actor):
    estates, estate = _estate(request, actor)
    if request.method == "POST":
        actor.require(Perm.PARKING_MANAGE)
        p = request.POST
        action = p.get("action", "")
        if action == "create" and estate is not None:
            _run(request, lambda: _permit_create(actor, estate, p), _("停车许可已办理，费用已出账"))
        elif action in ("renew", "cancel"):
            permit = selectors.permit_get(actor=actor, pk=positive_int(p.get("permit")) or 0)
            months, reason = _int(p.get("months"), 1), p.get("reason", "")[:300]
            if action == "renew":
                _run(
                    request,
                    lambda: services.permit_renew(actor=actor, permit=permit, months=months),
                    _("已续期，新一期费用已出账"),
                )
            else:
                _run(
                    request,
                    lambda: services.permit_cancel(actor=actor, permit=permit, reason=reason),
                    _("停车许可已注销"),
                )
        return _back(request, "parking:permits", estate)
    chosen = estate.pk if estate else -1  # the estate picker, not the API's optional filter
    listing = list_page(
        request,
        lambda f: selectors.permit_list(actor=actor, **f.selector_args(exclude={"estate"}), estate_id=chosen),
        PermitFilters,
        page_size=PAGE_SIZE,
    )
    page = listing.page
    for permit in page.object_list:
        permit.owner_masked = mask_name(permit.vehicle.owner.name)
    return render(
        request,
        "parking/permits.html",
        {
            "estates": estates,
            "estate": estate,
            "page": page,
            "query": listing.query,
            "status": listing.filters.status,
            "plate": listing.filters.plate or "",
            "statuses": PermitStatus.choices,
            "kinds": PermitKind.choices,
            "can_manage": actor.has(Perm.PARKING_MANAGE),
        },
    )


def _permit_create(actor, estate, p):
    from linli.people.models import Vehicle
    from linli.places.models import ParkingSpace

    plate = plates.valid_plate(p.get("plate", ""))
    vehicle = Vehicle.objects.filter(estate=estate, plate=plate).first() if plate else None
    if vehicle is None:
        raise ValidationFailed(fields={"plate": [_("本小区没有登记此车牌的住户车辆")]})
    vehicle = selectors.vehicle_get(actor=actor, pk=vehicle.pk)
    space = None
    code = (p.get("space") or "").strip()[:32]
    if code:
        found = ParkingSpace.objects.filter(estate=estate, code=code).first()
        if found is None:
            raise ValidationFailed(fields={"space": [_("车位编号不存在")]})
        space = selectors.space_get(actor=actor, pk=found.pk)
    try:
        valid_from = date.fromisoformat((p.get("valid_from") or "").strip())
    except ValueError as exc:
        raise ValidationFailed(fields={"valid_from": [_("请填写日期")]}) from exc
    return services.permit_create(
        actor=actor,
        vehicle=vehicle,
        kind=p.get("kind", ""),
        valid_from=valid_from,
        months=_int(p.get("months"), 1),
        space=space,
        price_fen=_fen(p.get("price")),
    )


# --- fee rule ----------------------------------------------------------------------------------


@staff_page
def fee_rule(request, actor):
    estates, estate = _estate(request, actor)
    if request.method == "POST" and estate is not None:
        p = request.POST
        if p.get("action") == "activate":
            rule = selectors.fee_rule_get(actor=actor, pk=positive_int(p.get("rule")) or 0)
            _run(request, lambda: services.fee_rule_activate(actor=actor, rule=rule), _("收费标准已启用"))
        else:
            _run(request, lambda: _rule_create(actor, estate, p), _("新的收费标准已生效"))
        return _back(request, "parking:fee_rule", estate)
    rules = list(selectors.fee_rule_list(actor=actor, estate_id=estate.pk)[:20]) if estate else []
    return render(
        request,
        "parking/fee_rule.html",
        {
            "estates": estates,
            "estate": estate,
            "rules": rules,
            "active": next((r for r in rules if r.active), None),
            "can_manage": actor.has(Perm.PARKING_MANAGE),
        },
    )


def _time(text: str | None):
    from datetime import time

    text = (text or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(fields={"night_start": [_("时间格式为 22:00")]}) from exc


def _rule_create(actor, estate, p):
    def fen(name: str, default: int) -> int:
        value = _fen(p.get(name))
        return default if value is None else value

    return services.fee_rule_create(
        actor=actor,
        estate=estate,
        name=p.get("name", "")[:200],
        free_minutes=_int(p.get("free_minutes"), 15),
        first_period_minutes=_int(p.get("first_period_minutes"), 60),
        first_period_fen=fen("first_period", 500),
        next_period_minutes=_int(p.get("next_period_minutes"), 60),
        next_period_fen=fen("next_period", 200),
        daily_cap_fen=fen("daily_cap", 3000),
        night_start=_time(p.get("night_start")),
        night_end=_time(p.get("night_end")),
        night_fen=fen("night", 0),
        visitor_free_minutes=_int(p.get("visitor_free_minutes"), 120),
        monthly_permit_fen=fen("monthly_permit", 30000),
        yearly_permit_fen=fen("yearly_permit", 300000),
    )


# --- block list --------------------------------------------------------------------------------


@staff_page
def blocked(request, actor):
    estates, estate = _estate(request, actor)
    if request.method == "POST" and estate is not None:
        p = request.POST
        if p.get("action") == "lift":
            row = selectors.blocked_get(actor=actor, pk=positive_int(p.get("blocked")) or 0)
            _run(request, lambda: services.blocked_plate_lift(actor=actor, blocked=row), _("已解除禁入"))
        else:
            _run(
                request,
                lambda: services.blocked_plate_add(
                    actor=actor,
                    estate=estate,
                    plate=p.get("plate", "")[:20],
                    reason=p.get("reason", "")[:300],
                    until=parse_local_datetime(p.get("until")),
                ),
                _("已加入禁入名单"),
            )
        return _back(request, "parking:blocked", estate)
    qs = selectors.blocked_list(actor=actor, estate_id=estate.pk if estate else -1)
    return render(
        request,
        "parking/blocked.html",
        {
            "estates": estates,
            "estate": estate,
            "page": page_of(request, qs, page_size=PAGE_SIZE),
            "query": querystring(request.GET),
            "can_manage": actor.has(Perm.PARKING_MANAGE),
        },
    )


# --- the booth ---------------------------------------------------------------------------------


@staff_page
def booth(request, actor):
    """The guard's booth: the barriers of the estate, the latest reads of the chosen one (refused
    reads can be released with a reason), fees owed to collect, and a plate search."""
    estates, estate = _estate(request, actor)
    points = selectors.barrier_points(actor=actor, estate_id=estate.pk) if estate else []
    point_id = positive_int(request.GET.get("point") or request.POST.get("point"))
    point = next((pt for pt in points if pt.pk == point_id), points[0] if points else None)
    if request.method == "POST":
        actor.require(Perm.PARKING_COLLECT)
        p = request.POST
        action = p.get("action", "")
        if action == "settle":
            session = selectors.session_for_write(actor=actor, pk=positive_int(p.get("session")) or 0)
            _run(
                request,
                lambda: services.session_settle(
                    actor=actor, session=session, channel=p.get("channel", ""), note=p.get("note", "")[:300]
                ),
                _("已收费，道闸将自动抬起"),
            )
        elif action == "release" and point is not None:
            event_id = positive_int(p.get("event"))
            event = selectors.event_for_release(actor=actor, pk=event_id) if event_id else None
            _run(
                request,
                lambda: services.barrier_release(
                    actor=actor, access_point=point, reason=p.get("reason", "")[:300], event=event
                ),
                _("已人工抬杆放行"),
            )
        return _back(request, "parking:booth", estate, point=point.pk if point else None)
    plate = (request.GET.get("plate") or "").replace("\x00", "").strip()[:16] or None
    context = {
        "estates": estates,
        "estate": estate,
        "points": points,
        "point": point,
        "plate": plate or "",
        "channels": [(Channel.CASH, Channel.CASH.label), (Channel.TRANSFER, Channel.TRANSFER.label)],
        "can_collect": actor.has(Perm.PARKING_COLLECT),
        "events": [],
        "owed": [],
    }
    if estate is not None:
        events = []
        if point is not None:
            events = list(selectors.event_list(actor=actor, access_point_id=point.pk, plate=plate)[:15])
        wanted = [SessionStatus.UNPAID, SessionStatus.OPEN] if plate else [SessionStatus.UNPAID]
        owed = selectors.session_list(actor=actor, estate_id=estate.pk, plate=plate).filter(status__in=wanted)
        owed = list(owed[:20])
        selectors.audit_passage_read(actor=actor, rows=events, kind="plateevent")
        selectors.audit_passage_read(actor=actor, rows=owed, kind="parkingsession")
        context.update(events=events, owed=owed)
    return render(request, "parking/booth.html", context)


# --- plate events and sessions -----------------------------------------------------------------


@staff_page
def events(request, actor):
    estates, estate = _estate(request, actor)
    chosen = estate.pk if estate else -1
    listing = list_page(
        request,
        lambda f: selectors.event_list(
            actor=actor, **f.selector_args(exclude={"estate", "since", "until"}), estate_id=chosen
        ),
        PlateEventFilters,
        page_size=PAGE_SIZE,
    )
    selectors.audit_passage_read(actor=actor, rows=listing.page.object_list, kind="plateevent")
    return render(
        request,
        "parking/events.html",
        {
            "estates": estates,
            "estate": estate,
            "filters": listing.filters,
            "page": listing.page,
            "query": listing.query,
            "categories": Category.choices,
            "decisions": Decision.choices,
            "directions": PlateDirection.choices,
        },
    )


@staff_page
def sessions(request, actor):
    estates, estate = _estate(request, actor)
    if request.method == "POST":
        p = request.POST
        session = selectors.session_for_write(actor=actor, pk=positive_int(p.get("session")) or 0)
        _run(
            request,
            lambda: services.session_waive(actor=actor, session=session, reason=p.get("reason", "")[:300]),
            _("已免收"),
        )
        return _back(request, "parking:sessions", estate, status=request.GET.get("status"))
    chosen = estate.pk if estate else -1
    listing = list_page(
        request,
        lambda f: selectors.session_list(
            actor=actor, **f.selector_args(exclude={"estate"}), estate_id=chosen
        ),
        ParkingSessionFilters,
        page_size=PAGE_SIZE,
    )
    selectors.audit_passage_read(actor=actor, rows=listing.page.object_list, kind="parkingsession")
    return render(
        request,
        "parking/sessions.html",
        {
            "estates": estates,
            "estate": estate,
            "status": listing.filters.status,
            "plate": listing.filters.plate or "",
            "statuses": SessionStatus.choices,
            "page": listing.page,
            "query": listing.query,
            "can_manage": actor.has(Perm.PARKING_MANAGE),
        },
    )
