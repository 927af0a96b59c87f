"""Staff sign-in pages: lockout (R41), TOTP (R44), first-login password change (R39), sessions (R42)."""

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts import services
from linli.accounts.models import User
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.tests.factories import PASSWORD

LOGIN = "/accounts/login/"


def _post_login(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password, "step": "password"})


def _normalise(html: str, username: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    return html.replace(username, "USERNAME")


def _enable_totp(user: User) -> pyotp.TOTP:
    uri = services.totp_begin(user=user)
    totp = pyotp.parse_uri(uri)
    services.totp_confirm(user=user, code=totp.at(timezone.now() - timedelta(seconds=30)))
    user.refresh_from_db()
    return totp


def test_login_with_password_signs_in_and_audits(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    client = Client()

    response = _post_login(client, user.username, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("console:home")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(action=Action.LOGIN, actor_id=user.pk).count() == 1


def test_login_issues_a_new_session_id(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    client = Client()
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key

    _post_login(client, user.username, PASSWORD)

    assert client.session.session_key != before


def test_unknown_user_and_wrong_password_get_identical_answers(world):
    known = world.a.staff[Role.GUARD].username

    wrong = _post_login(Client(), known, "not-the-password")
    unknown = _post_login(Client(REMOTE_ADDR="10.0.0.2"), "nobody_here", "not-the-password")

    assert wrong.status_code == unknown.status_code == 200
    assert "用户名或密码错误，或账号已被临时锁定" in wrong.content.decode()
    assert _normalise(wrong.content.decode(), known) == _normalise(unknown.content.decode(), "nobody_here")


def test_five_failures_lock_the_account_even_for_the_right_password(world):
    user = world.a.staff[Role.GUARD]
    client = Client()
    for _ in range(5):
        _post_login(client, user.username, "wrong-password-1")

    response = _post_login(Client(REMOTE_ADDR="10.9.9.9"), user.username, PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session
    assert "用户名或密码错误，或账号已被临时锁定" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.LOCKOUT, reason="threshold").count() == 1
    assert AuditEvent.objects.filter(action=Action.LOCKOUT, reason="locked").count() == 1


def test_five_failures_lock_the_source_address_for_other_usernames(world):
    client = Client(REMOTE_ADDR="10.1.1.1")
    for i in range(5):
        _post_login(client, f"guess{i}", "wrong-password-1")
    other = world.a.staff[Role.TECHNICIAN]

    response = _post_login(client, other.username, PASSWORD)

    assert "_auth_user_id" not in response.client.session


def test_lock_expires_after_fifteen_minutes(world):
    user = world.a.staff[Role.GUARD]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(5):
            _post_login(Client(), user.username, "wrong-password-1")
        traveller.shift(timedelta(minutes=14, seconds=59))
        still_locked = _post_login(Client(), user.username, PASSWORD)
        traveller.shift(timedelta(minutes=16))
        unlocked = _post_login(Client(), user.username, PASSWORD)

    assert still_locked.status_code == 200
    assert unlocked.status_code == 302


def test_api_token_endpoint_applies_the_same_lockout(world):
    user = world.a.staff[Role.GUARD]
    client = Client()
    for _ in range(5):
        client.post(
            "/api/v1/auth/token",
            {"username": user.username, "password": "x"},
            content_type="application/json",
        )

    response = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_residents_cannot_use_the_staff_login(world):
    resident = world.a.resident

    response = _post_login(Client(), resident.username, PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session


def test_totp_user_must_enter_a_code_after_the_password(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    totp = _enable_totp(user)
    client = Client()

    first = _post_login(client, user.username, PASSWORD)
    second = client.post(LOGIN, {"step": "totp", "code": totp.now()})

    assert first.status_code == 200
    assert 'name="code"' in first.content.decode()
    assert second.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(action=Action.LOGIN, actor_id=user.pk).count() == 1


def test_wrong_totp_code_is_refused(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    totp = _enable_totp(user)
    client = Client()
    _post_login(client, user.username, PASSWORD)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"

    response = client.post(LOGIN, {"step": "totp", "code": wrong})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED, actor_id=user.pk, reason="totp").count() == 1


def test_totp_code_cannot_be_replayed(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    totp = _enable_totp(user)
    code = totp.now()
    services.totp_login(user=user, code=code, ip="10.0.0.1")

    with pytest.raises(services.Unauthenticated):
        services.totp_login(user=User.objects.get(pk=user.pk), code=code, ip="10.0.0.1")


def test_totp_accepts_one_step_of_clock_drift(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    totp = _enable_totp(user)
    previous_step = totp.at(timezone.now() + timedelta(seconds=30))

    result = services.totp_login(user=user, code=previous_step, ip="10.0.0.1")

    assert result == user


def test_api_token_needs_the_totp_code_once_enabled(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    totp = _enable_totp(user)
    client = Client()

    without = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    with_code = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD, "otp": totp.now()},
        content_type="application/json",
    )

    assert without.status_code == 401
    assert with_code.status_code == 200
    assert with_code.json()["token"].startswith("lnl_")


def test_must_change_password_forces_the_change_page_first(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    client = Client()

    login = _post_login(client, user.username, PASSWORD)
    elsewhere = client.get("/console/")
    new = "Blue-Lantern-42-River"
    changed = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password": new, "new_password2": new},
    )
    after = client.get("/console/")

    assert login["Location"] == reverse("accounts:password_change")
    assert elsewhere.status_code == 302
    assert elsewhere["Location"] == reverse("accounts:password_change")
    assert changed.status_code == 302
    assert after.status_code == 200
    user.refresh_from_db()
    assert user.must_change_password is False
    assert user.check_password("Blue-Lantern-42-River")
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGE, actor_id=user.pk).count() == 1


def test_password_change_applies_the_validators(world, login):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    client = login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password": "12345678", "new_password2": "12345678"},
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGE).count() == 0


def test_logout_is_post_only_and_the_old_cookie_is_dead(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    client = Client()
    _post_login(client, user.username, PASSWORD)
    old_cookie = client.cookies["sessionid"].value

    get = client.get(reverse("accounts:logout"))
    post = client.post(reverse("accounts:logout"))
    replay = Client()
    replay.cookies["sessionid"] = old_cookie
    page = replay.get("/console/")

    assert get.status_code == 405
    assert post.status_code == 302
    assert post["Clear-Site-Data"] == '"cookies", "storage"'
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:login"))
    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor_id=user.pk).count() == 1


def test_idle_staff_session_expires_after_fifteen_minutes(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = Client()
        _post_login(client, user.username, PASSWORD)
        client.get("/console/")
        traveller.shift(timedelta(minutes=14))
        active = client.get("/console/")
        traveller.shift(timedelta(minutes=15, seconds=1))
        idle = client.get("/console/")

    assert active.status_code == 200
    assert idle.status_code == 302
    assert idle["Location"].startswith(reverse("accounts:login"))
    assert AuditEvent.objects.filter(action=Action.SESSION_EXPIRED, actor_id=user.pk).count() == 1


def test_residents_are_sent_from_console_pages_to_h5(world, login):
    client = login(world.a.resident)

    urls = ("/console/", reverse("accounts:security"), reverse("accounts:tokens"), "/admin/")
    pages = [client.get(url) for url in urls]

    assert [(p.status_code, p["Location"]) for p in pages] == [(302, reverse("h5:home"))] * 4


def test_rotating_x_real_ip_does_not_escape_the_source_lockout(world):
    # Issue #12: the header was believed from anyone, so each guess could come "from" a new address.
    other = world.a.staff[Role.TECHNICIAN]
    for i in range(5):
        _post_login(Client(REMOTE_ADDR="203.0.113.9", HTTP_X_REAL_IP=f"10.7.0.{i}"), f"guess{i}", "wrong")

    response = _post_login(
        Client(REMOTE_ADDR="203.0.113.9", HTTP_X_REAL_IP="10.7.0.99"), other.username, PASSWORD
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session
    assert set(AuditEvent.objects.filter(action=Action.LOGIN_FAILED).values_list("ip", flat=True)) == {
        "203.0.113.9"
    }


def test_x_real_ip_from_a_trusted_proxy_is_the_source(world, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    user = world.a.staff[Role.PROPERTY_ADMIN]

    response = _post_login(
        Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="198.51.100.4"), user.username, PASSWORD
    )

    assert response.status_code == 302
    assert AuditEvent.objects.get(action=Action.LOGIN, actor_id=user.pk).ip == "198.51.100.4"
