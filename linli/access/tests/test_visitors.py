"""Visitor passes (R63, R66): invitations, window rules, quotas, entries, revocation, guards' walk-ins
and staff passes, staff-assisted entry, the visitor's link and code, retention; and their API."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from linli.access.credentials import keys, qr
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessSettings,
    EventSource,
    Method,
    VisitorPass,
    VisitorPassStatus,
)
from linli.access.tests import factories as access_f
from linli.access.visitors import entry as staff_entry
from linli.access.visitors import selectors, services
from linli.access.visitors.api import StaffPassIn, VisitorPassIn, WalkInIn
from linli.core import crypto
from linli.core.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationFailed
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people.models import Occupancy

pytestmark = pytest.mark.django_db


# --- local factories ---------------------------------------------------------------------------


def resident(side):
    return actor_for_user(side.resident)


def guard(side):
    return actor_for_user(side.staff[Role.GUARD])


def invite(side, *, hours: int = 4, start=None, **kw) -> services.IssuedPass:
    start = start or timezone.now()
    return services.visitor_pass_create(
        actor=resident(side),
        visitor_name=kw.pop("visitor_name", "王"),
        valid_from=start,
        valid_until=kw.pop("valid_until", start + timedelta(hours=hours)),
        **kw,
    )


def move_window(p: VisitorPass, *, start, end) -> VisitorPass:
    """Shift a pass's window (time travel for one row)."""
    VisitorPass.objects.filter(pk=p.pk).update(valid_from=start, valid_until=end)
    p.refresh_from_db()
    return p


def gate(side, **kw) -> AccessPoint:
    return access_f.access_point(estate=side.estate, **kw)


# --- invitations -------------------------------------------------------------------------------


def test_invite_creates_pass_for_own_room_and_returns_link_once(world):
    # when
    issued = invite(
        world.a, visitor_name=" 李 ", visitor_phone="+86 139-1234-5678", plate="晋a·12345", max_entries=2
    )
    # then
    p = VisitorPass.objects.get(pk=issued.visitor_pass.pk)
    assert (p.estate_id, p.host_room_id, p.host_person_id) == (
        world.a.estate.pk,
        world.a.rooms[0].pk,
        world.a.persons[0].pk,
    )
    assert (p.kind, p.channel, p.status, p.max_entries, p.entries_used) == ("guest", "invite", "active", 2, 0)
    assert (p.visitor_name, p.visitor_phone, p.plate) == ("李", "13912345678", "晋A12345")
    assert p.visitor_phone_hash == crypto.blind_index("13912345678", purpose=crypto.INDEX_PHONE)
    assert p.path == world.a.rooms[0].path and p.created_by_id == world.a.resident.pk
    assert p.link_hash == hashlib.sha256(issued.link_token.encode()).hexdigest()
    assert issued.link_token not in (p.token, p.link_hash) and len(issued.link_token) == 32
    rec = AuditEvent.objects.get(action="data.create", object_type="access.visitorpass", object_id=str(p.pk))
    assert rec.subject_person_id == world.a.persons[0].pk and rec.detail["max_entries"] == 2
    assert "李" not in str(rec.detail) and "13912345678" not in str(rec.detail)


@pytest.mark.parametrize(
    ("start_delta", "length", "field", "message"),
    [
        (timedelta(minutes=-6), timedelta(hours=1), "valid_from", "开始时间不能早于现在"),
        (timedelta(days=31), timedelta(hours=1), "valid_from", "开始时间不能晚于 30 天之后"),
        (timedelta(0), timedelta(0), "valid_until", "结束时间须晚于开始时间"),
        (timedelta(0), timedelta(hours=-1), "valid_until", "结束时间须晚于开始时间"),
        (timedelta(0), timedelta(days=7, seconds=1), "valid_until", "访客通行证最长 7 天"),
    ],
)
def test_invite_window_rules(world, start_delta, length, field, message):
    now = timezone.now()
    with pytest.raises(ValidationFailed) as exc:
        invite(world.a, start=now + start_delta, valid_until=now + start_delta + length)
    assert exc.value.fields == {field: [message]}
    assert VisitorPass.objects.count() == 0


