"""Flow and visitor analysis on a crafted dataset: exact numbers, local-time buckets at the edges of
the day (Asia/Shanghai = UTC+8), scope and permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from linli.access.insights import analysis
from linli.access.models import AccessEvent
from linli.access.tests import factories as f
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

SH = ZoneInfo("Asia/Shanghai")
SINCE = datetime(2025, 3, 1, tzinfo=SH)
UNTIL = datetime(2025, 3, 3, tzinfo=SH)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def _event(point, at, *, result="allow", direction="in", subject_kind="resident", **kw):
    return AccessEvent.objects.create(
        estate=point.estate,
        path=point.path,
        access_point=point,
        occurred_at=at,
        received_at=at,
        direction=direction,
        method=kw.pop("method", "card"),
        result=result,
        reason=kw.pop("reason", "ok" if result == "allow" else "not_allowed"),
        subject_kind=subject_kind,
        **kw,
    )


@pytest.fixture
def flows_data(world):
    east = f.access_point(estate=world.a.estate, name="东门", code="east", kind="pedestrian_gate")
    door = f.access_point(estate=world.a.estate, building=world.a.building, name="1号楼单元门", code="door")
    _event(east, _utc(2025, 2, 28, 15, 59, 59))  # local 02-28 23:59:59: before the range
    _event(east, _utc(2025, 3, 1, 15, 59, 59))  # local 03-01 23:59:59
    _event(east, _utc(2025, 3, 1, 16, 0, 0), direction="out")  # local 03-02 00:00:00
    _event(east, _utc(2025, 3, 2, 0, 30), direction="out")  # local 08:30
    _event(east, _utc(2025, 3, 2, 0, 45), result="deny")  # local 08:45, refused
    _event(door, _utc(2025, 3, 2, 10, 0))  # local 18:00
    _event(door, _utc(2025, 3, 2, 10, 1), direction="both")  # allowed, neither in nor out
    _event(door, _utc(2025, 3, 2, 16, 0))  # local 03-03 00:00: after the range
    other = f.access_point(estate=world.b.estate, code="east")
    _event(other, _utc(2025, 3, 2, 1, 0))  # estate b
    return east, door


def _zero(**kw):
    return {"entries": 0, "exits": 0, "allowed": 0, "denied": 0, **kw}


def test_flows_by_local_hour_point_and_day(world, flows_data):
    east, door = flows_data
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    out = analysis.flows(actor=admin, since=SINCE, until=UNTIL)
    assert out["totals"] == {"entries": 2, "exits": 2, "allowed": 5, "denied": 1}
    hours = {r["hour"]: {k: v for k, v in r.items() if k != "hour"} for r in out["by_hour"]}
    assert len(out["by_hour"]) == 24
    assert hours[23] == _zero(entries=1, allowed=1)
    assert hours[0] == _zero(exits=1, allowed=1)
    assert hours[8] == _zero(exits=1, allowed=1, denied=1)
    assert hours[18] == _zero(entries=1, allowed=2)
    assert [h for h, v in hours.items() if v != _zero()] == [0, 8, 18, 23]
    assert out["daily"] == [
        {"day": "2025-03-01", **_zero(entries=1, allowed=1)},
        {"day": "2025-03-02", **_zero(entries=1, exits=2, allowed=4, denied=1)},
    ]
    assert out["by_point"] == [
        {
            "access_point_id": door.pk,
            "name": "1号楼单元门",
            "kind": "unit_door",
            **_zero(entries=1, allowed=2),
        },
        {
            "access_point_id": east.pk,
            "name": "东门",
            "kind": "pedestrian_gate",
            **_zero(entries=1, exits=2, allowed=3, denied=1),
        },
    ]
    assert out["time_zone"] == "Asia/Shanghai"


def test_flows_of_one_point_and_of_another_estate(world, flows_data):
    east, _door = flows_data
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    only_east = analysis.flows(actor=admin, since=SINCE, until=UNTIL, access_point_id=east.pk)
    assert only_east["totals"] == {"entries": 1, "exits": 2, "allowed": 3, "denied": 1}
    gates = analysis.flows(actor=admin, since=SINCE, until=UNTIL, level="gates")
    assert gates["totals"] == only_east["totals"]
    doors = analysis.flows(actor=admin, since=SINCE, until=UNTIL, level="buildings")
    assert doors["totals"] == _zero(entries=1, allowed=2)
    with pytest.raises(ValidationFailed):
        analysis.flows(actor=admin, level="roofs")
    other = analysis.flows(actor=actor_for_user(world.b.staff[Role.PROPERTY_ADMIN]), since=SINCE, until=UNTIL)
    assert other["totals"] == _zero(entries=1, allowed=1)
    assert other["daily"] == [
        {"day": "2025-03-01", **_zero()},
        {"day": "2025-03-02", **_zero(entries=1, allowed=1)},
    ]
    by_a = analysis.flows(
        actor=actor_for_user(world.b.staff[Role.PROPERTY_ADMIN]),
        since=SINCE,
        until=UNTIL,
        estate_id=world.a.estate.pk,
    )
    assert by_a["totals"] == _zero()


def test_analysis_needs_the_permission_and_a_sane_range(world):
    with pytest.raises(PermissionDenied):
        analysis.flows(actor=actor_for_user(world.a.staff[Role.GUARD]))
    with pytest.raises(PermissionDenied):
        analysis.visitor_stats(actor=actor_for_user(world.a.staff[Role.TECHNICIAN]))
    worker = actor_for_user(world.a.staff[Role.COMMUNITY_WORKER])
    with pytest.raises(ValidationFailed):
        analysis.flows(actor=worker, since=UNTIL, until=SINCE)
    with pytest.raises(ValidationFailed):
        analysis.flows(actor=worker, since=SINCE - timedelta(days=400), until=SINCE)
    default = analysis.flows(actor=worker)
    assert len(default["daily"]) == 7


def test_visitor_statistics(world):
    east = f.access_point(estate=world.a.estate, name="东门", code="east", kind="pedestrian_gate")
    a, b = world.a, world.b

    def vp(side, start, hours, **kw):
        return f.visitor_pass(
            estate=side.estate,
            host_room=side.rooms[0],
            path=side.rooms[0].path,
            valid_from=start,
            valid_until=start + timedelta(hours=hours),
            **kw,
        )

    guest = vp(a, _local(2025, 3, 1, 10), 4, kind="guest", channel="invite", entries_used=1, status="used_up")
    parcel = vp(
        a, _local(2025, 3, 2, 9), 2, kind="delivery", channel="walk_in", entries_used=1, status="used_up"
    )
    no_show = vp(a, _local(2025, 3, 2, 14), 4, kind="guest", channel="invite", status="expired")
    vp(b, _local(2025, 3, 2, 20), 2, kind="service", channel="staff")
    visitor = {"subject_kind": "visitor", "method": "qr"}
    _event(east, _local(2025, 3, 1, 10, 5), visitor_pass=guest, **visitor)
    _event(east, _local(2025, 3, 1, 11, 35), direction="out", visitor_pass=guest, **visitor)
    _event(east, _local(2025, 3, 2, 9, 10), visitor_pass=parcel, **visitor)
    _event(east, _local(2025, 3, 2, 9, 20), direction="out", visitor_pass=parcel, **visitor)
    _event(east, _local(2025, 3, 2, 19, 0), result="deny", reason="expired", visitor_pass=no_show, **visitor)
    _event(east, _local(2025, 3, 2, 9, 30))  # a resident: not a visitor

    out = analysis.visitor_stats(actor=actor_for_user(a.staff[Role.PROPERTY_ADMIN]), since=SINCE, until=UNTIL)
    assert {k: out[k] for k in ("passes", "entries_used", "arrived", "no_show", "entries", "denied")} == {
        "passes": 3,
        "entries_used": 2,
        "arrived": 2,
        "no_show": 1,
        "entries": 2,
        "denied": 1,
    }
    assert out["by_kind"] == {"guest": 2, "delivery": 1, "service": 0}
    assert out["by_channel"] == {"invite": 2, "walk_in": 1, "staff": 0}
    assert out["denied_by_reason"] == {"expired": 1}
    assert [(r["hour"], r["entries"]) for r in out["by_hour"] if r["entries"]] == [(9, 1), (10, 1)]
    assert out["peak_hours"] == [9, 10]
    assert (out["average_stay_minutes"], out["stays_measured"]) == (50.0, 2)
    assert out["daily"] == [
        {"day": "2025-03-01", "passes": 1, "entries": 1},
        {"day": "2025-03-02", "passes": 2, "entries": 1},
    ]
