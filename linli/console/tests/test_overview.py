import pytest

from conftest import ESTATE_ROLES
from linli.console.selectors import estate_overview
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user


@pytest.mark.django_db
def test_overview_counts_the_actors_estate_only(world):
    rows = estate_overview(actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]))

    assert [r["estate"].pk for r in rows] == [world.a.estate.pk]
    assert rows[0]["rooms"] == 3 and rows[0]["persons"] == 4 and rows[0]["buildings"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_console_home_never_shows_the_other_estate(world, login, role):
    response = login(world.a.staff[role]).get("/console/")

    body = response.content.decode()
    assert response.status_code == 200
    assert world.a.estate.name in body
    assert world.b.estate.name not in body


@pytest.mark.django_db
def test_overview_query_count_does_not_grow_with_estates(world, django_assert_max_num_queries):
    actor = actor_for_user(world.platform_admin)

    with django_assert_max_num_queries(12):
        rows = estate_overview(actor=actor)

    assert {r["estate"].pk for r in rows} == {world.a.estate.pk, world.b.estate.pk}


@pytest.mark.django_db
def test_console_requires_login(client):
    response = client.get("/console/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_header_shows_unread_staff_notifications(world, login):
    from linli.messaging.services import message_send

    admin = world.a.staff[Role.PROPERTY_ADMIN]
    message_send(recipients=[admin], title="巡检漏检", body="1号楼", estate=world.a.estate)

    body = login(admin).get("/console/").content.decode()

    assert '消息 <span class="badge danger">1</span>' in body
