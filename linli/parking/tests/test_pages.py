"""Console pages of parking: each page renders for the parking roles, the booth settles and releases,
managers grant permits, edit the rule and the block list; other roles and other estates are refused."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.core.models import AuditEvent
from linli.devices.models import DeviceCommand
from linli.orgs.roles import Role
from linli.parking.models import BlockedPlate, ParkingFeeRule, Permit, PlateEvent, SessionStatus
from linli.parking.tests import factories as f
from linli.people.tests import factories as people_f

PLATE = "晋A12345"
PAGES = ["home", "permits", "fee_rule", "blocked", "booth", "events", "sessions"]


@pytest.fixture
def lot(world):
    entry, exit_ = f.gates(world.a)
    f.spaces(world.a, temporary=2)
    f.rule(world.a)
    f.enter(entry, PLATE, at=f.ago(minutes=150))
    refused = f.leave(exit_, PLATE)
    return entry, exit_, refused


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", [Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE, Role.GUARD])
def test_every_page_renders_for_parking_roles(world, login, lot, page, role):
    response = login(world.a.staff[role]).get(reverse(f"parking:{page}"))

    assert response.status_code == 200
    assert "停车" in response.content.decode() or "禁入" in response.content.decode()


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.COMMUNITY_WORKER, Role.POLICE_OFFICER])
def test_other_roles_are_refused(world, login, role):
    assert login(world.a.staff[role]).get(reverse("parking:home")).status_code == 403


def test_the_home_page_shows_occupancy_and_the_fee_owed(world, login, lot):
    html = login(world.a.staff[Role.GUARD]).get(reverse("parking:home")).content.decode()

    assert "临停空余车位" in html and "2 / 2" in html
    assert PLATE in html and "9.00" in html


def test_the_booth_settles_a_fee_and_the_barrier_opens(world, login, lot):
    _entry, exit_, refused = lot
    guard = login(world.a.staff[Role.GUARD])

    page = guard.get(reverse("parking:booth"), {"point": exit_.pk}).content.decode()
    response = guard.post(
        reverse("parking:booth"),
        {"action": "settle", "session": refused.session_id, "channel": "cash", "point": exit_.pk},
    )

    assert "停车费未缴" in page and PLATE in page
    assert response.status_code == 302
    refused.session.refresh_from_db()
    assert refused.session.status == SessionStatus.PAID
    assert DeviceCommand.objects.filter(device=exit_.device, kind="open_door").count() == 1


def test_the_booth_releases_with_a_reason(world, login, lot):
    _entry, exit_, refused = lot
    guard = login(world.a.staff[Role.GUARD])

    empty = guard.post(
        reverse("parking:booth"), {"action": "release", "event": refused.pk, "point": exit_.pk, "reason": ""}
    )
    done = guard.post(
        reverse("parking:booth"),
        {"action": "release", "event": refused.pk, "point": exit_.pk, "reason": "消防车通行"},
        follow=True,
    )

    assert empty.status_code == 302
    refused.refresh_from_db()
    assert refused.release_reason == "消防车通行"
    assert "已人工抬杆放行" in done.content.decode()
    assert AuditEvent.objects.filter(object_type="access.accesspoint", reason="消防车通行").count() == 1


def test_a_manager_grants_a_permit_by_plate(world, login, lot):
    people_f.vehicle(owner=world.a.persons[0], plate="晋A66666")
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])

    done = admin.post(
        reverse("parking:permits"),
        {
            "action": "create",
            "plate": "晋a66666",
            "kind": "monthly",
            "valid_from": f"{timezone.localdate()}",
            "months": "1",
        },
        follow=True,
    )
    unknown = admin.post(
        reverse("parking:permits"),
        {"action": "create", "plate": "晋A00000", "kind": "monthly", "valid_from": f"{timezone.localdate()}"},
        follow=True,
    )

    assert Permit.objects.get().vehicle.plate == "晋A66666"
    assert "停车许可已办理" in done.content.decode()
    assert "本小区没有登记此车牌的住户车辆" in unknown.content.decode()


def test_a_manager_edits_the_rule_and_the_block_list(world, login, lot):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])

    admin.post(
        reverse("parking:fee_rule"),
        {
            "name": "2027 版",
            "first_period": "6",
            "daily_cap": "40",
            "night_start": "22:00",
            "night_end": "07:00",
        },
    )
    admin.post(reverse("parking:blocked"), {"action": "add", "plate": "晋A99999", "reason": "逃费"})

    rule = ParkingFeeRule.objects.get(active=True)
    assert (rule.name, rule.first_period_fen, rule.daily_cap_fen, f"{rule.night_start}") == (
        "2027 版",
        600,
        4000,
        "22:00:00",
    )
    assert BlockedPlate.objects.get().plate == "晋A99999"


def test_a_guard_cannot_edit_the_rule_or_waive(world, login, lot):
    _entry, _exit, refused = lot
    guard = login(world.a.staff[Role.GUARD])

    rule = guard.post(reverse("parking:fee_rule"), {"name": "x"}, follow=True)
    waive = guard.post(
        reverse("parking:sessions"), {"session": refused.session_id, "reason": "x"}, follow=True
    )

    assert "您没有执行此操作的权限" in rule.content.decode()
    assert "您没有执行此操作的权限" in waive.content.decode()
    assert ParkingFeeRule.objects.count() == 1
    refused.session.refresh_from_db()
    assert refused.session.status == SessionStatus.UNPAID


def test_the_events_page_audits_residents_vehicles(world, login, lot):
    entry, _exit, _refused = lot
    car = people_f.vehicle(owner=world.a.persons[0], plate="晋AD12345")
    f.permit(world.a, vehicle=car)
    f.enter(entry, "晋AD12345")

    html = login(world.a.staff[Role.GUARD]).get(reverse("parking:events")).content.decode()

    assert "晋AD12345" in html
    record = AuditEvent.objects.get(action="privacy.sensitive_read")
    assert record.subject_person_id == world.a.persons[0].pk
    assert record.detail == {"ids": [PlateEvent.objects.get(plate="晋AD12345").pk]}


def test_pages_of_another_estate_show_nothing_and_act_on_nothing(world, login, lot):
    _entry, _exit, refused = lot
    admin_b = login(world.b.staff[Role.PROPERTY_ADMIN])

    html = admin_b.get(reverse("parking:sessions"), {"estate": world.a.estate.pk}).content.decode()
    settle = admin_b.post(
        reverse("parking:booth"), {"action": "settle", "session": refused.session_id, "channel": "cash"}
    )

    assert PLATE not in html
    assert settle.status_code == 404
    refused.session.refresh_from_db()
    assert refused.session.status == SessionStatus.UNPAID
