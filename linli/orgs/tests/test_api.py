"""Organisations API: permission matrix, separation of duties (R46), cross-scope probe, account
lifecycle (R39, R42)."""

import pytest
from django.test import Client

from linli.accounts import services as accounts
from linli.accounts.models import ApiToken, User
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs import services
from linli.orgs.models import Membership, OrgKind
from linli.orgs.roles import Perm, Role
from linli.orgs.selectors import actor_for_user
from linli.orgs.tests import factories as orgs_f
from linli.orgs.tests.factories import PASSWORD

ORGS = "/api/v1/orgs/organizations"
MEMBERSHIPS = "/api/v1/orgs/memberships"
USERS = "/api/v1/orgs/users"
VIEWERS = {Role.PROPERTY_ADMIN, Role.COMMUNITY_WORKER, Role.SUBDISTRICT_OFFICER}
ALL_ESTATE_ROLES = [
    Role.PROPERTY_ADMIN,
    Role.CUSTOMER_SERVICE,
    Role.TECHNICIAN,
    Role.GUARD,
    Role.COMMUNITY_WORKER,
    Role.SUBDISTRICT_OFFICER,
    Role.POLICE_OFFICER,
    Role.SERVICE_PROVIDER,
]


def _json(client: Client, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(url, body or {}, content_type="application/json")


def _grant_body(world, orgs, target, role) -> dict:
    return {
        "user_id": target.pk,
        "organization_id": orgs["a"].pk,
        "role": role,
        "scope_ids": [world.a.estate.pk],
    }


@pytest.fixture
def orgs(world):
    """A property company serving each estate, and a sub-district office over the common street."""
    street = world.a.estate.parent.parent
    return {
        "a": orgs_f.organization(name="甲物业", regions=[world.a.estate]),
        "b": orgs_f.organization(name="乙物业", regions=[world.b.estate]),
        "street": orgs_f.organization(kind=OrgKind.SUBDISTRICT_OFFICE, name="坞城街道办", regions=[street]),
        "platform": Membership.objects.get(user=world.platform_admin).organization,
    }


@pytest.mark.parametrize("role", ALL_ESTATE_ROLES)
def test_organization_list_needs_orgs_view(world, orgs, login, role):
    response = login(world.a.staff[role]).get(ORGS)

    assert response.status_code == (200 if role in VIEWERS else 403)


@pytest.mark.parametrize("role", ALL_ESTATE_ROLES)
def test_estate_staff_cannot_change_roles_or_accounts(world, orgs, login, role):
    client = login(world.a.staff[role])
    target = world.a.staff[Role.GUARD]

    grant = _json(client, "post", MEMBERSHIPS, _grant_body(world, orgs, target, Role.PROPERTY_ADMIN))
    create = _json(client, "post", USERS, {"username": "new.staff"})
    disable = _json(client, "post", f"{USERS}/{target.pk}/disable")

    assert (grant.status_code, create.status_code, disable.status_code) == (403, 403, 403)
    assert not Membership.objects.filter(user=target, role=Role.PROPERTY_ADMIN).exists()
    assert not User.objects.filter(username="new.staff").exists()
    assert User.objects.get(pk=target.pk).is_active is True


def test_resident_gets_403_on_orgs(world, login):
    response = login(world.a.resident).get("/api/v1/orgs/memberships")

    assert response.status_code == 403


def test_audit_admin_cannot_change_memberships_or_accounts(world, orgs, login):
    client = login(world.audit_admin)
    target = world.a.staff[Role.GUARD]
    membership = Membership.objects.get(user=target)

    grant = _json(client, "post", MEMBERSHIPS, _grant_body(world, orgs, target, Role.PROPERTY_ADMIN))
    revoke = client.delete(f"{MEMBERSHIPS}/{membership.pk}")
    create = _json(client, "post", USERS, {"username": "new.staff"})
    disable = _json(client, "post", f"{USERS}/{target.pk}/disable")

    assert [r.status_code for r in (grant, revoke, create, disable)] == [403, 403, 403, 403]
    assert Membership.objects.get(pk=membership.pk).is_active is True
    assert AuditEvent.objects.filter(action=Action.PERMISSION_CHANGE).count() == 0


def test_platform_admin_cannot_read_the_audit_log(world, login):
    platform = login(world.platform_admin).get("/api/v1/privacy/audit")
    auditor = login(world.audit_admin).get("/api/v1/privacy/audit")

    assert actor_for_user(world.platform_admin).has(Perm.AUDIT_VIEW) is False
    assert platform.status_code == 403
    assert auditor.status_code == 200


def test_one_person_cannot_be_both_system_and_audit_admin(world, orgs):
    actor = actor_for_user(world.platform_admin)
    other_admin = orgs_f.staff(role=Role.PLATFORM_ADMIN, scope=[], org=orgs["platform"])

    with pytest.raises(services.Conflict):
        services.membership_grant(
            actor=actor,
            user_id=other_admin.pk,
            organization_id=orgs["platform"].pk,
            role=Role.AUDIT_ADMIN,
            scope_ids=[],
        )
    assert not Membership.objects.filter(user=other_admin, role=Role.AUDIT_ADMIN).exists()


def test_nobody_changes_their_own_roles(world, orgs, login):
    client = login(world.platform_admin)
    own = Membership.objects.get(user=world.platform_admin)

    revoke = client.delete(f"{MEMBERSHIPS}/{own.pk}")
    disable = _json(client, "post", f"{USERS}/{world.platform_admin.pk}/disable")

    assert (revoke.status_code, disable.status_code) == (403, 403)
    assert Membership.objects.get(pk=own.pk).is_active is True


def test_platform_admin_grants_and_revokes_with_audit(world, orgs, login):
    client = login(world.platform_admin)
    target = world.a.staff[Role.GUARD]

    granted = _json(client, "post", MEMBERSHIPS, _grant_body(world, orgs, target, Role.CUSTOMER_SERVICE))
    revoked = client.delete(f"{MEMBERSHIPS}/{granted.json()['id']}")

    assert granted.status_code == 201
    assert granted.json()["scope_ids"] == [world.a.estate.pk]
    assert granted.json()["role"] == Role.CUSTOMER_SERVICE
    assert revoked.status_code == 204
    assert Membership.objects.get(pk=granted.json()["id"]).is_active is False
    details = list(
        AuditEvent.objects.filter(action=Action.PERMISSION_CHANGE)
        .order_by("id")
        .values_list("actor_id", "detail")
    )
    assert details == [
        (
            world.platform_admin.pk,
            {
                "op": "grant",
                "user_id": target.pk,
                "organization_id": orgs["a"].pk,
                "role": Role.CUSTOMER_SERVICE,
                "scope_ids": [world.a.estate.pk],
            },
        ),
        (
            world.platform_admin.pk,
            {
                "op": "revoke",
                "user_id": target.pk,
                "organization_id": orgs["a"].pk,
                "role": Role.CUSTOMER_SERVICE,
                "scope_ids": [world.a.estate.pk],
            },
        ),
    ]


def test_grant_takes_effect_on_the_next_request(world, orgs, login):
    target = world.a.staff[Role.GUARD]
    client = login(target)
    before = client.get(ORGS).status_code

    services.membership_grant(
        actor=actor_for_user(world.platform_admin),
        user_id=target.pk,
        organization_id=orgs["a"].pk,
        role=Role.PROPERTY_ADMIN,
        scope_ids=[world.a.estate.pk],
    )

    assert (before, client.get(ORGS).status_code) == (403, 200)


@pytest.mark.parametrize(
    ("role", "org_key", "scope", "field"),
    [
        (Role.POLICE_OFFICER, "a", "estate", "role"),  # a property company holds no police role
        ("no_such_role", "a", "estate", "role"),
        (Role.CUSTOMER_SERVICE, "a", "building", "scope_ids"),  # scope must be estate level or above
        (Role.CUSTOMER_SERVICE, "a", "none", "scope_ids"),
    ],
)
def test_grant_validates_role_org_and_scope(world, orgs, login, role, org_key, scope, field):
    scope_ids = {"estate": [world.a.estate.pk], "building": [world.a.building.pk], "none": []}[scope]
    target = world.a.staff[Role.GUARD]

    response = _json(
        login(world.platform_admin),
        "post",
        MEMBERSHIPS,
        {"user_id": target.pk, "organization_id": orgs[org_key].pk, "role": role, "scope_ids": scope_ids},
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert Membership.objects.filter(user=target).count() == 1


def test_staff_account_create_shows_password_once_and_forces_change(world, login):
    client = login(world.platform_admin)

    response = _json(client, "post", USERS, {"username": "liu.yang", "display_name": "刘洋"})

    body = response.json()
    user = User.objects.get(username="liu.yang")
    assert response.status_code == 201
    assert set(body) == {"id", "username", "initial_password"}
    assert user.check_password(body["initial_password"])
    assert user.must_change_password is True
    assert user.kind == "staff"
    event = AuditEvent.objects.get(action=Action.ACCOUNT_CREATE)
    assert (event.actor_id, event.object_id) == (world.platform_admin.pk, str(user.pk))
    assert body["initial_password"] not in str(event.detail)


def test_staff_display_name_is_stored_without_bidi_override_and_zero_width_characters(world, login):
    client = login(world.platform_admin)

    response = _json(client, "post", USERS, {"username": "zhao.li", "display_name": "\u202e赵\u200b丽\u2066"})

    assert response.status_code == 201
    assert User.objects.get(username="zhao.li").display_name == "赵丽"


@pytest.mark.parametrize("username", ["admin", "ROOT", "sa", "test", "x", "has space"])
def test_staff_account_create_refuses_default_and_bad_names(world, login, username):
    response = _json(login(world.platform_admin), "post", USERS, {"username": username})

    assert response.status_code == 400
    assert not User.objects.filter(username=username).exists()


def test_staff_account_create_refuses_a_taken_name(world, login):
    response = _json(
        login(world.platform_admin), "post", USERS, {"username": world.a.staff[Role.GUARD].username.upper()}
    )

    assert response.status_code == 409


def test_account_disable_ends_sessions_and_tokens(world, login):
    target = world.a.staff[Role.PROPERTY_ADMIN]
    target_client = Client()
    target_client.post("/accounts/login/", {"username": target.username, "password": PASSWORD})
    _token, raw = accounts.token_issue(user=target, name="integration")

    response = _json(login(world.platform_admin), "post", f"{USERS}/{target.pk}/disable", {"reason": "离职"})
    page = target_client.get("/console/")
    api = Client().get("/api/v1/auth/tokens", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert response.json() == {"id": target.pk, "username": target.username, "is_active": False}
    assert page.status_code == 302
    assert api.status_code == 401
    assert ApiToken.objects.get(user=target).revoked_at is not None
    event = AuditEvent.objects.get(action=Action.ACCOUNT_DISABLE)
    assert (event.reason, event.detail) == ("离职", {"sessions_ended": 1, "tokens_revoked": 1})


def test_organization_list_is_scoped(world, orgs, login, django_assert_max_num_queries):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    own = Membership.objects.get(user=world.a.staff[Role.PROPERTY_ADMIN]).organization

    with django_assert_max_num_queries(12):
        response = client.get(ORGS)

    names = sorted(o["name"] for o in response.json()["items"])
    assert names == sorted(["甲物业", "坞城街道办", own.name])


def test_platform_admin_sees_every_organization(world, orgs, login):
    response = login(world.platform_admin).get(ORGS, {"page_size": 100})

    assert {"甲物业", "乙物业", "坞城街道办", "平台运营"} <= {o["name"] for o in response.json()["items"]}


def test_membership_list_is_scoped(world, orgs, login, django_assert_max_num_queries):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    with django_assert_max_num_queries(12):
        response = client.get(MEMBERSHIPS, {"page_size": 100})

    users = {m["user_id"] for m in response.json()["items"]}
    assert users == {u.pk for u in world.a.staff.values()}


def test_cross_scope_probe(world, orgs, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    b_membership = Membership.objects.get(user=world.b.staff[Role.GUARD])
    b_own_org = Membership.objects.get(user=world.b.staff[Role.PROPERTY_ADMIN]).organization

    pages = [
        client.get(f"{ORGS}/{orgs['b'].pk}"),
        client.get(f"{ORGS}/{b_own_org.pk}"),
        client.get(f"{ORGS}/{orgs['platform'].pk}"),
    ]
    listed_orgs = {o["id"] for o in client.get(ORGS, {"page_size": 100}).json()["items"]}
    listed_members = {m["id"] for m in client.get(MEMBERSHIPS, {"page_size": 100}).json()["items"]}
    by_org = client.get(MEMBERSHIPS, {"organization_id": orgs["b"].pk}).json()["count"]

    assert [p.status_code for p in pages] == [404, 404, 404]
    assert orgs["b"].pk not in listed_orgs and b_own_org.pk not in listed_orgs
    assert b_membership.pk not in listed_members
    assert by_org == 0


def test_out_of_range_ids_are_400_not_500(world, login):
    client = login(world.platform_admin)

    responses = [client.get(f"{ORGS}/{2**70}"), client.delete(f"{MEMBERSHIPS}/0")]

    assert [r.status_code for r in responses] == [400, 400]
