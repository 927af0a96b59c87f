import pytest

from linli.core.errors import NotFound
from linli.notices.models import StaffNotification
from linli.notices.selectors import staff_notification_list, staff_notification_unread_count
from linli.notices.services import staff_notification_mark_read, staff_notify
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db


def test_staff_notify_creates_one_per_distinct_user(world):
    # given two staff users, one listed twice
    tech = world.a.staff[Role.TECHNICIAN]
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    # when
    n = staff_notify(
        users=[tech, admin, tech, None],
        title="新工单",
        body="1-101 漏水",
        link="/console/x/",
        estate=world.a.estate,
        kind="workorder",
    )
    # then
    assert n == 2
    rows = StaffNotification.objects.order_by("user_id")
    assert [r.user_id for r in rows] == sorted([tech.pk, admin.pk])
    assert {(r.title, r.body, r.link, r.kind, r.estate_id) for r in rows} == {
        ("新工单", "1-101 漏水", "/console/x/", "workorder", world.a.estate.pk)
    }
    assert staff_notification_unread_count(tech) == 1


def test_staff_notify_empty_list_creates_nothing(world):
    assert staff_notify(users=[], title="x") == 0
    assert staff_notify(users=None, title="x") == 0
    assert StaffNotification.objects.count() == 0


def test_mark_read_own_only(world):
    tech = world.a.staff[Role.TECHNICIAN]
    other = world.a.staff[Role.PROPERTY_ADMIN]
    staff_notify(users=[tech], title="巡检漏检")
    n = StaffNotification.objects.get()
    with pytest.raises(NotFound):
        staff_notification_mark_read(actor=actor_for_user(other), notification_id=n.pk)
    staff_notification_mark_read(actor=actor_for_user(tech), notification_id=n.pk)
    staff_notification_mark_read(actor=actor_for_user(tech), notification_id=n.pk)
    assert staff_notification_unread_count(tech) == 0
    assert [x.pk for x in staff_notification_list(actor=actor_for_user(tech))] == [n.pk]
    assert list(staff_notification_list(actor=actor_for_user(other))) == []
