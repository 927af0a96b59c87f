import pytest

from linli.core.errors import NotFound
from linli.core.scoping import build_actor, get_in_scope
from linli.orgs.roles import Role
from linli.places.models import Room


@pytest.mark.django_db
def test_estate_staff_see_only_their_estate(world):
    actor = build_actor(world.a.staff[Role.PROPERTY_ADMIN])

    rooms = set(actor.scoped(Room.objects.all(), "path").values_list("pk", flat=True))

    assert rooms == {r.pk for r in world.a.rooms}
    assert actor.estate_ids == [world.a.estate.pk]
    with pytest.raises(NotFound):
        get_in_scope(Room.objects.all(), actor=actor, path_field="path", pk=world.b.rooms[0].pk)


@pytest.mark.django_db
def test_platform_admin_sees_every_estate(world):
    actor = build_actor(world.platform_admin)

    assert set(actor.estate_ids) == {world.a.estate.pk, world.b.estate.pk}


@pytest.mark.django_db
def test_community_scope_covers_estates_below(world):
    from linli.orgs.tests import factories as orgs_f

    community = world.a.estate.parent
    officer = orgs_f.staff(role=Role.SUBDISTRICT_OFFICER, scope=[community])

    assert set(build_actor(officer).estate_ids) == {world.a.estate.pk, world.b.estate.pk}
