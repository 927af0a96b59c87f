"""``actor_for_user``: memberships become scope paths; estates in scope come from ``places.selectors``."""

import pytest

from linli.core.errors import NotFound
from linli.core.scoping import get_in_scope
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.places.models import Room
from linli.places.selectors import estate_list


def _estate_ids(actor) -> set[int]:
    return set(estate_list(actor=actor).values_list("pk", flat=True))


@pytest.mark.django_db
def test_estate_staff_see_only_their_estate(world):
    actor = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])

    rooms = set(actor.scoped(Room.objects.all(), "path").values_list("pk", flat=True))

    assert rooms == {r.pk for r in world.a.rooms}
    assert _estate_ids(actor) == {world.a.estate.pk}
    with pytest.raises(NotFound):
        get_in_scope(Room.objects.all(), actor=actor, path_field="path", pk=world.b.rooms[0].pk)


@pytest.mark.django_db
def test_platform_admin_sees_every_estate(world):
    actor = actor_for_user(world.platform_admin)

    assert _estate_ids(actor) == {world.a.estate.pk, world.b.estate.pk}


@pytest.mark.django_db
def test_community_scope_covers_estates_below(world):
    from linli.orgs.tests import factories as orgs_f

    community = world.a.estate.parent
    officer = orgs_f.staff(role=Role.SUBDISTRICT_OFFICER, scope=[community])

    assert _estate_ids(actor_for_user(officer)) == {world.a.estate.pk, world.b.estate.pk}