def test_invite_window_edges_are_accepted(world):
    now = timezone.now()
    a = invite(
        world.a, start=now - timedelta(minutes=4), valid_until=now - timedelta(minutes=4) + timedelta(days=7)
    )
    b = invite(world.a, start=now + timedelta(days=29), hours=1)
    assert a.visitor_pass.valid_until - a.visitor_pass.valid_from == timedelta(days=7)
    assert b.visitor_pass.status == VisitorPassStatus.ACTIVE


def test_invite_validates_each_field(world):
    with pytest.raises(ValidationFailed) as exc:
        invite(
            world.a,
            visitor_name="王" * 31,
            visitor_phone="12345",
            plate="ABC",
            purpose="x" * 101,
            max_entries=11,
        )
    assert set(exc.value.fields) == {"visitor_name", "visitor_phone", "plate", "purpose", "max_entries"}
    assert exc.value.fields["visitor_phone"] == ["手机号应为以1开头的11位数字"]
    with pytest.raises(ValidationFailed) as exc:
        invite(world.a, visitor_name="  ", max_entries=0, valid_until=None)
    assert set(exc.value.fields) == {"visitor_name", "max_entries", "valid_until"}
    assert VisitorPass.objects.count() == 0


def test_r63_form_and_schema_ask_for_minimal_fields_only():
    minimal = {
        "visitor_name",
        "visitor_phone",
        "valid_from",
        "valid_until",
        "max_entries",
        "plate",
        "purpose",
    }
    assert set(services.FORM_FIELDS) == minimal
    assert set(VisitorPassIn.model_fields) == minimal | {"room_id"}
    assert set(WalkInIn.model_fields) == {
        "room_id",
        "visitor_name",
        "visitor_phone",
        "hours",
        "max_entries",
    } | {
        "plate",
        "purpose",
    }
    assert set(StaffPassIn.model_fields) == {
        "estate_id",
        "kind",
        "visitor_name",
        "visitor_phone",
        "minutes",
        "max_entries",
        "room_id",
        "plate",
        "purpose",
    }
    stored = {f.name for f in VisitorPass._meta.get_fields()}
    for forbidden in ("id_number", "id_card", "face", "photo", "id_type"):
        assert not [n for n in stored if forbidden in n]


def test_only_current_residents_invite_and_only_to_their_rooms(world):
    # a room of the same estate that is not theirs
    with pytest.raises(ValidationFailed) as exc:
        invite(world.a, room_id=world.a.rooms[1].pk)
    assert exc.value.fields == {"room_id": ["只能为本人入住的房屋邀请访客"]}
    # staff are not residents
    with pytest.raises(PermissionDenied):
        services.visitor_pass_create(
            actor=guard(world.a),
            visitor_name="王",
            valid_from=timezone.now(),
            valid_until=timezone.now() + timedelta(hours=1),
        )
    # a resident who moved out
    Occupancy.objects.filter(person=world.a.persons[0]).update(end_date=timezone.localdate())
    with pytest.raises(PermissionDenied) as exc:
        invite(world.a)
    assert exc.value.message == "您当前没有登记入住的房屋，无法邀请访客"
    assert VisitorPass.objects.count() == 0


def test_daily_quota_is_20_passes_then_429(world):
    for _ in range(services.RESIDENT_DAILY_QUOTA):
        invite(world.a)
    with pytest.raises(RateLimited):
        invite(world.a)
    assert VisitorPass.objects.filter(created_by=world.a.resident).count() == 20
    # yesterday's passes do not count
    VisitorPass.objects.update(created_at=timezone.now() - timedelta(days=1, hours=1))
    invite(world.a)
    assert VisitorPass.objects.count() == 21


# --- entries -----------------------------------------------------------------------------------


