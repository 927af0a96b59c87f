from datetime import timedelta

import pytest
from django.utils import timezone

from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.notices import selectors, services
from linli.notices.models import NoticeReceipt, NoticeStatus
from linli.notices.tests.factories import notice
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people.tests import factories as people_f
from linli.places.tests import factories as places_f

pytestmark = pytest.mark.django_db


def _admin(side):
    return side.staff[Role.PROPERTY_ADMIN]


def test_create_publish_withdraw_audited(world):
    actor = actor_for_user(_admin(world.a))
    n = services.notice_create(
        actor=actor, estate=world.a.estate, title=" 停电 ", body="周六检修", category="outage"
    )
    assert (n.status, n.title, n.path, n.published_at) == (
        NoticeStatus.DRAFT,
        "停电",
        world.a.estate.path,
        None,
    )
    n = services.notice_publish(actor=actor, notice=n)
    assert n.status == NoticeStatus.PUBLISHED and n.published_at is not None
    with pytest.raises(Conflict):
        services.notice_publish(actor=actor, notice=n)
    with pytest.raises(Conflict):
        services.notice_update(actor=actor, notice=n, title="改标题")
    services.notice_update(actor=actor, notice=n, pinned=True)
    n = services.notice_withdraw(actor=actor, notice=n, reason="发错了")
    assert n.status == NoticeStatus.WITHDRAWN
    with pytest.raises(Conflict):
        services.notice_withdraw(actor=actor, notice=n)
    events = list(AuditEvent.objects.filter(object_type="notices.notice", object_id=str(n.pk)).order_by("id"))
    assert [e.action for e in events] == ["data.create", "data.update", "data.update", "data.update"]
    assert events[-1].reason == "发错了"


def test_create_validates(world):
    actor = actor_for_user(_admin(world.a))
    with pytest.raises(ValidationFailed) as exc:
        services.notice_create(actor=actor, estate=world.a.estate, title="", body="", category="bogus")
    assert set(exc.value.fields) == {"title", "body", "category"}
    with pytest.raises(ValidationFailed) as exc:
        services.notice_create(
            actor=actor, estate=world.a.estate, title="t", body="b", target=world.b.building
        )
    assert set(exc.value.fields) == {"target_id"}
    with pytest.raises(ValidationFailed):
        services.notice_create(
            actor=actor, estate=world.a.estate, title="t", body="b", expires_at=timezone.now() - timedelta(1)
        )


def test_create_needs_scope_and_permission(world):
    with pytest.raises(NotFound):
        services.notice_create(
            actor=actor_for_user(_admin(world.a)), estate=world.b.estate, title="t", body="b"
        )
    with pytest.raises(PermissionDenied):
        services.notice_create(
            actor=actor_for_user(world.a.staff[Role.TECHNICIAN]), estate=world.a.estate, title="t", body="b"
        )


def test_resident_sees_only_notices_for_their_rooms(world):
    # given a second building in estate a with its own resident, and notices at every level
    admin = _admin(world.a)
    b2 = places_f.building(estate=world.a.estate, name="2号楼")
    r2 = places_f.room(estate=world.a.estate, building=b2, floor=1, number="101")
    people_f.person(estate=world.a.estate, room=r2)
    estate_wide = notice(staff=admin, estate=world.a.estate, title="全小区")
    building1 = notice(staff=admin, estate=world.a.estate, target=world.a.building, title="1号楼")
    unit1 = notice(staff=admin, estate=world.a.estate, target=world.a.unit, title="1单元")
    notice(staff=admin, estate=world.a.estate, target=b2, title="2号楼")
    notice(staff=admin, estate=world.a.estate, title="草稿", publish=False)
    notice(staff=_admin(world.b), estate=world.b.estate, title="乙小区")
    withdrawn = notice(staff=admin, estate=world.a.estate, title="撤回")
    services.notice_withdraw(actor=actor_for_user(admin), notice=withdrawn)
    resident = actor_for_user(world.a.resident)
    # when
    mine = list(selectors.my_notices(actor=resident))
    # then
    assert {n.pk for n in mine} == {estate_wide.pk, building1.pk, unit1.pk}
    assert selectors.my_unread_count(actor=resident) == 3
    with pytest.raises(NotFound):
        selectors.my_notice_get(actor=resident, pk=withdrawn.pk)


def test_expired_notice_hidden_from_residents(world):
    n = notice(staff=_admin(world.a), estate=world.a.estate, expires_at=timezone.now() + timedelta(hours=1))
    resident = actor_for_user(world.a.resident)
    assert [x.pk for x in selectors.my_notices(actor=resident)] == [n.pk]
    n.expires_at = timezone.now() - timedelta(seconds=1)
    n.save()
    assert list(selectors.my_notices(actor=resident)) == []


def test_mark_read_idempotent_and_unread_first(world):
    admin = _admin(world.a)
    old = notice(staff=admin, estate=world.a.estate, title="旧")
    new = notice(staff=admin, estate=world.a.estate, title="新")
    resident = actor_for_user(world.a.resident)
    r1 = services.notice_mark_read(actor=resident, notice=new)
    r2 = services.notice_mark_read(actor=resident, notice=new)
    assert r1.pk == r2.pk and r1.read_at == r2.read_at
    assert NoticeReceipt.objects.count() == 1
    rows = list(selectors.my_notices(actor=resident))
    assert [(n.pk, n.read_at is not None) for n in rows] == [(old.pk, False), (new.pk, True)]
    assert selectors.my_unread_count(actor=resident) == 1


def test_mark_read_refuses_staff(world):
    n = notice(staff=_admin(world.a), estate=world.a.estate)
    with pytest.raises(PermissionDenied):
        services.notice_mark_read(actor=actor_for_user(_admin(world.a)), notice=n)


def test_receipt_stats(world):
    # given a unit notice: recipients are the 4 persons of the unit's 3 rooms; one moved out
    admin = _admin(world.a)
    n = notice(staff=admin, estate=world.a.estate, target=world.a.unit)
    gone = people_f.person(estate=world.a.estate, room=world.a.rooms[1])
    gone.occupancies.update(end_date=timezone.localdate())
    services.notice_mark_read(actor=actor_for_user(world.a.resident), notice=n)
    # when
    stats = selectors.notice_receipts(actor=actor_for_user(admin), pk=n.pk)
    # then
    assert (stats.recipients, stats.read, str(stats.rate), stats.rate_percent) == (4, 1, "1/4", "25.0%")
    assert [u["person_id"] for u in stats.unread] == [p.pk for p in world.a.persons[1:]]
    assert all("*" in u["name"] for u in stats.unread)
    assert stats.unread[0]["rooms"] == [world.a.rooms[1].standard_address]


def test_staff_list_is_scoped(world):
    a = notice(staff=_admin(world.a), estate=world.a.estate)
    notice(staff=_admin(world.b), estate=world.b.estate)
    assert [n.pk for n in selectors.notice_list(actor=actor_for_user(_admin(world.a)))] == [a.pk]
    with pytest.raises(NotFound):
        selectors.notice_get(actor=actor_for_user(_admin(world.b)), pk=a.pk)
    with pytest.raises(PermissionDenied):
        selectors.notice_get(actor=actor_for_user(world.a.staff[Role.TECHNICIAN]), pk=a.pk)
