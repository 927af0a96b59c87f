"""The estate primitives every app uses: scope first (404), then the permission (403)."""

import pytest

from linli.core.errors import NotFound, PermissionDenied
from linli.orgs.roles import Perm, Role
from linli.orgs.selectors import actor_for_user
from linli.places.models import Region, ancestor_paths
from linli.places.selectors import estate_choice, estate_get, estate_list, require_estate


def test_ancestor_paths_run_from_the_top_down_to_the_node_itself():
    assert ancestor_paths("/1/4/9/") == ["/1/", "/1/4/", "/1/4/9/"]
    assert Region(path="/3/7/").ancestor_paths() == ["/3/", "/3/7/"]
    assert ancestor_paths("") == []


@pytest.mark.django_db
def test_estate_get_answers_404_outside_scope_even_without_the_permission(world):
    guard = actor_for_user(world.a.staff[Role.GUARD])  # no billing.view

    with pytest.raises(NotFound):
        estate_get(actor=guard, pk=world.b.estate.pk, perm=Perm.BILLING_VIEW)
    with pytest.raises(PermissionDenied):
        estate_get(actor=guard, pk=world.a.estate.pk, perm=Perm.BILLING_VIEW)
    assert estate_get(actor=guard, pk=world.a.estate.pk, perm=Perm.PATROLS_VIEW) == world.a.estate
    assert estate_get(actor=guard, pk=world.a.estate.pk) == world.a.estate


@pytest.mark.django_db
@pytest.mark.parametrize("pk", [0, -1, 2**63, "x", None])
def test_estate_get_answers_404_for_ids_that_cannot_exist(world, pk):
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])

    with pytest.raises(NotFound):
        estate_get(actor=admin, pk=pk)


@pytest.mark.django_db
def test_estate_get_answers_404_for_a_region_that_is_not_an_estate(world):
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])

    with pytest.raises(NotFound):
        estate_get(actor=admin, pk=world.a.building.pk)


@pytest.mark.django_db
def test_estate_list_is_the_scope_and_checks_the_permission(world):
    guard = actor_for_user(world.a.staff[Role.GUARD])

    assert list(estate_list(actor=guard)) == [world.a.estate]
    assert list(estate_list(actor=actor_for_user(world.platform_admin))) == [world.a.estate, world.b.estate]
    with pytest.raises(PermissionDenied):
        estate_list(actor=guard, perm=Perm.BILLING_VIEW)


@pytest.mark.django_db
def test_require_estate_checks_scope_first_then_the_permission_and_writes(world):
    guard = actor_for_user(world.a.staff[Role.GUARD])
    admin_token = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN], via="token", read_only=True)

    for estate in (None, world.a.building, world.b.estate):
        with pytest.raises(NotFound):
            require_estate(actor=guard, estate=estate, perm=Perm.BILLING_MANAGE, write=True)
    with pytest.raises(PermissionDenied):
        require_estate(actor=guard, estate=world.a.estate, perm=Perm.BILLING_MANAGE)
    with pytest.raises(PermissionDenied):
        require_estate(actor=admin_token, estate=world.a.estate, perm=Perm.BILLING_MANAGE, write=True)
    assert (
        require_estate(actor=admin_token, estate=world.a.estate, perm=Perm.BILLING_MANAGE) == world.a.estate
    )


@pytest.mark.django_db
def test_estate_choice_picks_the_asked_estate_in_scope_or_the_first(world):
    platform = actor_for_user(world.platform_admin)  # by name: 乙小区 (U+4E59) before 甲小区 (U+7532)
    guard = actor_for_user(world.a.staff[Role.GUARD])

    assert estate_choice(actor=platform, pk=world.a.estate.pk) == (
        [world.b.estate, world.a.estate],
        world.a.estate,
    )
    assert estate_choice(actor=platform, pk=None)[1] == world.b.estate
    assert estate_choice(actor=guard, pk=world.b.estate.pk) == ([world.a.estate], world.a.estate)
    with pytest.raises(PermissionDenied):
        estate_choice(actor=guard, pk=None, perm=Perm.BILLING_VIEW)
