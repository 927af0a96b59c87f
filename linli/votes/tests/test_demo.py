import pytest

from linli.core.errors import Conflict, NotFound
from linli.votes import demo, services
from linli.votes.models import Result, Vote
from linli.votes.tests.factories import admin_actor, vote

pytestmark = pytest.mark.django_db


def test_seed_makes_one_closed_and_one_open_vote_once(world):
    assert demo.seed(world.a.estate) == 2
    assert demo.seed(world.a.estate) == 0
    votes = {v.title: v for v in Vote.objects.filter(estate=world.a.estate)}
    assert {v.status for v in votes.values()} == {"open", "closed"}
    closed = votes[demo.CLOSED_TITLE]
    res = Result.objects.get(vote=closed)
    assert res.total_owners == 3 and res.voted_owners == len(res.published) == 2


def test_paper_ballot_by_staff_follows_the_same_rules(world):
    v = vote(side=world.a)
    b = services.ballot_record_paper(actor=admin_actor(world.a), vote=v, entry_seq=1, choice="against")
    assert b.entry.seq == 1
    with pytest.raises(Conflict):
        services.ballot_record_paper(actor=admin_actor(world.a), vote=v, entry_seq=1, choice="agree")
    with pytest.raises(NotFound):
        services.ballot_record_paper(actor=admin_actor(world.b), vote=v, entry_seq=2, choice="agree")
    with pytest.raises(NotFound):
        services.ballot_record_paper(actor=admin_actor(world.a), vote=v, entry_seq=99, choice="agree")
