"""Test data for votes, made through the services."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from linli.accounts.models import UserKind
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.orgs.tests import factories as orgs_f
from linli.people import services as people_services
from linli.people.models import Relation
from linli.votes import services
from linli.votes.models import Vote


def admin_actor(side):
    return actor_for_user(side.staff[Role.PROPERTY_ADMIN])


def vote(
    *, side, open_: bool = True, matter: str = "ordinary", secret: bool = True, title="更换电梯"
) -> Vote:
    v = services.vote_create(
        actor=admin_actor(side),
        estate=side.estate,
        title=title,
        description="使用维修资金更换 1 号楼电梯",
        matter=matter,
        secret=secret,
        closes_at=timezone.now() + timedelta(days=7),
    )
    if open_:
        v = services.vote_open(actor=admin_actor(side), vote=v)
    return v


def resident_for(person):
    """A resident account linked to ``person``."""
    if person.user_id:
        return person.user
    user = orgs_f.user(username=f"res_{person.pk}", kind=UserKind.RESIDENT)
    person.user = user
    person.save(update_fields=["user"])
    return user


def add_owner(side, *, person, room):
    return people_services.occupancy_start(
        actor=admin_actor(side),
        person=person,
        room=room,
        relation=Relation.OWNER,
        start_date=date(2021, 1, 1),
    )
