from decimal import Decimal

import pytest

from linli.core.audit import Action
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.places import selectors, services
from linli.places.models import Facility, ParkingSpace, RoomStatus, RoomUse
from linli.places.tests import factories as f


def _admin(world):
    return actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])


@pytest.mark.django_db
def test_room_update_changes_fields_and_audits_old_and_new(world):
    room = world.a.rooms[0]

    services.room_update(actor=_admin(world), room=room, area="101.25", status=RoomStatus.RENTED)

    room.refresh_from_db()
    assert (room.area, room.status, room.use) == (Decimal("101.25"), RoomStatus.RENTED, RoomUse.RESIDENTIAL)
    event = AuditEvent.objects.get(action=Action.UPDATE, object_type="places.room")
    assert (event.object_id, event.estate_id, event.detail) == (
        str(room.pk),
        world.a.estate.pk,
        {"changes": {"area": ["89.50", "101.25"], "status": ["self", "rented"]}},
    )


@pytest.mark.django_db
def test_room_update_without_change_writes_no_audit(world):
    room = world.a.rooms[0]

    services.room_update(actor=_admin(world), room=room, area="89.50", use=RoomUse.RESIDENTIAL)

    assert AuditEvent.objects.filter(action=Action.UPDATE).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"area": "0"}, "area"),
        ({"area": "100000"}, "area"),
        ({"area": "12.345"}, "area"),
        ({"area": "abc"}, "area"),
        ({"area": "NaN"}, "area"),
        ({"use": "castle"}, "use"),
        ({"status": "sold"}, "status"),
    ],
)
def test_room_update_rejects_bad_values_and_changes_nothing(world, changes, field):
    room = world.a.rooms[0]

    with pytest.raises(ValidationFailed) as exc:
        services.room_update(actor=_admin(world), room=room, **changes)

    assert list(exc.value.fields) == [field]
    room.refresh_from_db()
    assert (room.area, room.use, room.status) == (
        Decimal("89.50"),
        RoomUse.RESIDENTIAL,
        RoomStatus.SELF_OCCUPIED,
    )
    assert AuditEvent.objects.filter(action=Action.UPDATE).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    [
        Role.CUSTOMER_SERVICE,
        Role.TECHNICIAN,
        Role.GUARD,
        Role.COMMUNITY_WORKER,
        Role.SUBDISTRICT_OFFICER,
        Role.POLICE_OFFICER,
        Role.SERVICE_PROVIDER,
    ],
)
def test_room_update_needs_manage_permission(world, role):
    room = world.a.rooms[0]

    with pytest.raises(PermissionDenied):
        services.room_update(actor=actor_for_user(world.a.staff[role]), room=room, status=RoomStatus.VACANT)

    room.refresh_from_db()
    assert room.status == RoomStatus.SELF_OCCUPIED


@pytest.mark.django_db
def test_room_update_of_another_estate_is_not_found(world):
    room = world.b.rooms[0]

    with pytest.raises(NotFound):
        services.room_update(actor=_admin(world), room=room, status=RoomStatus.VACANT)

    room.refresh_from_db()
    assert room.status == RoomStatus.SELF_OCCUPIED


@pytest.mark.django_db
def test_read_only_token_actor_cannot_update(world):
    actor = _admin(world)
    actor.read_only = True

    with pytest.raises(PermissionDenied):
        services.room_update(actor=actor, room=world.a.rooms[0], status=RoomStatus.VACANT)


@pytest.mark.django_db
def test_parking_space_create_is_audited_and_unique_per_estate(world):
    actor = _admin(world)

    space = services.parking_space_create(
        actor=actor, estate=world.a.estate, code="B1-001", zone="地下一层", room=world.a.rooms[0]
    )

    assert (space.estate, space.code, space.kind, space.room) == (
        world.a.estate,
        "B1-001",
        ParkingSpace.Kind.RENTED,
        world.a.rooms[0],
    )
    assert (
        AuditEvent.objects.filter(
            action=Action.CREATE, object_type="places.parkingspace", object_id=str(space.pk)
        ).count()
        == 1
    )
    with pytest.raises(ValidationFailed) as exc:
        services.parking_space_create(actor=actor, estate=world.a.estate, code="B1-001")
    assert exc.value.fields == {"code": ["本小区已有该车位编号"]}


