from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people.tests import factories as people_f
from linli.places.tests import factories as places_f
from linli.votes import selectors, services, tasks
from linli.votes.counting import ballot_digest
from linli.votes.models import Ballot, ElectorateEntry, Result, Vote, VoteStatus
from linli.votes.tests.factories import add_owner, admin_actor, resident_for, vote

pytestmark = pytest.mark.django_db


def _cast(person, v, choice):
    return services.ballot_cast(actor=actor_for_user(resident_for(person)), vote=v, choice=choice)


def test_open_freezes_electorate_grouping_co_owners_and_multi_room_owners(world):
    # given: room0 co-owned by persons 0 and 3; person 1 owns room1 and a new room (60 m²); person 2 room2
    a = world.a
    extra = places_f.room(
        estate=a.estate, building=a.building, unit=a.unit, floor=4, number="401", area="60.00"
    )
    add_owner(a, person=a.persons[1], room=extra)
    people_f.person(estate=a.estate, room=a.rooms[2], relation="tenant")  # tenants do not vote
    # when
    v = vote(side=a)
    # then
    entries = list(ElectorateEntry.objects.filter(vote=v).order_by("seq"))
    got = [
        (sorted(e.members.values_list("person_id", flat=True)), [r[0] for r in e.rooms], e.area)
        for e in entries
    ]
    assert got == [
        (sorted([a.persons[0].pk, a.persons[3].pk]), [a.rooms[0].pk], Decimal("89.50")),
        ([a.persons[1].pk], [a.rooms[1].pk, extra.pk], Decimal("149.50")),
        ([a.persons[2].pk], [a.rooms[2].pk], Decimal("89.50")),
    ]
    assert v.status == VoteStatus.OPEN and v.opened_at is not None
    # and the electorate stays frozen when owners change later
    people_f.person(estate=a.estate, room=extra)
    assert ElectorateEntry.objects.filter(vote=v).count() == 3


def test_create_validates_and_needs_scope_and_permission(world):
    with pytest.raises(ValidationFailed) as exc:
        services.vote_create(
            actor=admin_actor(world.a), estate=world.a.estate, title="", matter="x", closes_at=timezone.now()
        )
    assert set(exc.value.fields) == {"title", "matter", "closes_at"}
    with pytest.raises(NotFound):
        services.vote_create(
            actor=admin_actor(world.a),
            estate=world.b.estate,
            title="t",
            closes_at=timezone.now() + timedelta(1),
        )
    with pytest.raises(PermissionDenied):
        services.vote_create(
            actor=actor_for_user(world.a.staff[Role.CUSTOMER_SERVICE]),
            estate=world.a.estate,
            title="t",
            closes_at=timezone.now() + timedelta(1),
        )


def test_one_final_ballot_per_entry(world):
    a = world.a
    v = vote(side=a)
    b = _cast(a.persons[0], v, "agree")
    assert len(b.receipt) == 14 and b.cast_by is None  # secret: no person on the ballot
    with pytest.raises(Conflict):
        _cast(a.persons[0], v, "against")  # no change of mind
    with pytest.raises(Conflict):
        _cast(a.persons[3], v, "against")  # the co-owner of the same room
    assert list(Ballot.objects.values_list("choice", flat=True)) == ["agree"]


def test_cast_refuses_non_members_staff_and_bad_choice(world):
    v = vote(side=world.a)
    with pytest.raises(NotFound):
        _cast(world.b.persons[0], v, "agree")
    tenant = people_f.person(estate=world.a.estate, room=world.a.rooms[1], relation="tenant")
    with pytest.raises(NotFound):
        _cast(tenant, v, "agree")
    with pytest.raises(PermissionDenied):
        services.ballot_cast(actor=admin_actor(world.a), vote=v, choice="agree")
    with pytest.raises(ValidationFailed):
        _cast(world.a.persons[1], v, "maybe")
    draft = vote(side=world.a, open_=False)
    with pytest.raises(NotFound):
        _cast(world.a.persons[1], draft, "agree")


def test_close_freezes_result_and_everything_answers_409(world):
    # given 3 entries of 89.50 m²; two agree, one abstains
    a = world.a
    v = vote(side=a)
    r0 = _cast(a.persons[0], v, "agree").receipt
    r1 = _cast(a.persons[1], v, "agree").receipt
    r2 = _cast(a.persons[2], v, "abstain").receipt
    # when
    v = services.vote_close(actor=admin_actor(a), vote=v, reason="提前结束")
    # then
    res = Result.objects.get(vote=v)
    assert (res.total_owners, res.voted_owners, res.agree_owners, res.abstain_owners) == (3, 3, 2, 1)
    assert (res.total_area, res.voted_area, res.agree_area) == (
        Decimal("268.50"),
        Decimal("268.50"),
        Decimal("179.00"),
    )
    assert (res.quorum_met, res.passed) == (True, True)
    assert res.published == sorted([[r0, "agree", ""], [r1, "agree", ""], [r2, "abstain", ""]])
    assert res.digest == ballot_digest([(r0, "agree"), (r1, "agree"), (r2, "abstain")])
    before = (res.digest, res.passed, list(Ballot.objects.order_by("pk").values_list("choice", flat=True)))
    with pytest.raises(Conflict):
        services.vote_close(actor=admin_actor(a), vote=v)
    with pytest.raises(Conflict):
        _cast(a.persons[3], v, "against")
    res.refresh_from_db()
    assert (
        res.digest,
        res.passed,
        list(Ballot.objects.order_by("pk").values_list("choice", flat=True)),
    ) == before
    assert AuditEvent.objects.filter(object_type="votes.vote", object_id=str(v.pk)).count() == 3


