"""Security page: TOTP enrolment with an inline QR code, disabling, recent sign-ins."""

from datetime import timedelta

import pyotp
from django.urls import reverse
from django.utils import timezone

from linli.accounts import services
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.tests.factories import PASSWORD


def test_enable_totp_shows_uri_and_inline_svg_then_confirms(world, login):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    client = login(user)

    begin = client.post(reverse("accounts:totp_setup"), {"action": "begin"})
    user.refresh_from_db()
    totp = pyotp.TOTP(user.totp_secret)
    confirm = client.post(reverse("accounts:totp_setup"), {"action": "confirm", "code": totp.now()})

    html = begin.content.decode()
    assert begin.status_code == 200
    assert "otpauth://totp/Linli:" in html
    assert "<svg" in html and "<path" in html
    assert "http://" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org", "")
    assert "no-store" in begin["Cache-Control"]
    assert confirm.status_code == 302
    user.refresh_from_db()
    assert user.totp_confirmed is True
    assert AuditEvent.objects.filter(action=Action.TOTP_ENABLE, actor_id=user.pk).count() == 1


def test_confirm_with_a_wrong_code_keeps_totp_off(world, login):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    client = login(user)
    client.post(reverse("accounts:totp_setup"), {"action": "begin"})
    user.refresh_from_db()
    wrong = f"{(int(pyotp.TOTP(user.totp_secret).now()) + 3) % 1_000_000:06d}"

    response = client.post(reverse("accounts:totp_setup"), {"action": "confirm", "code": wrong})

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.totp_confirmed is False
    assert AuditEvent.objects.filter(action=Action.TOTP_ENABLE).count() == 0


def test_disable_totp_needs_a_valid_code(world, login):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    totp = pyotp.parse_uri(services.totp_begin(user=user))
    services.totp_confirm(user=user, code=totp.at(timezone.now() - timedelta(seconds=30)))
    client = login(user)

    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    refused = client.post(reverse("accounts:security"), {"action": "totp_disable", "code": wrong})
    accepted = client.post(reverse("accounts:security"), {"action": "totp_disable", "code": totp.now()})

    assert refused.status_code == 200
    assert accepted.status_code == 302
    user.refresh_from_db()
    assert (user.totp_confirmed, user.totp_secret) == (False, "")
    assert AuditEvent.objects.filter(action=Action.TOTP_DISABLE, actor_id=user.pk).count() == 1


def test_security_page_lists_own_recent_logins_only(world):
    from django.test import Client

    user = world.a.staff[Role.PROPERTY_ADMIN]
    other = world.b.staff[Role.PROPERTY_ADMIN]
    Client(REMOTE_ADDR="10.7.7.7").post(
        "/accounts/login/", {"username": other.username, "password": PASSWORD}
    )
    client = Client(REMOTE_ADDR="10.3.3.3")
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})

    page = client.get(reverse("accounts:security")).content.decode()

    assert "10.3.3.3" in page
    assert "10.7.7.7" not in page
