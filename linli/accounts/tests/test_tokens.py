"""API tokens: create (raw value once), list (no secrets), revoke; revoked → 401; read-only → 403."""

import re
from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts import services
from linli.accounts.models import ApiToken
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

TOKENS = "/api/v1/auth/tokens"


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_create_list_revoke_through_the_api(world, login, django_assert_max_num_queries):
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    client = login(admin)

    created = client.post(TOKENS, {"name": "门禁对接", "scope": "read"}, content_type="application/json")
    raw = created.json()["token"]
    with django_assert_max_num_queries(8):
        listed = client.get(TOKENS)
    revoked = client.delete(f"{TOKENS}/{created.json()['id']}")
    after = Client().get(TOKENS, **_bearer(raw))

    assert created.status_code == 201
    assert raw.startswith("lnl_")
    assert created.json()["scope"] == "read"
    assert listed.json()["count"] == 1
    assert set(listed.json()["items"][0]) == {
        "id",
        "name",
        "prefix",
        "scope",
        "kind",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    }
    assert raw not in listed.content.decode()
    assert revoked.status_code == 204
    assert after.status_code == 401
    assert AuditEvent.objects.filter(action=Action.TOKEN_REVOKE, actor_id=admin.pk).count() == 1


def test_create_needs_the_tokens_permission(world, login):
    client = login(world.a.staff[Role.GUARD])

    response = client.post(TOKENS, {"name": "x", "scope": "write"}, content_type="application/json")

    assert response.status_code == 403
    assert ApiToken.objects.count() == 0


def test_read_only_token_is_refused_on_writes(world):
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    _token, raw = services.token_issue(user=admin, name="ro", scope="read")

    read = Client().get(TOKENS, **_bearer(raw))
    write = Client().post(
        TOKENS, {"name": "escalate", "scope": "write"}, content_type="application/json", **_bearer(raw)
    )
    delete = Client().delete(f"{TOKENS}/{_token.pk}", **_bearer(raw))

    assert read.status_code == 200
    assert write.status_code == 403
    assert delete.status_code == 403
    assert ApiToken.objects.filter(user=admin).count() == 1
    assert ApiToken.objects.get().revoked_at is None


def test_token_authenticate_refuses_unsafe_methods_for_read_only_tokens(world):
    _token, raw = services.token_issue(user=world.a.staff[Role.PROPERTY_ADMIN], scope="read")

    assert services.token_authenticate(raw=raw, method="GET").read_only is True
    try:
        services.token_authenticate(raw=raw, method="POST")
    except services.PermissionDenied as exc:
        assert exc.status == 403
    else:
        raise AssertionError("read-only token accepted for POST")


def test_cannot_revoke_someone_elses_token(world, login):
    other, _raw = services.token_issue(user=world.b.staff[Role.PROPERTY_ADMIN], name="b")
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.delete(f"{TOKENS}/{other.pk}")

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_list_shows_only_own_tokens(world, login):
    services.token_issue(user=world.b.staff[Role.PROPERTY_ADMIN], name="b-token")
    services.token_issue(user=world.a.staff[Role.PROPERTY_ADMIN], name="a-token")

    listed = login(world.a.staff[Role.PROPERTY_ADMIN]).get(TOKENS).json()

    assert [t["name"] for t in listed["items"]] == ["a-token"]


def test_expired_token_is_401(world):
    from datetime import timedelta

    _token, raw = services.token_issue(user=world.a.staff[Role.PROPERTY_ADMIN], ttl=timedelta(seconds=-1))

    assert Client().get(TOKENS, **_bearer(raw)).status_code == 401


def test_token_page_creates_shows_raw_once_and_revokes(world, login):
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    client = login(admin)

    created = client.post(reverse("accounts:tokens"), {"action": "create", "name": "报表", "scope": "read"})
    token = ApiToken.objects.get(user=admin)
    listed = client.get(reverse("accounts:tokens"))
    revoked = client.post(reverse("accounts:tokens"), {"action": "revoke", "token_id": token.pk})

    raw = re.search(r"lnl_[\w-]+", created.content.decode()).group(0)
    assert services.token_authenticate(raw=raw) is None  # revoked now
    assert token.prefix in listed.content.decode()
    assert raw not in listed.content.decode()
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert actor_for_user(admin).has("tokens.manage")


def test_password_token_is_refused_until_the_initial_password_is_changed(world):
    from linli.orgs.tests.factories import PASSWORD

    user = world.a.staff[Role.PROPERTY_ADMIN]
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])

    response = Client().post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_change_required"
    assert ApiToken.objects.count() == 0


def test_token_page_marks_expired_tokens(world, login):
    from datetime import timedelta

    admin = world.a.staff[Role.PROPERTY_ADMIN]
    services.token_issue(user=admin, name="old", ttl=timedelta(seconds=-1))

    page = login(admin).get(reverse("accounts:tokens")).content.decode()

    assert "已过期" in page


# ---------------------------------------------------------------------------------------------------
# Sign-in tokens live like sessions (R42, issue #12)

