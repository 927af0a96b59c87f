"""API tokens: create (raw value once), list (no secrets), revoke; revoked → 401; read-only → 403."""

import re

from django.test import Client
from django.urls import reverse

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
