"""Credentials: issuing cards, PINs and 一码通 identities, suspend / revoke / reactivate, a resident's
own QR code and credentials, the "request an alternative" path (R22), masking, audit, scope, and the
console page."""

from __future__ import annotations

import time

import pytest

from linli.access.credentials import keys, qr
from linli.access.credentials import services as credentials
from linli.access.models import Credential
from linli.core.models import AuditEvent
from linli.messaging.models import Message
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db
API = "/api/v1/access/credentials"
J = "application/json"


@pytest.fixture
def admin(world):
    return world.a.staff[Role.PROPERTY_ADMIN]


@pytest.fixture
def me(world):
    return world.a.persons[0]


def issue_card(world, person, number="12345678"):
    return credentials.credential_issue_card(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), person=person, number=number
    )


# --- issuing ---------------------------------------------------------------------------------------


def test_staff_issues_a_card_shown_masked(world, login, admin, me):
    c = login(admin)
    r = c.post(f"{API}/cards", {"person_id": me.pk, "number": "ab-cd-12-34", "label": "蓝卡"}, content_type=J)
    body = r.json()
    assert (r.status_code, body["kind"], body["number_masked"], body["status"], body["label"]) == (
        201,
        "card",
        "****1234",
        "active",
        "蓝卡",
    )
    row = Credential.objects.get(pk=body["id"])
    assert (row.number, row.number_hash, row.path) == (
        "ABCD1234",
        credentials.card_hash("ABCD1234"),
        world.a.estate.path,
    )
    listed = c.get(f"{API}?kind=card").json()
    assert [(i["id"], i["number_masked"]) for i in listed["items"]] == [(row.pk, "****1234")]
    assert "ABCD1234" not in r.content.decode() + c.get(API).content.decode()
    assert (
        AuditEvent.objects.filter(
            action="data.create", object_id=str(row.pk), subject_person_id=me.pk
        ).count()
        == 1
    )


@pytest.mark.parametrize("number", ["12", "XYZ12345", "1" * 21, "12 34 56 7G"])
def test_invalid_card_numbers(world, login, admin, me, number):
    r = login(admin).post(f"{API}/cards", {"person_id": me.pk, "number": number}, content_type=J)
    assert (r.status_code, list(r.json()["error"]["fields"])) == (400, ["number"])
    assert not Credential.objects.exists()


def test_duplicate_active_card_in_the_estate_is_a_conflict(world, login, admin, me):
    issue_card(world, me)
    r = login(admin).post(
        f"{API}/cards", {"person_id": world.a.persons[1].pk, "number": "12345678"}, content_type=J
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "card_in_use")
    # The same number in another estate is another card.
    b = credentials.credential_issue_card(
        actor=actor_for_user(world.b.staff[Role.PROPERTY_ADMIN]), person=world.b.persons[0], number="12345678"
    )
    assert b.status == "active"


def test_a_suspended_cards_number_can_be_reissued_but_not_both_reactivated(world, admin, me):
    actor = actor_for_user(admin)
    old = issue_card(world, me)
    credentials.credential_suspend(actor=actor, credential=old)
    new = issue_card(world, world.a.persons[1])
    with pytest.raises(credentials.Conflict):
        credentials.credential_reactivate(actor=actor, credential=old)
    assert (Credential.objects.get(pk=old.pk).status, new.status) == ("suspended", "active")


def test_pin_is_six_digits_shown_once_and_only_hashed(world, login, admin, me):
    c = login(admin)
    r = c.post(f"{API}/pins", {"person_id": me.pk}, content_type=J)
    body = r.json()
    pin = body["pin"]
    row = Credential.objects.get(pk=body["credential"]["id"])
    assert (r.status_code, len(pin), pin.isdigit(), body["credential"]["number_masked"]) == (
        201,
        6,
        True,
        "******",
    )
    assert (row.number, row.number_hash) == ("", credentials.pin_hash(world.a.estate.pk, pin))
    assert pin not in c.get(API).content.decode()
    assert not credentials._weak_pin(pin)


def test_pins_are_unique_among_the_estates_active_pins(world, admin, monkeypatch):
    actor = actor_for_user(admin)
    draws = iter([123456, 111111, 481516, 481516, 234623])
    monkeypatch.setattr(credentials.secrets, "randbelow", lambda n: next(draws))
    _a, first = credentials.credential_issue_pin(actor=actor, person=world.a.persons[0])
    _b, second = credentials.credential_issue_pin(actor=actor, person=world.a.persons[1])
    assert (first, second) == ("481516", "234623")