def test_database_refuses_updates_after_close(world):
    a = world.a
    v = vote(side=a)
    _cast(a.persons[0], v, "agree")
    # an open vote's ballot cannot be updated either
    with pytest.raises(DatabaseError), transaction.atomic():
        Ballot.objects.filter(vote=v).update(choice="against")
    services.vote_close(actor=admin_actor(a), vote=v)
    with pytest.raises(DatabaseError), transaction.atomic():
        Result.objects.filter(vote=v).update(passed=True)
    with pytest.raises(DatabaseError), transaction.atomic():
        Vote.objects.filter(pk=v.pk).update(title="改过")
    with pytest.raises(DatabaseError), transaction.atomic():
        ElectorateEntry.objects.filter(vote=v).update(area=Decimal("1000"))
    assert Vote.objects.get(pk=v.pk).title == "更换电梯"
    assert Ballot.objects.get(vote=v).choice == "agree"


def test_quorum_not_met_fails(world):
    a = world.a
    v = vote(side=a)
    _cast(a.persons[0], v, "agree")  # 1 of 3 entries
    services.vote_close(actor=admin_actor(a), vote=v)
    res = Result.objects.get(vote=v)
    assert (res.voted_owners, res.quorum_met, res.passed) == (1, False, False)


def test_open_ballot_publishes_masked_names(world):
    a = world.a
    v = vote(side=a, secret=False)
    b = _cast(a.persons[1], v, "against")
    assert b.cast_by_id == a.persons[1].pk
    services.vote_close(actor=admin_actor(a), vote=v)
    res = Result.objects.get(vote=v)
    name = a.persons[1].name
    assert res.published == [[b.receipt, "against", name[0] + "*" * (len(name) - 2) + name[-1]]]


def test_secret_ballot_result_reveals_no_voter(world):
    a = world.a
    v = vote(side=a, secret=True)
    _cast(a.persons[1], v, "against")
    services.vote_close(actor=admin_actor(a), vote=v)
    res = Result.objects.get(vote=v)
    text = repr(res.published)
    assert res.published[0][2] == ""
    for p in a.persons:
        assert p.name not in text and p.name[0] + "*" not in text
    ballot_events = AuditEvent.objects.filter(object_type="votes.ballot")
    assert [e.detail for e in ballot_events] == [{}]  # no choice in the audit log


def test_close_due_job_closes_only_past_deadline(world):
    a = world.a
    due = vote(side=a, title="到期")
    later = vote(side=a, title="未到期")
    now = due.closes_at + timedelta(seconds=1)
    Vote.objects.filter(pk=later.pk).update(closes_at=now + timedelta(days=1))
    assert tasks.close_due(now) == "closed 1"
    assert tasks.close_due(now) == "closed 0"  # idempotent
    assert Vote.objects.get(pk=due.pk).status == VoteStatus.CLOSED
    assert Vote.objects.get(pk=later.pk).status == VoteStatus.OPEN
    ev = AuditEvent.objects.filter(object_type="votes.vote", object_id=str(due.pk)).order_by("id").last()
    assert (ev.actor_id, ev.actor_label) == (None, "system:votes.close_due")


def test_cast_after_deadline_refused(world):
    a = world.a
    v = vote(side=a)
    Vote.objects.filter(pk=v.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Conflict):
        _cast(a.persons[0], v, "agree")


def test_verify_for_owners_of_the_estate_only(world):
    a = world.a
    v = vote(side=a)
    mine = _cast(a.persons[0], v, "agree").receipt
    _cast(a.persons[1], v, "against")
    with pytest.raises(NotFound):  # not closed yet
        selectors.vote_verify(actor=actor_for_user(a.resident), pk=v.pk)
    services.vote_close(actor=admin_actor(a), vote=v)
    ver = selectors.vote_verify(actor=actor_for_user(a.resident), pk=v.pk)
    assert (ver.my_receipt, ver.found) == (mine, True)
    assert ballot_digest((r[0], r[1]) for r in ver.result.published) == ver.result.digest
    co = selectors.vote_verify(actor=actor_for_user(resident_for(a.persons[3])), pk=v.pk)
    assert co.my_receipt == mine  # the co-owner sees the entry's receipt
    abstainer = selectors.vote_verify(actor=actor_for_user(resident_for(a.persons[2])), pk=v.pk)
    assert (abstainer.my_receipt, abstainer.found) == (None, None)
    with pytest.raises(NotFound):
        selectors.vote_verify(actor=actor_for_user(world.b.resident), pk=v.pk)
    with pytest.raises(NotFound):
        selectors.vote_verify(actor=admin_actor(world.b), pk=v.pk)
    assert selectors.vote_verify(actor=admin_actor(a), pk=v.pk).result.digest == ver.result.digest


def test_my_votes_and_progress(world):
    a = world.a
    v = vote(side=a)
    closed = vote(side=a, title="已结束")
    services.vote_close(actor=admin_actor(a), vote=closed)
    vote(side=a, open_=False, title="草稿")
    vote(side=world.b, title="乙")
    me = actor_for_user(a.resident)
    assert [(x.pk, x.voted) for x in selectors.my_votes(actor=me)] == [(v.pk, False), (closed.pk, False)]
    assert selectors.open_vote_count(actor=me) == 1
    _cast(a.persons[3], v, "agree")  # co-owner voted for our room
    first = selectors.my_votes(actor=me).first()
    assert (first.pk, first.voted) == (v.pk, True)
    assert selectors.open_vote_count(actor=me) == 0
    p = selectors.vote_progress(v)
    assert (p.total_owners, p.voted_owners, p.total_area, p.voted_area) == (
        3,
        1,
        Decimal("268.50"),
        Decimal("89.50"),
    )
    assert str(p.owner_rate) == "1/3"
