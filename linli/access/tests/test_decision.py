"""The access decision: every deny reason, residents through every door of their building without a
face, staff, visitors and their entry count, stored events and a query budget for the hot path."""

from __future__ import annotations

import base64
import time
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from linli.access.credentials import keys, qr
from linli.access.credentials import services as credentials
from linli.access.gate import decision
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessPointKind,
    AccessPolicy,
    Audience,
    BiometricTemplate,
    CodeUse,
    VisitorKind,
    VisitorPass,
)
from linli.access.tests import factories as f
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people import services as people_services
from linli.people.models import Occupancy
from linli.people.tests import factories as people_f
from linli.places.tests import factories as places_f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_caches():
    decision.reset_caches()
    yield
    decision.reset_caches()


@pytest.fixture
def points(world):
    """Two estate gates and two doors of the resident's building; residents' policy in place."""
    estate, building = world.a.estate, world.a.building
    f.resident_policy(estate=estate)
    return {
        "gate": f.access_point(estate=estate, kind=AccessPointKind.ESTATE_GATE),
        "walk": f.access_point(estate=estate, kind=AccessPointKind.PEDESTRIAN_GATE),
        "unit": f.access_point(estate=estate, building=building, kind=AccessPointKind.UNIT_DOOR),
        "lift": f.access_point(estate=estate, building=building, kind=AccessPointKind.LIFT),
    }


@pytest.fixture
def admin(world):
    return actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])


@pytest.fixture
def me(world):
    return world.a.persons[0]


def my_code(world) -> str:
    return credentials.qr_code_for(actor=actor_for_user(world.a.resident))[0]


def decide(point, method, text, **kw) -> decision.Decision:
    return decision.decide(access_point=point, method=method, credential_text=text, **kw)


def signed(estate_id: int, token: str, *, issued: int | None = None, ttl: int = 60, kind: str = "R") -> str:
    now = int(time.time()) if issued is None else issued
    return keys.sign_for(estate_id, kind=kind, subject=token, issued_at=now, expires_at=now + ttl)


def tamper(text: str) -> str:
    prefix, kid, payload = text.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[-5] ^= 0x10
    return f"{prefix}.{kid}." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def outcome(d: decision.Decision) -> tuple[str, str]:
    return d.result, d.reason


# --- a resident without a face ----------------------------------------------------------------------


def test_resident_enters_every_point_of_their_building_and_the_gates_with_qr_card_and_pin(
    world, points, admin, me
):
    credentials.credential_issue_card(actor=admin, person=me, number="A1B2C3D4")
    _row, pin = credentials.credential_issue_pin(actor=admin, person=me)
    results = {}
    for name, point in points.items():
        results[(name, "qr")] = outcome(decide(point, "qr", my_code(world)))
        results[(name, "card")] = outcome(decide(point, "card", "a1b2c3d4"))
        results[(name, "pin")] = outcome(decide(point, "pin", pin))
    assert set(results.values()) == {("allow", "ok")}
    assert len(results) == 12
    assert not BiometricTemplate.objects.exists()
    assert all("face" not in p.allowed_methods for p in points.values())
    assert AccessEvent.objects.filter(person=me, result="allow", subject_kind="resident").count() == 12


def test_the_stored_event_records_the_decision(world, points, me):
    code = my_code(world)
    d = decide(points["unit"], "qr", code, direction="in")
    event = AccessEvent.objects.get(pk=d.event_id)
    cred = credentials.qr_identity(me)
    assert (
        event.result,
        event.reason,
        event.method,
        event.person_id,
        event.credential_id,
        event.subject_kind,
        event.source,
        event.access_point_id,
        event.estate_id,
        event.path,
        event.code_nonce,
    ) == (
        "allow",
        "ok",
        "qr",
        me.pk,
        cred.pk,
        "resident",
        "online",
        points["unit"].pk,
        world.a.estate.pk,
        world.a.building.path,
        qr.parse(code).nonce,
    )
    assert (d.person_id, d.credential_id, d.subject_kind) == (me.pk, cred.pk, "resident")


def test_another_buildings_door_is_not_allowed(world, points):
    other = f.access_point(estate=world.a.estate, building=places_f.building(estate=world.a.estate))
    assert outcome(decide(other, "qr", my_code(world))) == ("deny", "not_allowed")


def test_without_a_policy_nobody_passes(world):
    gate = f.access_point(estate=world.a.estate)
    assert outcome(decide(gate, "qr", my_code(world))) == ("deny", "not_allowed")


def test_outside_the_policy_window_is_not_allowed(world):
    now = timezone.localtime()
    start = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    f.resident_policy(estate=world.a.estate, start_time=start, end_time=end)
    gate = f.access_point(estate=world.a.estate)
    assert outcome(decide(gate, "qr", my_code(world))) == ("deny", "not_allowed")