def test_only_residents_or_staff_of_the_estate_get_credentials(world, admin):
    from linli.people.tests import factories as people_f

    stranger = people_f.person(estate=world.a.estate)  # on record, no room
    with pytest.raises(credentials.ValidationFailed):
        credentials.credential_issue_card(actor=actor_for_user(admin), person=stranger, number="FFFF0001")


def test_guard_may_list_but_not_issue(world, login, me):
    issue_card(world, me)
    c = login(world.a.staff[Role.GUARD])
    assert c.get(API).json()["count"] == 1
    r = c.post(f"{API}/cards", {"person_id": me.pk, "number": "99990000"}, content_type=J)
    assert r.status_code == 403
    assert c.post(f"{API}/pins", {"person_id": me.pk}, content_type=J).status_code == 403


def test_reissuing_the_qr_identity_revokes_the_old_one(world, login, admin, me):
    old = credentials.qr_identity(me)
    r = login(admin).post(f"{API}/qr", {"person_id": me.pk}, content_type=J)
    old.refresh_from_db()
    assert (r.status_code, r.json()["kind"], old.status, old.revoked_reason) == (
        201,
        "qr",
        "revoked",
        "reissued",
    )
    assert Credential.objects.filter(person=me, kind="qr", status="active").count() == 1


def test_revoke_needs_a_reason_and_is_final(world, login, admin, me):
    card = issue_card(world, me)
    c = login(admin)
    assert c.post(f"{API}/{card.pk}/revoke", {"reason": ""}, content_type=J).status_code == 400
    r = c.post(f"{API}/{card.pk}/revoke", {"reason": "退卡"}, content_type=J)
    assert (r.status_code, r.json()["status"], r.json()["revoked_reason"]) == (200, "revoked", "退卡")
    assert c.post(f"{API}/{card.pk}/reactivate", content_type=J).status_code == 409
    assert c.post(f"{API}/{card.pk}/suspend", {}, content_type=J).status_code == 409
    assert AuditEvent.objects.filter(object_id=str(card.pk), reason="退卡").count() == 1


def test_suspend_and_reactivate(world, login, admin, me):
    card = issue_card(world, me)
    c = login(admin)
    r1 = c.post(f"{API}/{card.pk}/suspend", {"reason": "遗失"}, content_type=J)
    r2 = c.post(f"{API}/{card.pk}/reactivate", content_type=J)
    assert [(r1.status_code, r1.json()["status"]), (r2.status_code, r2.json()["status"])] == [
        (200, "suspended"),
        (200, "active"),
    ]


# --- residents -------------------------------------------------------------------------------------


def test_resident_gets_a_fresh_verifiable_qr_code(world, login, me):
    r = login(world.a.resident).get(f"{API}/me/qr")
    body = r.json()
    code = qr.verify(body["code"], keys.public_keys(world.a.estate.pk), time.time())
    token = Credential.objects.get(person=me, kind="qr", status="active").token
    assert (
        r.status_code,
        code.kind,
        code.subject,
        body["refresh_seconds"],
        code.expires_at - code.issued_at,
    ) == (
        200,
        "R",
        token,
        20,
        60,
    )
    again = login(world.a.resident).get(f"{API}/me/qr").json()
    assert qr.parse(again["code"]).subject == token
    assert qr.parse(again["code"]).nonce != code.nonce


def test_qr_code_settings_come_from_the_estate(world, me):
    from linli.access.models import AccessSettings

    AccessSettings.objects.create(estate=world.a.estate, qr_ttl_seconds=30, qr_refresh_seconds=10)
    text, expires_at, refresh = credentials.qr_code_for(actor=actor_for_user(world.a.resident))
    code = qr.parse(text)
    assert (code.expires_at - code.issued_at, refresh, int(expires_at.timestamp())) == (
        30,
        10,
        code.expires_at,
    )


def test_a_suspended_identity_is_not_silently_replaced(world, login, admin, me):
    credentials.credential_suspend(actor=actor_for_user(admin), credential=credentials.qr_identity(me))
    r = login(world.a.resident).get(f"{API}/me/qr")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "credential_inactive")


def test_moved_out_resident_gets_no_code(world, login, admin, me):
    from linli.people import services as people_services
    from linli.people.models import Occupancy

    occupancy = Occupancy.objects.get(person=me, end_date__isnull=True)
    people_services.occupancy_end(
        actor=actor_for_user(admin), occupancy=occupancy, end_date=occupancy.start_date
    )
    r = login(world.a.resident).get(f"{API}/me/qr")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "not_resident")


def test_staff_cannot_use_the_residents_qr_endpoint(world, login):
    assert login(world.a.staff[Role.PROPERTY_ADMIN]).get(f"{API}/me/qr").status_code == 403