@pytest.mark.django_db
def test_parking_space_room_must_be_in_the_estate(world):
    actor = actor_for_user(world.platform_admin)

    with pytest.raises(ValidationFailed) as exc:
        services.parking_space_create(actor=actor, estate=world.a.estate, code="X1", room=world.b.rooms[0])

    assert exc.value.fields == {"room": ["房屋不属于该小区"]}
    assert ParkingSpace.objects.count() == 0


@pytest.mark.django_db
def test_facility_create_and_update_are_audited(world):
    actor = _admin(world)

    facility = services.facility_create(
        actor=actor,
        estate=world.a.estate,
        building=world.a.building,
        kind=Facility.Kind.ELEVATOR,
        name="1号楼1号电梯",
        location="1单元",
    )
    services.facility_update(actor=actor, facility=facility, status="fault")

    facility.refresh_from_db()
    assert (facility.kind, facility.name, facility.status, facility.building) == (
        Facility.Kind.ELEVATOR,
        "1号楼1号电梯",
        "fault",
        world.a.building,
    )
    events = list(
        AuditEvent.objects.filter(object_type="places.facility")
        .order_by("id")
        .values_list("action", "detail")
    )
    assert events == [
        (Action.CREATE, {"kind": "elevator", "name": "1号楼1号电梯"}),
        (Action.UPDATE, {"changes": {"status": ["normal", "fault"]}}),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "spaceship", "name": "x"}, "kind"),
        ({"kind": "pump", "name": " "}, "name"),
        ({"kind": "pump", "name": "x", "status": "burning"}, "status"),
    ],
)
def test_facility_create_rejects_bad_values(world, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        services.facility_create(actor=_admin(world), estate=world.a.estate, **kwargs)

    assert list(exc.value.fields) == [field]
    assert Facility.objects.count() == 0


@pytest.mark.django_db
def test_facility_building_must_belong_to_the_estate(world):
    with pytest.raises(ValidationFailed) as exc:
        services.facility_create(
            actor=actor_for_user(world.platform_admin),
            estate=world.a.estate,
            building=world.b.building,
            kind="pump",
            name="水泵",
        )

    assert exc.value.fields == {"building_id": ["楼栋不属于该小区"]}


@pytest.mark.django_db
def test_facility_create_in_another_estate_is_not_found(world):
    with pytest.raises(NotFound):
        services.facility_create(actor=_admin(world), estate=world.b.estate, kind="pump", name="水泵")


@pytest.mark.django_db
def test_region_tree_shows_scope_with_ancestors_and_room_counts(world):
    f.room(estate=world.a.estate, building=world.a.building, number="999")  # a room without unit

    tree = selectors.region_tree(actor=_admin(world))

    chain = []
    node = tree[0]
    while node.children:
        chain.append((node.name, node.in_scope))
        node = node.children[0]
    assert chain == [
        ("山西省", False),
        ("太原市", False),
        ("小店区", False),
        ("坞城街道", False),
        ("学府社区", False),
        ("甲小区", True),
        ("1号楼", True),
    ]
    community = tree[0].children[0].children[0].children[0].children[0]
    assert [e.name for e in community.children] == ["甲小区"]
    estate = community.children[0]
    building = estate.children[0]
    assert (estate.room_count, building.room_count, building.children[0].room_count) == (4, 4, 3)


@pytest.mark.django_db
def test_region_tree_of_platform_admin_has_both_estates(world):
    tree = selectors.region_tree(actor=actor_for_user(world.platform_admin))

    community = tree[0].children[0].children[0].children[0].children[0]
    assert [(e.name, e.in_scope, e.room_count) for e in community.children] == [
        ("甲小区", True, 3),
        ("乙小区", True, 3),
    ]


@pytest.mark.django_db
def test_audit_admin_cannot_read_places(world):
    with pytest.raises(PermissionDenied):
        selectors.room_list(actor=actor_for_user(world.audit_admin))