def test_consume_entry_counts_to_used_up_then_refuses(world):
    p = invite(world.a, max_entries=2).visitor_pass
    assert services.consume_entry(p.pk) is True
    p.refresh_from_db()
    assert (p.entries_used, p.status) == (1, "active")
    assert services.consume_entry(p.pk) is True
    p.refresh_from_db()
    assert (p.entries_used, p.status) == (2, "used_up")
    assert services.consume_entry(p.pk) is False
    p.refresh_from_db()
    assert (p.entries_used, p.status) == (2, "used_up")


def test_consume_entry_decides_in_the_database_not_on_a_stale_copy(world):
    # given: two gates loaded the pass while one entry was left
    p = invite(world.a, max_entries=1).visitor_pass
    stale = VisitorPass.objects.get(pk=p.pk)
    assert stale.entries_used < stale.max_entries
    # when: the first gate takes it, the second gate (still holding its stale copy) tries too
    first = services.consume_entry(p.pk)
    second = services.consume_entry(stale.pk)
    # then
    assert (first, second) == (True, False)
    assert VisitorPass.objects.get(pk=p.pk).entries_used == 1


def test_consume_entry_refuses_a_revoked_pass(world):
    p = invite(world.a, max_entries=3).visitor_pass
    services.visitor_pass_revoke(actor=resident(world.a), visitor_pass=p)
    assert services.consume_entry(p.pk) is False
    assert VisitorPass.objects.get(pk=p.pk).entries_used == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_consume_entry_concurrent_gates_never_exceed_max_entries(world):
    p = invite(world.a, max_entries=3).visitor_pass
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def gate_thread():
        barrier.wait()
        try:
            results.append(services.consume_entry(p.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=gate_thread) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p.refresh_from_db()
    assert sorted(results) == [False] * 5 + [True] * 3
    assert (p.entries_used, p.status) == (3, "used_up")


# --- revocation and lists ----------------------------------------------------------------------


def test_resident_revokes_own_pass_once_and_nobody_else_can(world):
    p = invite(world.a).visitor_pass
    other = actor_for_user(_second_resident(world.a))
    with pytest.raises(NotFound):
        services.visitor_pass_revoke(actor=other, visitor_pass=p)
    with pytest.raises(NotFound):
        services.visitor_pass_revoke(actor=guard(world.b), visitor_pass=p)
    with pytest.raises(PermissionDenied):
        services.visitor_pass_revoke(actor=actor_for_user(world.a.staff[Role.TECHNICIAN]), visitor_pass=p)
    assert VisitorPass.objects.get(pk=p.pk).status == "active"
    # when
    services.visitor_pass_revoke(actor=resident(world.a), visitor_pass=p)
    # then
    p.refresh_from_db()
    assert p.status == "revoked" and p.revoked_at is not None
    assert (
        AuditEvent.objects.filter(action="data.update", object_id=str(p.pk), detail__status="revoked").count()
        == 1
    )
    with pytest.raises(Conflict):
        services.visitor_pass_revoke(actor=resident(world.a), visitor_pass=p)


def test_a_guard_in_scope_may_revoke(world):
    p = invite(world.a).visitor_pass
    services.visitor_pass_revoke(actor=guard(world.a), visitor_pass=p)
    assert VisitorPass.objects.get(pk=p.pk).status == "revoked"


def test_expired_or_used_up_pass_cannot_be_revoked(world):
    p = invite(world.a).visitor_pass
    now = timezone.now()
    move_window(p, start=now - timedelta(hours=3), end=now - timedelta(hours=1))
    with pytest.raises(Conflict):
        services.visitor_pass_revoke(actor=resident(world.a), visitor_pass=p)
    assert selectors.effective_status(p) == "expired"


def _second_resident(side):
    from linli.accounts.models import UserKind
    from linli.orgs.tests import factories as orgs_f

    user = orgs_f.user(username=f"second_{side.estate.pk}", kind=UserKind.RESIDENT)
    side.persons[1].user = user
    side.persons[1].save(update_fields=["user"])
    return user


def test_residents_list_only_their_own_passes(world):
    mine = invite(world.a).visitor_pass
    theirs = services.visitor_pass_create(
        actor=actor_for_user(_second_resident(world.a)),
        visitor_name="赵",
        valid_from=timezone.now(),
        valid_until=timezone.now() + timedelta(hours=1),
    ).visitor_pass
    assert list(selectors.visitor_pass_list_mine(actor=resident(world.a))) == [mine]
    with pytest.raises(NotFound):
        selectors.visitor_pass_get_mine(actor=resident(world.a), pk=theirs.pk)
    assert list(selectors.visitor_pass_list_mine(actor=guard(world.a))) == []


# --- guards ------------------------------------------------------------------------------------


def test_guard_registers_walk_in_for_room_in_scope(world):
    issued = services.visitor_walk_in_register(
        actor=guard(world.a), room_id=world.a.rooms[2].pk, visitor_name="孙", hours=2, max_entries=1
    )
    p = issued.visitor_pass
    assert (p.channel, p.kind, p.host_room_id, p.host_person_id) == (
        "walk_in",
        "guest",
        world.a.rooms[2].pk,
        None,
    )
    assert p.valid_until - p.valid_from == timedelta(hours=2)
    assert p.created_by_id == world.a.staff[Role.GUARD].pk
    code, expires_at = selectors.visitor_printable_code(p)
    assert int(expires_at.timestamp()) == int(p.valid_until.timestamp())
    assert qr.verify(code, keys.public_keys(world.a.estate.pk), timezone.now().timestamp()).subject == p.token


def test_walk_in_refuses_other_estates_rooms_bad_hours_and_non_guards(world):
    with pytest.raises(NotFound):
        services.visitor_walk_in_register(
            actor=guard(world.b), room_id=world.a.rooms[0].pk, visitor_name="孙"
        )
    with pytest.raises(ValidationFailed) as exc:
        services.visitor_walk_in_register(
            actor=guard(world.a), room_id=world.a.rooms[0].pk, visitor_name="孙", hours=25
        )
    assert exc.value.fields == {"hours": ["有效时长须在 1–24 小时之间"]}
    with pytest.raises(PermissionDenied):
        services.visitor_walk_in_register(
            actor=actor_for_user(world.a.staff[Role.TECHNICIAN]),
            room_id=world.a.rooms[0].pk,
            visitor_name="孙",
        )
    with pytest.raises(PermissionDenied):
        services.visitor_walk_in_register(
            actor=resident(world.a), room_id=world.a.rooms[0].pk, visitor_name="孙"
        )
    assert VisitorPass.objects.count() == 0


def test_guard_issues_short_delivery_and_service_passes(world):
    delivery = services.visitor_staff_pass_issue(
        actor=guard(world.a), estate_id=world.a.estate.pk, kind="delivery", visitor_name="顺丰 王", minutes=30
    ).visitor_pass
    service = services.visitor_staff_pass_issue(
        actor=guard(world.a),
        estate_id=world.a.estate.pk,
        kind="service",
        visitor_name="保洁 刘",
        minutes=720,
        max_entries=4,
        room_id=world.a.rooms[1].pk,
    ).visitor_pass
    assert (delivery.kind, delivery.channel, delivery.host_room_id, delivery.path) == (
        "delivery",
        "staff",
        None,
        world.a.estate.path,
    )
    assert delivery.valid_until - delivery.valid_from == timedelta(minutes=30)
    assert (service.kind, service.max_entries, service.host_room_id) == ("service", 4, world.a.rooms[1].pk)
    with pytest.raises(ValidationFailed) as exc:
        services.visitor_staff_pass_issue(
            actor=guard(world.a), estate_id=world.a.estate.pk, kind="delivery", visitor_name="王", minutes=121
        )
    assert exc.value.fields == {"minutes": ["有效时长须在 1–120 分钟之间"]}
    with pytest.raises(ValidationFailed) as exc:
        services.visitor_staff_pass_issue(
            actor=guard(world.a), estate_id=world.a.estate.pk, kind="guest", visitor_name="王"
        )
    assert set(exc.value.fields) == {"kind"}
    with pytest.raises(NotFound):
        services.visitor_staff_pass_issue(
            actor=guard(world.b), estate_id=world.a.estate.pk, kind="delivery", visitor_name="王"
        )
    with pytest.raises(NotFound):
        services.visitor_staff_pass_issue(
            actor=guard(world.a),
            estate_id=world.a.estate.pk,
            kind="service",
            visitor_name="王",
            room_id=world.b.rooms[0].pk,
        )
    assert VisitorPass.objects.count() == 2


def test_today_lists_passes_overlapping_today_in_scope(world):
    now = timezone.now()
    today = invite(world.a).visitor_pass
    ended = move_window(
        invite(world.a).visitor_pass, start=now - timedelta(days=3), end=now - timedelta(days=2)
    )
    later = invite(world.a, start=now + timedelta(days=2)).visitor_pass
    other = services.visitor_walk_in_register(
        actor=guard(world.b), room_id=world.b.rooms[0].pk, visitor_name="周"
    )
    listed = list(selectors.visitors_today(actor=guard(world.a), now=now))
    assert today in listed and ended not in listed and later not in listed
    assert other.visitor_pass not in listed
    assert list(selectors.visitors_today(actor=guard(world.b), now=now)) == [other.visitor_pass]
    with pytest.raises(PermissionDenied):
        selectors.visitors_today(actor=actor_for_user(world.a.staff[Role.TECHNICIAN]))


# --- staff-assisted entry ----------------------------------------------------------------------


def test_staff_entry_records_an_event_and_takes_an_entry(world):
    access_f.visitor_policy(estate=world.a.estate)
    point = gate(world.a)
    p = services.visitor_walk_in_register(
        actor=guard(world.a), room_id=world.a.rooms[0].pk, visitor_name="孙", max_entries=1
    ).visitor_pass
    # when
    first = staff_entry.visitor_staff_entry(actor=guard(world.a), visitor_pass=p, access_point_id=point.pk)
    second = staff_entry.visitor_staff_entry(actor=guard(world.a), visitor_pass=p, access_point_id=point.pk)
    # then
    assert (first.result, first.reason, second.result, second.reason) == ("allow", "ok", "deny", "used_up")
    ev = AccessEvent.objects.get(pk=first.event_id)
    assert (ev.method, ev.source, ev.subject_kind, ev.visitor_pass_id, ev.access_point_id, ev.direction) == (
        Method.STAFF,
        EventSource.STAFF,
        "visitor",
        p.pk,
        point.pk,
        "in",
    )
    p.refresh_from_db()
    assert (p.entries_used, p.status) == (1, "used_up")
    assert AuditEvent.objects.filter(reason="staff_entry", object_id=str(p.pk)).count() == 2


def test_staff_entry_checks_point_building_window_and_policy(world):
    point = gate(world.a)
    other_building = access_f.access_point(
        estate=world.a.estate,
        building=_other_building(world.a),
    )
    no_staff = gate(world.a, methods=["qr", "card"])
    p = invite(world.a, max_entries=5).visitor_pass
    g = guard(world.a)
    # no visitor policy yet
    assert (
        staff_entry.visitor_staff_entry(actor=g, visitor_pass=p, access_point_id=point.pk).reason
        == "not_allowed"
    )
    access_f.visitor_policy(estate=world.a.estate)
    assert staff_entry.visitor_staff_entry(
        actor=g, visitor_pass=p, access_point_id=other_building.pk
    ).reason == ("not_allowed")
    assert staff_entry.visitor_staff_entry(actor=g, visitor_pass=p, access_point_id=no_staff.pk).reason == (
        "method_not_allowed"
    )
    now = timezone.now()
    move_window(p, start=now - timedelta(hours=5), end=now - timedelta(hours=1))
    assert (
        staff_entry.visitor_staff_entry(actor=g, visitor_pass=p, access_point_id=point.pk).reason
        == "outside_window"
    )
    assert VisitorPass.objects.get(pk=p.pk).entries_used == 0
    assert AccessEvent.objects.filter(visitor_pass=p, result="deny").count() == 4
    # another estate's guard cannot even find the pass or the point
    with pytest.raises(NotFound):
        staff_entry.visitor_staff_entry(actor=guard(world.b), visitor_pass=p, access_point_id=point.pk)


def _other_building(side):
    from linli.places.tests import factories as places_f

    return places_f.building(estate=side.estate, name="9号楼")


# --- the visitor's link and code ---------------------------------------------------------------


def test_code_for_link_is_a_signed_visitor_code_capped_at_the_window(world):
    issued = invite(world.a, hours=4)
    now = timezone.now()
    text, expires_at, refresh_s, p = selectors.visitor_code_for_link(issued.link_token, now=now)
    code = qr.verify(text, keys.public_keys(world.a.estate.pk), now.timestamp())
    assert (code.kind, code.subject, p.pk, refresh_s) == ("V", p.token, issued.visitor_pass.pk, 20)
    assert code.expires_at == int(now.timestamp()) + 60 == int(expires_at.timestamp())
    # near the end of the window the code ends with the pass
    move_window(p, start=now - timedelta(hours=1), end=now + timedelta(seconds=30))
    _text, expires_at, _r, _p = selectors.visitor_code_for_link(issued.link_token, now=now)
    assert int(expires_at.timestamp()) == int((now + timedelta(seconds=30)).timestamp())


def test_code_for_link_honours_estate_settings(world):
    AccessSettings.objects.create(estate=world.a.estate, qr_ttl_seconds=30, qr_refresh_seconds=10)
    issued = invite(world.a)
    now = timezone.now()
    _t, expires_at, refresh_s, _p = selectors.visitor_code_for_link(issued.link_token, now=now)
    assert (int(expires_at.timestamp()) - int(now.timestamp()), refresh_s) == (30, 10)


@pytest.mark.parametrize("state", ["revoked", "used_up", "expired", "not_yet_valid"])
def test_code_for_link_refuses_unusable_passes_with_a_reason(world, state):
    now = timezone.now()
    issued = invite(world.a, start=now + timedelta(days=1) if state == "not_yet_valid" else now)
    p = issued.visitor_pass
    if state == "revoked":
        services.visitor_pass_revoke(actor=resident(world.a), visitor_pass=p)
    elif state == "used_up":
        services.consume_entry(p.pk)
    elif state == "expired":
        move_window(p, start=now - timedelta(hours=3), end=now - timedelta(seconds=1))
    with pytest.raises(selectors.PassUnavailable) as exc:
        selectors.visitor_code_for_link(issued.link_token)
    assert (exc.value.reason, exc.value.code, exc.value.status) == (state, f"visitor_pass_{state}", 409)


@pytest.mark.parametrize("token", ["", "short", "x" * 65, "a/b" * 10, "../" * 10, "A" * 32])
def test_unknown_or_malformed_links_are_not_found(world, token):
    invite(world.a)
    with pytest.raises(NotFound):
        selectors.visitor_code_for_link(token)


def test_link_rate_limit_per_token(world, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    issued = invite(world.a)
    for _ in range(selectors.LINK_CODE_REQUESTS_PER_MINUTE):
        selectors.link_rate_check(issued.link_token)
    with pytest.raises(RateLimited):
        selectors.link_rate_check(issued.link_token)
    selectors.link_rate_check(invite(world.a).link_token)  # another link is unaffected


# --- retention (R63) ---------------------------------------------------------------------------


def test_purge_deletes_passes_after_retention_and_keeps_events(world):
    access_f.visitor_policy(estate=world.a.estate)
    point = gate(world.a)
    now = timezone.now()
    old = invite(world.a).visitor_pass
    entry = staff_entry.visitor_staff_entry(actor=guard(world.a), visitor_pass=old, access_point_id=point.pk)
    move_window(old, start=now - timedelta(days=32), end=now - timedelta(days=31))
    recent = move_window(
        invite(world.a).visitor_pass, start=now - timedelta(days=30), end=now - timedelta(days=29)
    )
    current = invite(world.a).visitor_pass
    b_old = services.visitor_walk_in_register(
        actor=guard(world.b), room_id=world.b.rooms[0].pk, visitor_name="周"
    )
    move_window(b_old.visitor_pass, start=now - timedelta(days=32), end=now - timedelta(days=31))
    AccessSettings.objects.create(estate=world.b.estate, visitor_retention_days=60)
    # when
    purged = services.purge_expired_visitors(now=now)
    # then
    assert purged == 1
    assert set(VisitorPass.objects.values_list("pk", flat=True)) == {
        recent.pk,
        current.pk,
        b_old.visitor_pass.pk,
    }
    event = AccessEvent.objects.get(pk=entry.event_id)
    assert event.visitor_pass_id is None and event.result == "allow"
    assert services.purge_expired_visitors(now=now + timedelta(days=30)) == 2
    assert set(VisitorPass.objects.values_list("pk", flat=True)) == {current.pk}


# --- API ---------------------------------------------------------------------------------------

API = "/api/v1/access/visitors"


def _body(**kw) -> dict:
    now = timezone.now()
    return {
        "visitor_name": "王",
        "visitor_phone": "13912345678",
        "valid_from": now.isoformat(),
        "valid_until": (now + timedelta(hours=2)).isoformat(),
        "max_entries": 2,
        **kw,
    }


def test_api_resident_invites_lists_masked_and_revokes(world, login, django_assert_max_num_queries):
    c = login(world.a.resident)
    r = c.post(f"{API}/me", _body(), content_type="application/json")
    assert r.status_code == 201, r.content
    data = r.json()
    token = data["link_token"]
    assert data["link_url"] == f"/v/{token}/"
    assert data["visitor_pass"]["visitor_phone"] == "139****5678"
    assert data["visitor_pass"]["room"] == world.a.rooms[0].standard_address
    invite(world.a)
    with django_assert_max_num_queries(8):
        r = c.get(f"{API}/me")
    assert r.status_code == 200 and r.json()["count"] == 2
    assert "13912345678" not in r.content.decode() and token not in r.content.decode()
    pk = data["visitor_pass"]["id"]
    r = c.post(f"{API}/me/{pk}/revoke")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert c.post(f"{API}/me/{pk}/revoke").status_code == 409


def test_api_invite_errors_are_400_and_quota_is_429(world, login):
    c = login(world.a.resident)
    r = c.post(f"{API}/me", _body(visitor_name="王" * 31), content_type="application/json")
    assert r.status_code == 400 and "visitor_name" in r.json()["error"]["fields"]
    now = timezone.now()
    r = c.post(
        f"{API}/me", _body(valid_until=(now + timedelta(days=8)).isoformat()), content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"valid_until": ["访客通行证最长 7 天"]}
    r = c.post(f"{API}/me", _body(id_number="110101199003070000"), content_type="application/json")
    assert r.status_code == 201  # unknown fields are ignored, never stored
    for _ in range(services.RESIDENT_DAILY_QUOTA - 1):
        invite(world.a)
    r = c.post(f"{API}/me", _body(), content_type="application/json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert (
        login(world.a.staff[Role.GUARD])
        .post(f"{API}/me", _body(), content_type="application/json")
        .status_code
        == 403
    )


def test_api_cross_scope_probe(world, login):
    p = invite(world.a).visitor_pass
    resident_b = login(world.b.resident)
    guard_b = login(world.b.staff[Role.GUARD])
    guard_a = login(world.a.staff[Role.GUARD])
    point = gate(world.a)
    # residents of b and guards of b see nothing of a and change nothing
    assert resident_b.post(f"{API}/me/{p.pk}/revoke").status_code == 404
    assert guard_b.post(f"{API}/{p.pk}/revoke").status_code == 404
    assert (
        guard_b.post(
            f"{API}/{p.pk}/entry", {"access_point_id": point.pk}, content_type="application/json"
        ).status_code
        == 404
    )
    r = guard_b.post(
        f"{API}/walk-in",
        {"room_id": world.a.rooms[0].pk, "visitor_name": "孙"},
        content_type="application/json",
    )
    assert r.status_code == 404
    r = guard_b.post(
        f"{API}/staff-passes",
        {"estate_id": world.a.estate.pk, "kind": "delivery", "visitor_name": "王"},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert guard_b.get(f"{API}/today").json()["count"] == 0
    assert guard_b.get(f"{API}/today?estate_id={world.a.estate.pk}").json()["count"] == 0
    assert VisitorPass.objects.get(pk=p.pk).status == "active" and VisitorPass.objects.count() == 1
    # a resident may not use guard endpoints
    assert login(world.a.resident).get(f"{API}/today").status_code == 403
    # the guard of a sees it, masked
    r = guard_a.get(f"{API}/today")
    assert r.status_code == 200 and r.json()["count"] == 1
    assert r.json()["items"][0]["visitor_name"] == "王"  # one character stays as it is
    assert AuditEvent.objects.filter(action="privacy.sensitive_read", reason="visitors_today").count() == 3


def test_api_guard_walk_in_staff_pass_and_entry(world, login, django_assert_max_num_queries):
    access_f.visitor_policy(estate=world.a.estate)
    point = gate(world.a)
    c = login(world.a.staff[Role.GUARD])
    r = c.post(
        f"{API}/walk-in",
        {
            "room_id": world.a.rooms[1].pk,
            "visitor_name": "孙悟空",
            "visitor_phone": "13900001111",
            "hours": 3,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["visitor_pass"]["channel"] == "walk_in" and data["code"].startswith("LL1.")
    pk = data["visitor_pass"]["id"]
    r = c.post(
        f"{API}/staff-passes",
        {"estate_id": world.a.estate.pk, "kind": "delivery", "visitor_name": "美团 李", "minutes": 20},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["visitor_pass"]["kind"] == "delivery"
    r = c.post(
        f"{API}/staff-passes",
        {"estate_id": world.a.estate.pk, "kind": "guest", "visitor_name": "王"},
        content_type="application/json",
    )
    assert r.status_code == 400
    with django_assert_max_num_queries(12):
        r = c.get(f"{API}/today")
    items = {i["id"]: i for i in r.json()["items"]}
    assert items[pk]["visitor_name"] == "孙*空" and items[pk]["visitor_phone"] == "139****1111"
    r = c.post(f"{API}/{pk}/entry", {"access_point_id": point.pk}, content_type="application/json")
    assert r.status_code == 200 and r.json()["result"] == "allow" and r.json()["entries_left"] == 0
    r = c.post(f"{API}/{pk}/entry", {"access_point_id": point.pk}, content_type="application/json")
    assert r.json()["result"] == "deny" and r.json()["reason"] == "used_up"
    assert login(world.a.staff[Role.TECHNICIAN]).get(f"{API}/today").status_code == 403


def test_api_public_link_code(client, world):
    issued = invite(world.a)
    r = client.get(f"{API}/link/{issued.link_token}/code")
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store" and r["Referrer-Policy"] == "no-referrer"
    data = r.json()
    code = qr.verify(data["code"], keys.public_keys(world.a.estate.pk), timezone.now().timestamp())
    assert code.subject == issued.visitor_pass.token and data["entries_left"] == 1 and data["refresh_s"] == 20
    assert data["svg"].startswith("<svg")
    assert client.get(f"{API}/link/{'A' * 32}/code").status_code == 404
    assert client.get(f"{API}/link/{'A' * 65}/code").status_code == 400
    services.visitor_pass_revoke(actor=resident(world.a), visitor_pass=issued.visitor_pass)
    r = client.get(f"{API}/link/{issued.link_token}/code")
    assert r.status_code == 409 and r.json()["error"]["code"] == "visitor_pass_revoked"


def test_api_public_link_code_is_rate_limited(client, world, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    issued = invite(world.a)
    for _ in range(selectors.LINK_CODE_REQUESTS_PER_MINUTE):
        client.get(f"{API}/link/{issued.link_token}/code")
    r = client.get(f"{API}/link/{issued.link_token}/code")
    assert r.status_code == 429


def test_visitor_name_is_stored_without_bidi_override_and_zero_width_characters(world):
    issued = invite(world.a, visitor_name="\u202e李\u200b")
    assert VisitorPass.objects.get(pk=issued.visitor_pass.pk).visitor_name == "李"