# --- QR codes that must be refused -----------------------------------------------------------------


def test_forged_code(world, points):
    assert outcome(decide(points["gate"], "qr", tamper(my_code(world)))) == ("deny", "forged")


def test_expired_code(world, points, me):
    token = credentials.qr_identity(me).token
    old = signed(world.a.estate.pk, token, issued=int(time.time()) - 200, ttl=60)
    assert outcome(decide(points["gate"], "qr", old)) == ("deny", "expired")


def test_code_from_the_future(world, points, me):
    token = credentials.qr_identity(me).token
    later = signed(world.a.estate.pk, token, issued=int(time.time()) + 600)
    assert outcome(decide(points["gate"], "qr", later)) == ("deny", "not_yet_valid")


def test_replayed_at_the_same_point_but_valid_at_another(world, points):
    code = my_code(world)
    first = decide(points["gate"], "qr", code)
    again = decide(points["gate"], "qr", code)
    elsewhere = decide(points["unit"], "qr", code)
    assert [outcome(first), outcome(again), outcome(elsewhere)] == [
        ("allow", "ok"),
        ("deny", "replayed"),
        ("allow", "ok"),
    ]
    assert CodeUse.objects.filter(nonce=qr.parse(code).nonce).count() == 2


def test_revoked_and_suspended_identity(world, points, admin, me):
    code = my_code(world)
    cred = credentials.qr_identity(me)
    credentials.credential_suspend(actor=admin, credential=cred, reason="手机丢失")
    suspended = decide(points["gate"], "qr", code)
    credentials.credential_reactivate(actor=admin, credential=cred)
    back = decide(points["walk"], "qr", code)
    credentials.credential_revoke(actor=admin, credential=cred, reason="注销")
    revoked = decide(points["unit"], "qr", code)
    assert [outcome(suspended), outcome(back), outcome(revoked)] == [
        ("deny", "revoked"),
        ("allow", "ok"),
        ("deny", "revoked"),
    ]


def test_reissued_identity_invalidates_the_old_codes(world, points, admin, me):
    old_code = my_code(world)
    credentials.credential_issue_qr(actor=admin, person=me)
    assert outcome(decide(points["gate"], "qr", old_code)) == ("deny", "revoked")
    assert outcome(decide(points["gate"], "qr", my_code(world))) == ("allow", "ok")


def test_moved_out_resident(world, points, admin, me):
    code = my_code(world)
    occupancy = Occupancy.objects.get(person=me, end_date__isnull=True)
    people_services.occupancy_end(actor=admin, occupancy=occupancy, end_date=date.today())
    # Moving out revokes the person's credentials at once (people's move-out signal) ...
    assert outcome(decide(points["gate"], "qr", code)) == ("deny", "revoked")
    assert set(me.access_credentials.values_list("status", "revoked_reason")) == {("revoked", "moved_out")}


def test_a_resident_whose_occupancy_ended_without_the_move_out_flow_is_refused(world, points, me):
    code = my_code(world)
    # ... and an occupancy ended by an import or in the past is caught by the decision itself.
    Occupancy.objects.filter(person=me, end_date__isnull=True).update(
        end_date=date.today() - timedelta(days=1)
    )
    assert outcome(decide(points["gate"], "qr", code)) == ("deny", "moved_out")


def test_unknown_key(world, points, me):
    token = credentials.qr_identity(me).token
    now = int(time.time())
    stray = qr.sign(
        kid="deadbeef",
        key=Ed25519PrivateKey.generate(),
        kind="R",
        subject=token,
        issued_at=now,
        expires_at=now + 60,
    )
    assert outcome(decide(points["gate"], "qr", stray)) == ("deny", "unknown_key")


def test_another_estates_key_is_unknown_here(world, points, me):
    token = credentials.qr_identity(me).token
    code = signed(world.b.estate.pk, token)
    assert outcome(decide(points["gate"], "qr", code)) == ("deny", "unknown_key")


def test_another_estates_credential_is_unknown_here(world, points):
    b_person = world.b.persons[1]
    token = credentials.qr_identity(b_person).token
    code = signed(world.a.estate.pk, token)
    assert outcome(decide(points["gate"], "qr", code)) == ("deny", "unknown_credential")


def test_a_token_nobody_holds(world, points):
    code = signed(world.a.estate.pk, qr.new_subject_token())
    assert outcome(decide(points["gate"], "qr", code)) == ("deny", "unknown_credential")


@pytest.mark.parametrize("text", ["", "hello", "LL1.x.y", "x" * 500])
def test_malformed_code(world, points, text):
    assert outcome(decide(points["gate"], "qr", text)) == ("deny", "malformed")


