"""What the people app announces (ADR 0008)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from linli.core import events
from linli.orgs.roles import Role
from linli.people import services
from linli.people.events import PersonMovedOut
from linli.people.tests import factories as people_f


@pytest.fixture
def admin(world, actor_of):
    return actor_of(world.a.staff[Role.PROPERTY_ADMIN])


@pytest.fixture
def tenant_occupancy(world, admin):
    tenant = services.person_create(
        actor=admin, estate=world.a.estate, name="租户", id_number=people_f.id_number(seq=9500)
    )
    return services.occupancy_start(
        actor=admin, person=tenant, room=world.a.rooms[0], relation="tenant", start_date=date(2025, 1, 1)
    )


@pytest.mark.django_db
def test_moving_out_of_the_last_home_announces_person_moved_out(world, admin, tenant_occupancy):
    with events.recording() as seen:
        services.occupancy_end(actor=admin, occupancy=tenant_occupancy, end_date=date(2025, 6, 30))

    assert seen == [
        PersonMovedOut(
            person_id=tenant_occupancy.person_id,
            estate_id=world.a.estate.pk,
            actor_user_id=admin.user.pk,
        )
    ]


@pytest.mark.django_db
def test_a_move_out_dated_in_the_future_announces_nothing_yet(admin, tenant_occupancy):
    with events.recording() as seen:
        services.occupancy_end(
            actor=admin, occupancy=tenant_occupancy, end_date=timezone.localdate() + timedelta(days=30)
        )

    assert seen == []
