"""The parking API: staff operations, audited reads of movement traces, the resident's own view,
4xx errors in the envelope, query-count guards and the cross-scope probe."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from django.utils import timezone

from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.parking import services
from linli.parking.models import ParkingFeeRule, ParkingSession, Permit, PlateEvent, SessionStatus
from linli.parking.tests import factories as f
from linli.people.tests import factories as people_f

API = "/api/v1/parking"
PLATE = "晋A12345"


def _post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def lot(world):
    """Estate a: barriers, 3 temporary spaces, a rule, a resident's car with a permit, and a
    temporary vehicle that left owing 9 元."""
    entry, exit_ = f.gates(world.a)
    f.spaces(world.a, temporary=3)
    f.rule(world.a)
    car = people_f.vehicle(owner=world.a.persons[0], plate="晋AD12345")
    permit = f.permit(world.a, vehicle=car)
    f.enter(entry, "晋AD12345", at=f.ago(hours=3))
    f.enter(entry, PLATE, at=f.ago(minutes=150))
    refused = f.leave(exit_, PLATE)
    return {"entry": entry, "exit": exit_, "car": car, "permit": permit, "refused": refused}


# --- staff -------------------------------------------------------------------------------------


def test_a_manager_creates_a_rule_a_permit_and_a_block(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    car = people_f.vehicle(owner=world.a.persons[0], plate="晋A88888")

    rule = _post(
        admin, f"{API}/fee-rules", {"estate_id": world.a.estate.pk, "name": "新标准", "daily_cap_fen": 2500}
    )
    permit = _post(
        admin,
        f"{API}/permits",
        {"vehicle_id": car.pk, "kind": "monthly", "valid_from": f"{timezone.localdate()}", "months": 2},
    )
    blocked = _post(
        admin, f"{API}/blocked", {"estate_id": world.a.estate.pk, "plate": "晋a·00001", "reason": "逃费"}
    )

    assert rule.status_code == 201, rule.content
    assert (rule.json()["active"], rule.json()["daily_cap_fen"]) == (True, 2500)
    assert permit.status_code == 201, permit.content
    body = permit.json()
    assert (body["plate"], body["kind"], body["price_fen"], body["status"]) == (
        "晋A88888",
        "monthly",
        30000,
        "active",
    )
    assert body["owner_name"].startswith(world.a.persons[0].name[0]) and "*" in body["owner_name"]
    assert blocked.status_code == 201 and blocked.json()["plate"] == "晋A00001"
    dup = _post(admin, f"{API}/blocked", {"estate_id": world.a.estate.pk, "plate": "晋A00001", "reason": "x"})
    assert (dup.status_code, dup.json()["error"]["code"]) == (409, "conflict")
    lift = _post(admin, f"{API}/blocked/{blocked.json()['id']}/lift")
    assert (lift.status_code, lift.json()["active"]) == (200, False)


def test_renew_cancel_and_quote(world, login, lot):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    pk = lot["permit"].pk
    rule = ParkingFeeRule.objects.get(active=True)

    renewed = _post(admin, f"{API}/permits/{pk}/renew", {"months": 1})
    cancelled = _post(admin, f"{API}/permits/{pk}/cancel", {"reason": "车辆出售"})
    quote = admin.get(
        f"{API}/fee-rules/{rule.pk}/quote",
        {"entered_at": "2026-05-07T08:00:00+08:00", "exited_at": "2026-05-07T10:30:00+08:00"},
    )

    assert renewed.status_code == 200 and renewed.json()["valid_until"] > f"{lot['permit'].valid_until}"
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert quote.json() == {"rule_id": rule.pk, "fee_fen": 900, "windows": [900], "free": False}


def test_the_booth_settles_releases_and_pays_online(world, login, lot):
    guard = login(world.a.staff[Role.GUARD])
    session = lot["refused"].session

    settled = _post(guard, f"{API}/sessions/{session.pk}/settle", {"channel": "cash"})
    again = _post(guard, f"{API}/sessions/{session.pk}/settle", {"channel": "cash"})
    f.enter(lot["entry"], "晋A22222", at=f.ago(minutes=100))
    owing = f.leave(lot["exit"], "晋A22222")
    online = _post(guard, f"{API}/sessions/{owing.session_id}/pay-online")
    released = _post(
        guard,
        f"{API}/release",
        {"access_point_id": lot["exit"].pk, "event_id": owing.pk, "reason": "车主去取手机，登记后放行"},
    )

    assert settled.status_code == 200, settled.content
    assert (settled.json()["status"], settled.json()["fee_fen"]) == ("paid", 900)
    assert settled.json()["receipt_no"].startswith("SJ")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    assert online.status_code == 201, online.content
    assert (online.json()["amount_fen"], online.json()["session"]["status"]) == (700, "unpaid")
    assert online.json()["out_trade_no"].startswith("P")
    assert released.json() == {
        "access_point_id": lot["exit"].pk,
        "event_id": owing.pk,
        "session_id": owing.session_id,
    }


def test_waiving_needs_a_manager(world, login, lot):
    session = lot["refused"].session

    by_guard = _post(login(world.a.staff[Role.GUARD]), f"{API}/sessions/{session.pk}/waive", {"reason": "x"})
    by_admin = _post(
        login(world.a.staff[Role.PROPERTY_ADMIN]), f"{API}/sessions/{session.pk}/waive", {"reason": "误计时"}
    )

    assert (by_guard.status_code, by_guard.json()["error"]["code"]) == (403, "permission_denied")
    assert (by_admin.status_code, by_admin.json()["status"]) == (200, "waived")


def test_occupancy(world, login, lot):
    body = login(world.a.staff[Role.GUARD]).get(f"{API}/occupancy", {"estate": world.a.estate.pk}).json()

    assert (
        body["spaces_temporary"],
        body["open_sessions"],
        body["floating_inside"],
        body["temporary_free"],
    ) == (
        3,
        0,
        1,
        2,
    )


def test_reading_passage_records_of_a_residents_vehicle_is_audited(world, login, lot):
    guard = login(world.a.staff[Role.GUARD])
    before = AuditEvent.objects.filter(action="privacy.sensitive_read").count()

    listed = guard.get(f"{API}/events", {"estate": world.a.estate.pk})
    one = guard.get(f"{API}/events/{lot['refused'].pk}")  # a temporary vehicle: not tied to a person

    assert listed.status_code == 200
    assert listed.json()["count"] == 3
    assert [e["plate"] for e in listed.json()["items"]] == [PLATE, PLATE, "晋AD12345"]
    assert one.status_code == 200
    reads = AuditEvent.objects.filter(action="privacy.sensitive_read").order_by("pk")[before:]
    assert [(r.subject_person_id, r.object_type, r.estate_id) for r in reads] == [
        (world.a.persons[0].pk, "parking.plateevent", world.a.estate.pk)
    ]
    event = PlateEvent.objects.get(plate="晋AD12345")
    assert reads[0].detail == {"ids": [event.pk]}


def test_list_filters_and_bad_filters(world, login, lot):
    guard = login(world.a.staff[Role.GUARD])

    denied = guard.get(f"{API}/events", {"decision": "deny"}).json()
    unpaid = guard.get(f"{API}/sessions", {"status": "unpaid"}).json()
    wrong = guard.get(f"{API}/events", {"decision": "maybe"})
    huge = guard.get(f"{API}/events", {"page_size": 101})
    offset = guard.get(f"{API}/events", {"since": "2026-05-07T08:00:00+23:00"})

    assert [e["reason"] for e in denied["items"]] == ["unpaid"]
    assert [s["plate"] for s in unpaid["items"]] == [PLATE]
    for response in (wrong, huge, offset):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("url", "body", "status", "field"),
    [
        ("/fee-rules", {"estate_id": 0, "name": "x"}, 400, "estate_id"),
        ("/fee-rules", {"name": "x"}, 400, "estate_id"),
        ("/fee-rules", {"estate_id": 1, "name": "x", "first_period_minutes": 0}, 400, "first_period_minutes"),
        ("/blocked", {"plate": "12345", "reason": "x"}, 400, "estate_id"),
        ("/permits", {"vehicle_id": 1, "kind": "weekly", "valid_from": "2026-01-01"}, 400, "kind"),
        ("/release", {"access_point_id": 1, "reason": ""}, 400, "reason"),
    ],
)
def test_malformed_bodies_are_400_with_fields(world, login, url, body, status, field):
    response = _post(login(world.a.staff[Role.PROPERTY_ADMIN]), API + url, body)

    assert response.status_code == status
    assert field in response.json()["error"]["fields"]


def test_invalid_plate_in_the_block_list_is_a_field_error(world, login):
    response = _post(
        login(world.a.staff[Role.PROPERTY_ADMIN]),
        f"{API}/blocked",
        {"estate_id": world.a.estate.pk, "plate": "ABC", "reason": "x"},
    )

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["plate"])


def test_roles_without_parking_permissions_are_refused(world, login, lot):
    for role in (Role.TECHNICIAN, Role.COMMUNITY_WORKER, Role.POLICE_OFFICER):
        client = login(world.a.staff[role])
        assert client.get(f"{API}/events").status_code == 403
        assert client.get(f"{API}/permits/{lot['permit'].pk}").status_code == 403
    assert login(world.a.resident).get(f"{API}/sessions").status_code == 403
    assert _post(
        login(world.a.staff[Role.CUSTOMER_SERVICE]), f"{API}/sessions/1/settle", {"channel": "cash"}
    ).status_code in (
        403,
        404,
    )


def test_list_endpoints_have_bounded_queries(world, login, lot, django_assert_max_num_queries):
    guard = login(world.a.staff[Role.PROPERTY_ADMIN])
    for i in range(5):
        f.enter(lot["entry"], f"晋A3000{i}", at=f.ago(minutes=40 - i))
    for url in ("/events", "/sessions", "/permits", "/blocked", "/fee-rules"):
        with django_assert_max_num_queries(16):
            assert guard.get(API + url, {"page_size": 100}).status_code == 200


# --- residents ---------------------------------------------------------------------------------


def test_a_resident_sees_only_their_own_vehicles_permits_and_sessions(world, login, lot):
    other = people_f.vehicle(owner=world.a.persons[1], plate="晋A65432")
    f.permit(world.a, vehicle=other)
    mine = ParkingSession.objects.create(
        estate=world.a.estate,
        plate="晋AD12345",
        category="resident",
        vehicle=lot["car"],
        entered_at=f.ago(days=3),
        exited_at=f.ago(days=3) + timedelta(hours=2),
        fee_fen=700,
        status=SessionStatus.PAID,
    )
    ParkingSession.objects.create(
        estate=world.a.estate, plate="晋A65432", category="resident", vehicle=other, entered_at=f.ago(days=1)
    )
    resident = login(world.a.resident)

    me = resident.get(f"{API}/me").json()
    sessions = resident.get(f"{API}/me/sessions").json()

    assert [v["plate"] for v in me["vehicles"]] == ["晋AD12345"]
    assert [(p["plate"], p["kind"]) for p in me["permits"]] == [("晋AD12345", "monthly")]
    assert [(s["id"], s["fee_fen"], s["status"]) for s in sessions["items"]] == [(mine.pk, 700, "paid")]
    assert login(world.a.staff[Role.GUARD]).get(f"{API}/me").status_code == 404
    assert login(world.b.resident).get(f"{API}/me").json() == {"vehicles": [], "permits": []}


# --- cross-scope probe -------------------------------------------------------------------------


def test_staff_of_estate_b_cannot_see_or_change_estate_a(world, login, lot):
    admin_b = login(world.b.staff[Role.PROPERTY_ADMIN])
    session = lot["refused"].session
    rule = ParkingFeeRule.objects.get(estate=world.a.estate)
    blocked = services.blocked_plate_add(
        actor=f.admin(world.a), estate=world.a.estate, plate="晋A44444", reason="逃费"
    )

    for url in (
        f"/permits/{lot['permit'].pk}",
        f"/events/{lot['refused'].pk}",
        f"/sessions/{session.pk}",
        f"/fee-rules/{rule.pk}",
    ):
        response = admin_b.get(API + url)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), url
    assert admin_b.get(f"{API}/occupancy", {"estate": world.a.estate.pk}).status_code == 404
    for url, body in (
        (f"/sessions/{session.pk}/settle", {"channel": "cash"}),
        (f"/sessions/{session.pk}/waive", {"reason": "x"}),
        (f"/sessions/{session.pk}/pay-online", {}),
        (f"/permits/{lot['permit'].pk}/cancel", {"reason": "x"}),
        (f"/permits/{lot['permit'].pk}/renew", {"months": 1}),
        (f"/blocked/{blocked.pk}/lift", {}),
        (f"/fee-rules/{rule.pk}/activate", {}),
        ("/release", {"access_point_id": lot["exit"].pk, "reason": "x"}),
        (
            "/release",
            {"access_point_id": f.barrier(world.b).pk, "event_id": lot["refused"].pk, "reason": "x"},
        ),
        ("/fee-rules", {"estate_id": world.a.estate.pk, "name": "x"}),
        ("/blocked", {"estate_id": world.a.estate.pk, "plate": "晋A11111", "reason": "x"}),
        (
            "/permits",
            {"vehicle_id": lot["car"].pk, "kind": "monthly", "valid_from": f"{timezone.localdate()}"},
        ),
    ):
        assert _post(admin_b, API + url, body).status_code == 404, url
    for url in ("/events", "/sessions", "/permits", "/blocked", "/fee-rules"):
        body = admin_b.get(API + url).json()
        assert (body["count"], body["items"]) == (0, []), url
    session.refresh_from_db()
    assert session.status == SessionStatus.UNPAID
    assert Permit.objects.get(pk=lot["permit"].pk).status == "active"


def test_fee_rule_night_times_with_an_offset_are_stored_as_local_time(world, login):
    # Issue #12: "22:00:00+08:00" reached the database as an aware time (a 500 on SQLite).
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    body = {
        "estate_id": world.a.estate.pk,
        "name": "夜间",
        "night_start": "22:00:00+08:00",
        "night_end": "23:00Z",
    }

    r = _post(admin, f"{API}/fee-rules", body)

    assert r.status_code == 201, r.content
    rule = ParkingFeeRule.objects.get(pk=r.json()["id"])
    assert (rule.night_start, rule.night_end) == (time(22, 0), time(7, 0))


def test_a_time_offset_beyond_fourteen_hours_is_a_400(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    body = {
        "estate_id": world.a.estate.pk,
        "name": "夜间",
        "night_start": "22:00+15:00",
        "night_end": "06:00",
    }

    r = _post(admin, f"{API}/fee-rules", body)

    assert r.status_code == 400
    assert list(r.json()["error"]["fields"]) == ["night_start"]
    assert not ParkingFeeRule.objects.filter(name="夜间").exists()