def test_method_not_allowed_at_the_point(world, points):
    cards_only = f.access_point(estate=world.a.estate, methods=["card", "staff"])
    assert outcome(decide(cards_only, "qr", my_code(world))) == ("deny", "method_not_allowed")
    assert outcome(decide(points["gate"], "face", "x")) == ("deny", "method_not_allowed")


def test_disabled_point(world, points):
    gate = points["gate"]
    AccessPoint.objects.filter(pk=gate.pk).update(status=AccessPoint.Status.DISABLED)
    gate.refresh_from_db()
    assert outcome(decide(gate, "qr", my_code(world))) == ("deny", "point_disabled")


def test_every_refusal_is_stored(world, points):
    decide(points["gate"], "qr", "garbage")
    decide(points["gate"], "card", "12")
    event = AccessEvent.objects.order_by("pk").first()
    assert (event.result, event.reason, event.person_id, event.code_nonce) == ("deny", "malformed", None, "")
    assert AccessEvent.objects.filter(result="deny").count() == 2


# --- cards and PINs --------------------------------------------------------------------------------


def test_card_lookups(world, points, admin, me):
    credentials.credential_issue_card(actor=admin, person=me, number="00112233")
    results = [
        outcome(decide(points["gate"], "card", "00:11:22:33")),
        outcome(decide(points["gate"], "card", "99999999")),
        outcome(decide(points["gate"], "card", "not a card")),
    ]
    assert results == [("allow", "ok"), ("deny", "unknown_credential"), ("deny", "malformed")]


def test_lost_card(world, points, admin, me):
    card = credentials.credential_issue_card(actor=admin, person=me, number="00112233")
    credentials.credential_suspend(actor=actor_for_user(world.a.resident), credential=card)
    assert outcome(decide(points["gate"], "card", "00112233")) == ("deny", "revoked")


def test_card_of_another_estate_is_unknown(world, points):
    b_admin = actor_for_user(world.b.staff[Role.PROPERTY_ADMIN])
    credentials.credential_issue_card(actor=b_admin, person=world.b.persons[0], number="CAFE0001")
    assert outcome(decide(points["gate"], "card", "CAFE0001")) == ("deny", "unknown_credential")


def test_card_outside_its_validity(world, points, admin, me):
    card = credentials.credential_issue_card(
        actor=admin, person=me, number="ABCD", valid_until=timezone.now() + timedelta(hours=1)
    )
    later = timezone.now() + timedelta(hours=2)
    assert outcome(decide(points["gate"], "card", "ABCD", at=later)) == ("deny", "outside_window")
    assert card.valid_until is not None


def test_pin_lookups(world, points, admin, me):
    _row, pin = credentials.credential_issue_pin(actor=admin, person=me)
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    results = [
        outcome(decide(points["unit"], "pin", pin)),
        outcome(decide(points["unit"], "pin", wrong)),
        outcome(decide(points["unit"], "pin", "12ab56")),
    ]
    assert results == [("allow", "ok"), ("deny", "unknown_credential"), ("deny", "malformed")]


def test_pin_is_per_estate(world, admin, me):
    f.resident_policy(estate=world.b.estate)
    b_gate = f.access_point(estate=world.b.estate)
    _row, pin = credentials.credential_issue_pin(actor=admin, person=me)
    assert outcome(decide(b_gate, "pin", pin)) == ("deny", "unknown_credential")


# --- staff -----------------------------------------------------------------------------------------


@pytest.fixture
def guard_person(world):
    """A guard of estate a who is also a person on record (no occupancy) with a card."""
    guard = world.a.staff[Role.GUARD]
    person = people_f.person(estate=world.a.estate, user=guard)
    credentials.credential_issue_card(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), person=person, number="6666AAAA"
    )
    return person


def test_staff_pass_under_staff_policies(world, points, guard_person):
    denied = decide(points["unit"], "card", "6666AAAA")
    AccessPolicy.objects.create(
        estate=world.a.estate,
        name="保安",
        audience=Audience.STAFF,
        roles=[Role.GUARD],
        own_building_only=False,
    )
    allowed = decide(points["unit"], "card", "6666AAAA")
    assert [outcome(denied), outcome(allowed), allowed.subject_kind] == [
        ("deny", "not_allowed"),
        ("allow", "ok"),
        "staff",
    ]


def test_staff_who_left_is_moved_out(world, points, guard_person):
    from linli.orgs.models import Membership

    Membership.objects.filter(user=world.a.staff[Role.GUARD]).update(is_active=False)
    assert outcome(decide(points["unit"], "card", "6666AAAA")) == ("deny", "moved_out")


# --- visitors --------------------------------------------------------------------------------------


