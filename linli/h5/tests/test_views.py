"""Resident H5: phone sign-in, the 我的家 page limited to the resident's own data, area boundaries."""

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from linli.core.pii import mask_name
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people import services as people


@pytest.fixture
def household(world):
    """persons[0] (the resident) owns rooms[1] and persons[3] joins that household as family;
    persons[1] also lives in rooms[1] but outside the household; persons[0] has a car."""
    staff = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    me, family, outsider = world.a.persons[0], world.a.persons[3], world.a.persons[1]
    people.occupancy_start(
        actor=staff, person=me, room=world.a.rooms[1], relation="owner", start_date=date(2021, 3, 1)
    )
    people.occupancy_start(
        actor=staff, person=family, room=world.a.rooms[1], relation="family", start_date=date(2021, 3, 1)
    )
    people.vehicle_add(actor=staff, owner=me, plate="晋A12345")
    people.vehicle_add(actor=staff, owner=family, plate="晋A54321")
    b_staff = actor_for_user(world.b.staff[Role.PROPERTY_ADMIN])
    people.vehicle_add(actor=b_staff, owner=world.b.persons[0], plate="晋B99999")
    return {"me": me, "family": family, "outsider": outsider}


def _sign_in(client: Client, phone: str, sms) -> None:
    with sms.sending():
        client.post(reverse("h5:login"), {"action": "send", "phone": phone})
    code = re.search(r"\d{6}", sms.outbox[-1].message).group(0)
    client.post(reverse("h5:login"), {"action": "verify", "code": code})


def test_resident_signs_in_with_phone_and_code(world, sms):
    client = Client()
    before = client.get(reverse("h5:login"))
    client.session.save()
    with sms.sending():
        sent = client.post(reverse("h5:login"), {"action": "send", "phone": world.a.persons[0].phone})
    code = re.search(r"\d{6}", sms.outbox[0].message).group(0)
    verified = client.post(reverse("h5:login"), {"action": "verify", "code": code})

    assert before.status_code == 200
    assert 'name="code"' in sent.content.decode()
    assert verified.status_code == 302
    assert verified["Location"] == reverse("h5:home")
    assert client.session["_auth_user_id"] == str(world.a.resident.pk)


def test_wrong_code_keeps_the_resident_out(world, sms):
    client = Client()
    with sms.sending():
        client.post(reverse("h5:login"), {"action": "send", "phone": world.a.persons[0].phone})
    code = re.search(r"\d{6}", sms.outbox[0].message).group(0)

    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = client.post(reverse("h5:login"), {"action": "verify", "code": wrong})

    assert response.status_code == 200
    assert "验证码错误或已失效" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unknown_phone_sees_the_same_page(world, sms):
    known = Client().post(reverse("h5:login"), {"action": "send", "phone": world.a.persons[0].phone})
    unknown = Client().post(reverse("h5:login"), {"action": "send", "phone": "13700000001"})

    def strip(html: str) -> str:
        html = re.sub(r'value="[^"]{32,}"', "", html)
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", re.sub(r"1\d{2}\*{4}\d{4}", "PHONE", html))

    assert known.status_code == unknown.status_code == 200
    assert strip(known.content.decode()) == strip(unknown.content.decode())


def test_home_shows_only_the_residents_own_data(world, household, login, django_assert_max_num_queries):
    client = login(world.a.resident)

    with django_assert_max_num_queries(14):
        response = client.get(reverse("h5:home"))

    html = response.content.decode()
    me, family, outsider = household["me"], household["family"], household["outsider"]
    assert response.status_code == 200
    assert me.name in html
    assert mask_name(family.name) in html
    assert family.name not in html
    assert outsider.name not in html and mask_name(outsider.name) not in html
    assert world.a.rooms[0].standard_address in html and world.a.rooms[1].standard_address in html
    assert world.a.rooms[2].standard_address not in html
    assert "晋A12345" in html
    assert "晋A54321" not in html and "晋B99999" not in html
    assert me.phone not in html and me.id_number not in html
    assert all(p.name not in html for p in world.b.persons)
    assert 'class="active">我的家' in html


def test_resident_without_a_person_sees_a_note(world, login):
    from linli.orgs.tests import factories as orgs_f

    lonely = orgs_f.user(kind="resident")

    response = login(lonely).get(reverse("h5:home"))

    assert "您的账号尚未关联住户信息" in response.content.decode()


def test_anonymous_is_sent_to_the_h5_login(db):
    response = Client().get(reverse("h5:home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("h5:login"))


def test_staff_are_sent_to_the_console(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    responses = [client.get(reverse("h5:home")), client.get(reverse("h5:login"))]

    assert [(r.status_code, r["Location"]) for r in responses] == [(302, reverse("console:home"))] * 2


def test_logout_is_post_only_and_clears_the_session(world, sms):
    client = Client()
    _sign_in(client, world.a.persons[0].phone, sms)
    old_cookie = client.cookies["sessionid"].value

    get = client.get(reverse("h5:logout"))
    post = client.post(reverse("h5:logout"))
    replay = Client()
    replay.cookies["sessionid"] = old_cookie

    assert get.status_code == 405
    assert post.status_code == 302
    assert post["Clear-Site-Data"] == '"cookies", "storage"'
    assert replay.get(reverse("h5:home"))["Location"].startswith(reverse("h5:login"))


@pytest.mark.django_db
def test_an_anonymous_visit_to_an_h5_page_signs_in_by_phone_and_returns_there(world, sms):
    client = Client()
    phone = world.a.persons[0].phone

    first = client.get("/h5/privacy/", follow=True)
    with sms.sending():
        client.post(reverse("h5:login"), {"action": "send", "phone": phone})
    code = re.search(r"\d{6}", sms.outbox[-1].message).group(0)
    verified = client.post(reverse("h5:login"), {"action": "verify", "code": code})

    assert first.redirect_chain[-1][0] == reverse("h5:login") + "?next=/h5/privacy/"
    assert verified.status_code == 302 and verified["Location"] == "/h5/privacy/"