LOGIN = "/api/v1/auth/token"


def _sign_in(user, name: str = "api") -> str:
    from linli.orgs.tests.factories import PASSWORD

    response = Client().post(
        LOGIN,
        {"username": user.username, "password": PASSWORD, "name": name},
        content_type="application/json",
    )
    assert response.status_code == 200
    return response.json()["token"]


def test_login_token_is_401_after_the_absolute_lifetime_even_when_used(world, settings):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        raw = _sign_in(user)
        for _ in range(12 * 6 - 1):  # used every 10 minutes, so never idle
            traveller.shift(timedelta(minutes=10))
            assert services.token_authenticate(raw=raw) is not None
        traveller.shift(timedelta(minutes=10))  # 12 h after sign-in
        expired = Client().get(TOKENS, **_bearer(raw))

    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "unauthenticated"


def test_login_token_is_401_after_fifteen_idle_minutes(world, settings):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        raw = _sign_in(user)
        traveller.shift(timedelta(minutes=14))
        used = Client().get(TOKENS, **_bearer(raw))
        traveller.shift(timedelta(minutes=15, seconds=1))
        idle = Client().get(TOKENS, **_bearer(raw))

    assert settings.SESSION_IDLE_SECONDS == 15 * 60
    assert used.status_code == 200
    assert idle.status_code == 401


def test_a_token_issued_before_expiries_existed_still_ends_with_the_absolute_lifetime(world):
    # given a token from before this fix: sign-in kind (the migration default), no expiry, used recently
    user = world.a.staff[Role.PROPERTY_ADMIN]
    token, raw = services.token_issue(user=user)
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=None, created_at=timezone.now() - timedelta(hours=13), last_used_at=timezone.now()
    )

    assert Client().get(TOKENS, **_bearer(raw)).status_code == 401


def test_signing_in_twice_leaves_one_live_login_token(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]

    first = _sign_in(user)
    second = _sign_in(user)

    assert Client().get(TOKENS, **_bearer(first)).status_code == 401
    assert Client().get(TOKENS, **_bearer(second)).status_code == 200
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_sign_ins_from_many_clients_keep_at_most_three_live_tokens(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]

    raws = [_sign_in(user, name=f"client-{i}") for i in range(5)]

    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    assert sorted(live.values_list("name", flat=True)) == ["client-2", "client-3", "client-4"]
    assert [Client().get(TOKENS, **_bearer(raw)).status_code for raw in raws] == [401, 401, 200, 200, 200]


def test_password_change_makes_every_old_token_401(world):
    from linli.orgs.tests.factories import PASSWORD

    user = world.a.staff[Role.PROPERTY_ADMIN]
    login_raw = _sign_in(user)
    _integration, integration_raw = services.token_create(
        actor=actor_for_user(user), name="门禁对接", scope="read", expires_in_days=30
    )

    services.password_change(user=user, old_password=PASSWORD, new_password="Another-long-pass-2026")

    assert Client().get(TOKENS, **_bearer(login_raw)).status_code == 401
    assert Client().get(TOKENS, **_bearer(integration_raw)).status_code == 401
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0
    assert AuditEvent.objects.get(action=Action.PASSWORD_CHANGE, actor_id=user.pk).detail == {
        "tokens_revoked": 2
    }


def test_integration_token_lives_until_the_expiry_its_creator_set(world, login):
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        created = login(admin).post(
            TOKENS,
            {"name": "报表对接", "scope": "read", "expires_in_days": 30},
            content_type="application/json",
        )
        raw = created.json()["token"]
        traveller.shift(timedelta(days=2))  # idle for two days, and the admin signs in again
        _sign_in(admin)
        later = Client().get(TOKENS, **_bearer(raw))
        traveller.shift(timedelta(days=28))
        expired = Client().get(TOKENS, **_bearer(raw))

    assert created.status_code == 201
    assert created.json()["kind"] == "integration"
    assert later.status_code == 200
    assert expired.status_code == 401


def test_integration_token_expiry_is_bounded(world, login):
    response = login(world.a.staff[Role.PROPERTY_ADMIN]).post(
        TOKENS, {"name": "永久", "scope": "read", "expires_in_days": 3650}, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["expires_in_days"]
    assert ApiToken.objects.count() == 0


def test_a_password_set_outside_the_service_also_ends_the_tokens(world):
    # given a token, then the password reset the way Django admin and "manage.py changepassword" do it
    user = world.a.staff[Role.PROPERTY_ADMIN]
    raw = _sign_in(user)

    user.set_password("Reset-by-an-admin-2026")
    user.save(update_fields=["password"])

    assert Client().get(TOKENS, **_bearer(raw)).status_code == 401


def test_a_deactivated_users_token_is_401(world):
    user = world.a.staff[Role.PROPERTY_ADMIN]
    raw = _sign_in(user)

    user.is_active = False
    user.save(update_fields=["is_active"])

    assert Client().get(TOKENS, **_bearer(raw)).status_code == 401
