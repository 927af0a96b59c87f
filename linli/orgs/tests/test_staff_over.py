"""``staff_over``: who acts over an estate (the recipients of notifications and escalations)."""

import pytest

from linli.orgs.models import Membership
from linli.orgs.roles import Perm, Role
from linli.orgs.selectors import staff_over
from linli.orgs.tests import factories as orgs_f


@pytest.mark.django_db
def test_staff_over_by_role_is_limited_to_the_estate(world):
    assert list(staff_over(world.a.estate, roles=[Role.GUARD])) == [world.a.staff[Role.GUARD]]
    assert list(staff_over(world.b.estate, roles=[Role.GUARD, Role.TECHNICIAN])) == [
        world.b.staff[Role.TECHNICIAN],
        world.b.staff[Role.GUARD],
    ]


@pytest.mark.django_db
def test_staff_over_by_permission_takes_every_role_that_grants_it(world):
    users = set(staff_over(world.a.estate, perm=Perm.ALARMS_HEALTH_VIEW))

    assert users == {world.a.staff[Role.COMMUNITY_WORKER], world.a.staff[Role.SUBDISTRICT_OFFICER]}


@pytest.mark.django_db
def test_staff_over_with_roles_and_permission_takes_the_roles_that_grant_it(world):
    users = list(staff_over(world.a.estate, roles=[Role.GUARD, Role.TECHNICIAN], perm=Perm.PATROLS_CHECKIN))

    assert users == [world.a.staff[Role.GUARD]]


@pytest.mark.django_db
def test_staff_over_includes_a_scope_above_the_estate_and_skips_inactive_memberships(world):
    community = world.a.estate.parent
    officer = orgs_f.staff(role=Role.SUBDISTRICT_OFFICER, scope=[community])
    Membership.objects.filter(user=world.a.staff[Role.SUBDISTRICT_OFFICER]).update(is_active=False)

    assert list(staff_over(world.a.estate, roles=[Role.SUBDISTRICT_OFFICER])) == [officer]
    assert list(staff_over(world.b.estate, roles=[Role.SUBDISTRICT_OFFICER])) == [
        world.b.staff[Role.SUBDISTRICT_OFFICER],
        officer,
    ]