@pytest.fixture
def visit(world, points):
    f.visitor_policy(estate=world.a.estate)
    return f.visitor_pass(
        estate=world.a.estate, host_person=world.a.persons[0], host_room=world.a.rooms[0], max_entries=2
    )


def visitor_code(world, vp) -> str:
    return signed(world.a.estate.pk, vp.token, kind="V")


def test_visitor_entries_are_counted_and_exit_stays_possible(world, points, visit):
    first = decide(points["gate"], "qr", visitor_code(world, visit), direction="in")
    second = decide(points["unit"], "qr", visitor_code(world, visit), direction="in")
    visit.refresh_from_db()
    used = (visit.entries_used, visit.status)
    third = decide(points["walk"], "qr", visitor_code(world, visit), direction="in")
    leaving = decide(points["gate"], "qr", visitor_code(world, visit), direction="out")
    assert [outcome(first), outcome(second), used, outcome(third), outcome(leaving)] == [
        ("allow", "ok"),
        ("allow", "ok"),
        (2, "used_up"),
        ("deny", "used_up"),
        ("allow", "ok"),
    ]
    assert (first.subject_kind, first.visitor_pass_id, first.person_id) == ("visitor", visit.pk, None)


def test_visitor_only_at_the_hosts_building_and_estate_gates(world, points, visit):
    other = f.access_point(estate=world.a.estate, building=places_f.building(estate=world.a.estate))
    assert outcome(decide(other, "qr", visitor_code(world, visit))) == ("deny", "not_allowed")
    visit.refresh_from_db()
    assert visit.entries_used == 0


def test_visitor_outside_the_pass_window(world, points):
    f.visitor_policy(estate=world.a.estate)
    now = timezone.now()
    later = f.visitor_pass(
        estate=world.a.estate,
        host_room=world.a.rooms[0],
        valid_from=now + timedelta(hours=1),
        valid_until=now + timedelta(hours=3),
    )
    assert outcome(decide(points["gate"], "qr", visitor_code(world, later))) == ("deny", "outside_window")


def test_revoked_visitor_pass(world, points, visit):
    VisitorPass.objects.filter(pk=visit.pk).update(status="revoked")
    assert outcome(decide(points["gate"], "qr", visitor_code(world, visit))) == ("deny", "revoked")


def test_delivery_pass_follows_service_policies_when_the_estate_has_them(world, points):
    f.visitor_policy(estate=world.a.estate)
    courier = f.visitor_pass(estate=world.a.estate, host_room=world.a.rooms[0], kind=VisitorKind.DELIVERY)
    as_visitor = decide(points["gate"], "qr", visitor_code(world, courier), direction="out")
    service = AccessPolicy.objects.create(estate=world.a.estate, name="快递", audience=Audience.SERVICE)
    service.access_points.set([points["walk"]])
    at_gate = decide(points["gate"], "qr", visitor_code(world, courier), direction="out")
    at_walk = decide(points["walk"], "qr", visitor_code(world, courier), direction="out")
    assert [outcome(as_visitor), outcome(at_gate), outcome(at_walk)] == [
        ("allow", "ok"),
        ("deny", "not_allowed"),
        ("allow", "ok"),
    ]


# --- idempotency and the hot path ------------------------------------------------------------------


def test_device_sequence_makes_a_decision_idempotent(world, points):
    from linli.devices.tests import factories as devices_f

    device, _secret = devices_f.device(world.a, profile="generic")
    code = my_code(world)
    first = decide(points["gate"], "qr", code, device=device, device_seq=7, source="offline")
    again = decide(points["gate"], "qr", code, device=device, device_seq=7, source="offline")
    assert (first, AccessEvent.objects.filter(device=device).count()) == (again, 1)


def test_qr_decision_query_budget(world, points, django_assert_max_num_queries, monkeypatch):
    code = my_code(world)
    decision._public_key(qr.parse(code).kid)  # warm the key cache as a running server has it
    monkeypatch.setattr(decision, "_hook", [None])  # anomaly rules have their own budget
    # credential with its holder's occupancies, policies; nonce; event; the test's savepoint pair
    with django_assert_max_num_queries(6):
        d = decide(points["gate"], "qr", code)
    assert outcome(d) == ("allow", "ok")


def test_anomaly_rules_see_every_stored_event(world, points, monkeypatch):
    seen = []
    monkeypatch.setattr(decision, "_hook", [seen.append])
    d = decide(points["gate"], "qr", my_code(world))
    assert [e.pk for e in seen] == [d.event_id]


def test_failing_anomaly_rules_do_not_change_the_answer(world, points, monkeypatch):
    def boom(event):
        raise RuntimeError("rule bug")

    monkeypatch.setattr(decision, "_hook", [boom])
    assert outcome(decide(points["gate"], "qr", my_code(world))) == ("allow", "ok")
