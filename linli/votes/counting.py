"""Counting an owners' vote under Civil Code art. 278 — a pure function over the electorate and ballots.

Rules (exact rational arithmetic with ``fractions.Fraction``; never float):

* **Participation (quorum)** for any decision: the entries that cast a ballot (abstentions included)
  hold ≥ 2/3 of the electorate's total exclusive-part area **and** are ≥ 2/3 of its owners.
* **Ordinary matter** (art. 278 para. 2, last clause): 同意 holds **more than** 1/2 of the
  participating area **and** of the participating owners. Exactly 1/2 (a tie) fails.
* **Major matter** (筹集/使用维修资金, 改建/重建, 改变共有部分用途或利用共有部分经营 …): 同意 holds
  **at least** 3/4 of the participating area **and** of the participating owners.
* Abstentions count as participating but not as 同意 (so they work against passing).

``digest`` is the SHA-256 (hex) of the UTF-8 text made of one line ``"<receipt>,<choice>\\n"`` per
ballot, sorted by receipt code; choices are the codes ``agree`` / ``against`` / ``abstain``. Anyone
holding the published list can recompute it with ``ballot_digest``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from linli.votes.models import Choice, Matter

QUORUM = Fraction(2, 3)
ORDINARY = Fraction(1, 2)  # strictly more than
MAJOR = Fraction(3, 4)  # at least


@dataclass(frozen=True)
class Tally:
    total_area: Fraction
    total_owners: int
    voted_area: Fraction
    voted_owners: int
    agree_area: Fraction
    agree_owners: int
    against_area: Fraction
    against_owners: int
    abstain_area: Fraction
    abstain_owners: int
    quorum_met: bool
    passed: bool
    digest: str

    @property
    def area_participation(self) -> Fraction:
        return Fraction(self.voted_area) / self.total_area if self.total_area else Fraction(0)

    @property
    def owner_participation(self) -> Fraction:
        return Fraction(self.voted_owners, self.total_owners) if self.total_owners else Fraction(0)

    @property
    def agree_area_share(self) -> Fraction:
        return self.agree_area / self.voted_area if self.voted_area else Fraction(0)

    @property
    def agree_owner_share(self) -> Fraction:
        return Fraction(self.agree_owners, self.voted_owners) if self.voted_owners else Fraction(0)


def ballot_digest(pairs: Iterable[tuple[str, str]]) -> str:
    text = "".join(f"{receipt},{choice}\n" for receipt, choice in sorted(pairs))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _frac(area: Decimal | Fraction | int | str) -> Fraction:
    return area if isinstance(area, Fraction) else Fraction(Decimal(str(area)))


def meets_threshold(matter: str, share: Fraction) -> bool:
    if matter == Matter.MAJOR:
        return share >= MAJOR
    return share > ORDINARY


def tally(
    *,
    matter: str,
    electorate: Sequence[tuple[object, Decimal | Fraction | int | str]],
    ballots: Sequence[tuple[object, str, str]],
) -> Tally:
    """Count a vote.

    ``electorate``: one ``(entry key, area)`` per electorate entry (an entry counts as one owner).
    ``ballots``: ``(entry key, choice, receipt code)``; at most one per entry, every key in the
    electorate (otherwise ``ValueError``).
    """
    if matter not in Matter.values:
        raise ValueError(f"unknown matter {matter!r}")
    areas: dict[object, Fraction] = {}
    for key, area in electorate:
        if key in areas:
            raise ValueError(f"duplicate electorate entry {key!r}")
        a = _frac(area)
        if a < 0:
            raise ValueError("negative area")
        areas[key] = a
    by_choice_area = {c: Fraction(0) for c in Choice.values}
    by_choice_owners = dict.fromkeys(Choice.values, 0)
    seen: set[object] = set()
    for key, choice, _receipt in ballots:
        if key not in areas:
            raise ValueError(f"ballot for an entry outside the electorate: {key!r}")
        if key in seen:
            raise ValueError(f"second ballot for entry {key!r}")
        if choice not in by_choice_area:
            raise ValueError(f"unknown choice {choice!r}")
        seen.add(key)
        by_choice_area[choice] += areas[key]
        by_choice_owners[choice] += 1
    total_area = sum(areas.values(), Fraction(0))
    total_owners = len(areas)
    voted_area = sum(by_choice_area.values(), Fraction(0))
    voted_owners = len(seen)
    quorum = (
        total_owners > 0
        and total_area > 0
        and voted_area / total_area >= QUORUM
        and Fraction(voted_owners, total_owners) >= QUORUM
    )
    passed = bool(
        quorum
        and voted_area > 0
        and meets_threshold(matter, by_choice_area[Choice.AGREE] / voted_area)
        and meets_threshold(matter, Fraction(by_choice_owners[Choice.AGREE], voted_owners))
    )
    return Tally(
        total_area=total_area,
        total_owners=total_owners,
        voted_area=voted_area,
        voted_owners=voted_owners,
        agree_area=by_choice_area[Choice.AGREE],
        agree_owners=by_choice_owners[Choice.AGREE],
        against_area=by_choice_area[Choice.AGAINST],
        against_owners=by_choice_owners[Choice.AGAINST],
        abstain_area=by_choice_area[Choice.ABSTAIN],
        abstain_owners=by_choice_owners[Choice.ABSTAIN],
        quorum_met=bool(quorum),
        passed=passed,
        digest=ballot_digest((r, c) for _k, c, r in ballots),
    )


def count(vote) -> Tally:
    """The tally of a stored vote: its frozen electorate and its ballots (reads only, writes nothing)."""
    electorate = list(vote.entries.order_by("seq").values_list("pk", "area"))
    ballots = list(vote.ballots.values_list("entry_id", "choice", "receipt"))
    return tally(matter=vote.matter, electorate=electorate, ballots=ballots)


@dataclass(frozen=True)
class Group:
    """One electorate entry before it is stored: rooms that share owners, with all those owners."""

    room_ids: tuple[int, ...]
    person_ids: tuple[int, ...]
    area: Decimal


def group_owners(rows: Iterable[tuple[int, Decimal, int]]) -> list[Group]:
    """Group ``(room id, room area, owner person id)`` rows into electorate entries: rooms connected by
    a common owner form one entry; each room's area counts once. Sorted by smallest room id."""
    parent: dict[int, int] = {}
    room_area: dict[int, Decimal] = {}
    owner_room: dict[int, int] = {}

    def find(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for room_id, area, person_id in rows:
        room_area[room_id] = Decimal(area)
        parent.setdefault(room_id, room_id)
        if person_id in owner_room:
            a, b = find(owner_room[person_id]), find(room_id)
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            owner_room[person_id] = room_id
    rooms_of: dict[int, list[int]] = {}
    for r in parent:
        rooms_of.setdefault(find(r), []).append(r)
    people_of: dict[int, list[int]] = {}
    for p, r in owner_room.items():
        people_of.setdefault(find(r), []).append(p)
    groups = [
        Group(
            room_ids=tuple(sorted(rooms)),
            person_ids=tuple(sorted(people_of[root])),
            area=sum((room_area[r] for r in rooms), Decimal(0)),
        )
        for root, rooms in rooms_of.items()
    ]
    return sorted(groups, key=lambda g: g.room_ids[0])