def test_resident_sees_only_their_own_credentials(world, login, me):
    mine = issue_card(world, me, "11110000")
    theirs = issue_card(world, world.a.persons[1], "22220000")
    c = login(world.a.resident)
    r = c.get(f"{API}/me")
    assert [(i["id"], i["number_masked"]) for i in r.json()] == [(mine.pk, "****0000")]
    assert c.get(f"{API}/{mine.pk}").status_code == 200
    assert c.get(f"{API}/{theirs.pk}").status_code == 404
    assert c.get(API).status_code == 403
    assert c.post(f"{API}/{theirs.pk}/suspend", {}, content_type=J).status_code == 404


def test_resident_reports_their_own_card_lost_but_nothing_else(world, login, me):
    card = issue_card(world, me)
    identity = credentials.qr_identity(me)
    c = login(world.a.resident)
    r = c.post(f"{API}/{card.pk}/suspend", {"reason": "丢了"}, content_type=J)
    assert (r.status_code, r.json()["status"]) == (200, "suspended")
    assert c.post(f"{API}/{identity.pk}/suspend", {}, content_type=J).status_code == 403
    assert c.post(f"{API}/{card.pk}/reactivate", content_type=J).status_code == 403
    assert c.post(f"{API}/{card.pk}/revoke", {"reason": "x"}, content_type=J).status_code == 403
    assert c.post(f"{API}/cards", {"person_id": me.pk, "number": "ABCDEF"}, content_type=J).status_code == 403


def test_resident_requests_a_card_and_staff_fulfil_it(world, login, admin, me):
    c = login(world.a.resident)
    r = c.post(f"{API}/me/request", {"kind": "card", "note": "不使用人脸"}, content_type=J)
    again = c.post(f"{API}/me/request", {"kind": "card"}, content_type=J)
    req = r.json()["request"]
    assert (
        r.status_code,
        req["status"],
        req["status_label"],
        again.status_code,
        again.json()["request"]["id"],
    ) == (
        201,
        "requested",
        "待发放",
        200,
        req["id"],
    )
    note = Message.objects.get(user=admin)
    assert (note.category, note.link) == ("access_request", "/console/access/credentials/?status=requested")
    assert not Message.objects.filter(user=world.b.staff[Role.PROPERTY_ADMIN]).exists()
    s = login(admin)
    pending = s.get(f"{API}?status=requested").json()["items"]
    assert [(i["id"], i["person_id"], i["label"]) for i in pending] == [(req["id"], me.pk, "不使用人脸")]
    issued = s.post(
        f"{API}/cards", {"person_id": me.pk, "number": "0A0B0C0D", "request_id": req["id"]}, content_type=J
    )
    assert (issued.status_code, issued.json()["id"], issued.json()["status"]) == (201, req["id"], "active")
    assert c.get(f"{API}/me").json()[0]["status"] == "active"
    # A fulfilled request cannot be fulfilled twice.
    twice = s.post(f"{API}/pins", {"person_id": me.pk, "request_id": req["id"]}, content_type=J)
    assert twice.status_code == 409


def test_request_for_a_pin_fulfilled_with_a_pin(world, login, admin, me):
    req, _created = credentials.credential_request(actor=actor_for_user(world.a.resident), kind="pin")
    row, pin = credentials.credential_issue_pin(actor=actor_for_user(admin), person=me, request=req)
    assert (row.pk, row.status, row.number_hash) == (
        req.pk,
        "active",
        credentials.pin_hash(world.a.estate.pk, pin),
    )


def test_request_only_for_card_or_pin(world, login):
    r = login(world.a.resident).post(f"{API}/me/request", {"kind": "qr"}, content_type=J)
    assert r.status_code == 400


def test_staff_may_refuse_a_request(world, login, admin, me):
    req, _created = credentials.credential_request(actor=actor_for_user(world.a.resident), kind="card")
    r = login(admin).post(f"{API}/{req.pk}/revoke", {"reason": "已有门禁卡"}, content_type=J)
    assert (r.status_code, r.json()["status"]) == (200, "revoked")


# --- scope -----------------------------------------------------------------------------------------


def test_cross_scope_probe(world, login, me):
    card = issue_card(world, me)
    c = login(world.b.staff[Role.PROPERTY_ADMIN])
    assert c.get(API).json()["count"] == 0
    assert c.get(f"{API}?estate_id={world.a.estate.pk}").json()["count"] == 0
    assert c.get(f"{API}/{card.pk}").status_code == 404
    assert c.post(f"{API}/{card.pk}/suspend", {}, content_type=J).status_code == 404
    assert c.post(f"{API}/{card.pk}/revoke", {"reason": "x"}, content_type=J).status_code == 404
    assert c.post(f"{API}/{card.pk}/reactivate", content_type=J).status_code == 404
    assert (
        c.post(f"{API}/cards", {"person_id": me.pk, "number": "99998888"}, content_type=J).status_code == 404
    )
    assert c.post(f"{API}/pins", {"person_id": me.pk}, content_type=J).status_code == 404
    assert c.post(f"{API}/qr", {"person_id": me.pk}, content_type=J).status_code == 404
    card.refresh_from_db()
    assert (card.status, Credential.objects.filter(person=me).count()) == ("active", 1)
    assert (
        login(world.b.staff[Role.PROPERTY_ADMIN]).get(f"/console/access/credentials/{card.pk}/x/").status_code
        == 405
    )


def test_list_query_count_is_bounded(world, login, django_assert_max_num_queries):
    for i, p in enumerate(world.a.persons):
        issue_card(world, p, f"0000{i:04d}")
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    # session, user, memberships + scopes, session refresh (3); count and page: 2
    with django_assert_max_num_queries(10):
        assert c.get(API).json()["count"] == 4


# --- console ---------------------------------------------------------------------------------------


def test_console_list_and_filters(world, login, admin, me):
    issue_card(world, me, "5555AAAA")
    credentials.credential_request(actor=actor_for_user(world.a.resident), kind="pin")
    c = login(admin)
    page = c.get("/console/access/credentials/").content.decode()
    assert "****AAAA" in page and "5555AAAA" not in page and "待发放申请" in page
    filtered = c.get("/console/access/credentials/?kind=pin&status=requested").content.decode()
    assert me.name in filtered and "****AAAA" not in filtered


def test_console_issue_card_and_pin(world, login, admin, me):
    c = login(admin)
    r = c.post("/console/access/credentials/issue/", {"person": me.pk, "kind": "card", "number": "7777BBBB"})
    assert (r.status_code, r["Location"]) == (302, "/console/access/credentials/")
    r = c.post("/console/access/credentials/issue/", {"person": me.pk, "kind": "pin"})
    row = Credential.objects.get(person=me, kind="pin")
    page = r.content.decode()
    pin = page.split('data-testid="pin">')[1].split("<")[0]
    assert (r.status_code, row.number_hash) == (200, credentials.pin_hash(world.a.estate.pk, pin))
    assert "no-cache" in r["Cache-Control"] or "no-store" in r["Cache-Control"]
    bad = c.post("/console/access/credentials/issue/", {"person": me.pk, "kind": "card", "number": "12"})
    assert bad.status_code == 200 and "卡号应为" in bad.content.decode()


def test_console_search_and_suspend(world, login, admin, me):
    card = issue_card(world, me)
    c = login(admin)
    found = c.get(f"/console/access/credentials/issue/?q={me.name}").content.decode()
    assert f"?person={me.pk}" in found
    r = c.post(f"/console/access/credentials/{card.pk}/suspend/", {})
    card.refresh_from_db()
    assert (r.status_code, card.status) == (302, "suspended")


def test_console_cross_scope(world, login, me):
    card = issue_card(world, me)
    c = login(world.b.staff[Role.PROPERTY_ADMIN])
    assert me.name not in c.get("/console/access/credentials/").content.decode()
    assert c.post(f"/console/access/credentials/{card.pk}/suspend/", {}).status_code == 404
    assert c.get(f"/console/access/credentials/issue/?person={me.pk}").status_code == 404
    assert f"?person={me.pk}" not in c.get(f"/console/access/credentials/issue/?q={me.name}").content.decode()
    card.refresh_from_db()
    assert card.status == "active"


def test_console_guard_sees_the_list_but_cannot_issue(world, login, me):
    c = login(world.a.staff[Role.GUARD])
    assert c.get("/console/access/credentials/").status_code == 200
    assert c.get("/console/access/credentials/issue/").status_code == 403


def test_moving_out_revokes_every_credential(world, admin, me):
    card = issue_card(world, me)
    identity = credentials.qr_identity(me)
    credentials.credential_suspend(actor=actor_for_user(admin), credential=card)
    assert credentials.credentials_revoke_for_person(person=me) == 2
    statuses = sorted(Credential.objects.filter(person=me).values_list("kind", "status", "revoked_reason"))
    assert statuses == [("card", "revoked", "moved_out"), ("qr", "revoked", "moved_out")]
    assert identity.pk in {c.pk for c in Credential.objects.filter(person=me)}
