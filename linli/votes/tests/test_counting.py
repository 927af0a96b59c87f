"""Worked examples of the art. 278 counting rules (pure function, no database)."""

import hashlib
from decimal import Decimal
from fractions import Fraction

import pytest

from linli.votes.counting import ballot_digest, group_owners, tally

A, X, S = "agree", "against", "abstain"


def _run(matter, areas, choices):
    """areas: one area per entry; choices: one choice (or None = did not vote) per entry."""
    electorate = [(i, a) for i, a in enumerate(areas)]
    ballots = [(i, c, f"R{i:03d}") for i, c in enumerate(choices) if c is not None]
    return tally(matter=matter, electorate=electorate, ballots=ballots)


# --- participation (quorum) ---------------------------------------------------------------------


def test_quorum_exactly_two_thirds_passes():
    # 3 owners of 100 m² each; 2 vote, both agree: 200/300 = 2/3 of area, 2/3 of owners
    t = _run("ordinary", ["100", "100", "100"], [A, A, None])
    assert (t.area_participation, t.owner_participation) == (Fraction(2, 3), Fraction(2, 3))
    assert t.quorum_met is True and t.passed is True


def test_quorum_area_just_below_two_thirds_fails():
    # the absent owner has 0.01 m² more: 200/300.01 < 2/3 though owners are exactly 2/3
    t = _run("ordinary", ["100", "100", "100.01"], [A, A, None])
    assert t.area_participation == Fraction(20000, 30001)
    assert t.area_participation < Fraction(2, 3)
    assert t.quorum_met is False and t.passed is False


def test_quorum_area_just_above_two_thirds():
    t = _run("ordinary", ["100.01", "100", "100"], [A, A, None])
    assert t.area_participation == Fraction(20001, 30001) > Fraction(2, 3)
    assert t.quorum_met is True and t.passed is True


def test_quorum_owners_just_under_two_thirds_fails_despite_area():
    # 5 owners, one with 1000 m²: 3 of 5 vote (3/5 < 2/3) holding 1002/1004 of the area
    t = _run("ordinary", ["1000", "1", "1", "1", "1"], [A, A, A, None, None])
    assert t.area_participation == Fraction(1002, 1004)
    assert t.owner_participation == Fraction(3, 5)
    assert t.quorum_met is False and t.passed is False


def test_quorum_counts_abstentions():
    t = _run("ordinary", ["100"] * 3, [A, S, None])
    assert t.quorum_met is True
    assert (t.voted_owners, t.abstain_owners, t.agree_owners) == (2, 1, 1)
    assert t.passed is False  # 1/2 agree of participants is not more than half


def test_no_electorate_never_passes():
    t = _run("ordinary", [], [])
    assert (t.quorum_met, t.passed, t.total_area, t.area_participation) == (False, False, 0, 0)


# --- ordinary matter: > 1/2 (strict) ------------------------------------------------------------


def test_ordinary_tie_fails():
    t = _run("ordinary", ["100"] * 4, [A, A, X, X])
    assert (t.agree_area_share, t.agree_owner_share) == (Fraction(1, 2), Fraction(1, 2))
    assert t.quorum_met is True and t.passed is False


def test_ordinary_area_tie_fails_even_with_owner_majority():
    # 3 agree (60+60+80 = 200) vs 2 against (100+100 = 200): owners 3/5, area exactly 1/2
    t = _run("ordinary", ["60", "60", "80", "100", "100"], [A, A, A, X, X])
    assert t.agree_area_share == Fraction(1, 2)
    assert t.agree_owner_share == Fraction(3, 5)
    assert t.passed is False


def test_ordinary_area_just_above_half_passes():
    t = _run("ordinary", ["60", "60", "80.01", "100", "100"], [A, A, A, X, X])
    assert t.agree_area_share == Fraction(20001, 40001) > Fraction(1, 2)
    assert t.passed is True


def test_ordinary_owners_just_below_half_fails():
    # area large for 同意 but owners 2 of 5 agree
    t = _run("ordinary", ["500", "500", "1", "1", "1"], [A, A, X, X, X])
    assert t.agree_owner_share == Fraction(2, 5)
    assert t.passed is False


def test_ordinary_abstention_blocks_majority():
    # 2 agree, 1 against, 1 abstain: 同意 has 2/4 of participants — not more than half
    t = _run("ordinary", ["100"] * 4, [A, A, X, S])
    assert t.agree_owner_share == Fraction(1, 2)
    assert t.passed is False
    # one more agreeing owner makes 3/5
    t = _run("ordinary", ["100"] * 5, [A, A, A, X, S])
    assert t.agree_owner_share == Fraction(3, 5)
    assert t.passed is True


# --- major matter: ≥ 3/4 (inclusive) -------------------------------------------------------------


def test_major_exactly_three_quarters_passes():
    t = _run("major", ["100"] * 4, [A, A, A, X])
    assert (t.agree_area_share, t.agree_owner_share) == (Fraction(3, 4), Fraction(3, 4))
    assert t.passed is True


def test_major_area_just_below_three_quarters_fails():
    t = _run("major", ["100", "100", "100", "100.01"], [A, A, A, X])
    assert t.agree_area_share == Fraction(30000, 40001) < Fraction(3, 4)
    assert t.agree_owner_share == Fraction(3, 4)
    assert t.passed is False


def test_major_area_just_above_three_quarters_passes():
    t = _run("major", ["100.01", "100", "100", "100"], [A, A, A, X])
    assert t.agree_area_share == Fraction(30001, 40001) > Fraction(3, 4)
    assert t.passed is True


def test_major_owners_just_below_three_quarters_fails():
    # 7 of 10 agree (0.7); area: 同意 holds 7000 of 7300
    t = _run("major", ["1000"] * 7 + ["100"] * 3, [A] * 7 + [X] * 3)
    assert t.agree_owner_share == Fraction(7, 10)
    assert t.agree_area_share == Fraction(70, 73) > Fraction(3, 4)
    assert t.passed is False


def test_major_abstentions_count_against_threshold():
    # 3 agree, 1 abstain: 3/4 → passes; 3 agree, 1 abstain, 1 against: 3/5 → fails
    assert _run("major", ["100"] * 4, [A, A, A, S]).passed is True
    assert _run("major", ["100"] * 5, [A, A, A, S, X]).passed is False


def test_major_needs_quorum_too():
    # unanimous among voters but only 6 of 10 owners voted
    t = _run("major", ["100"] * 10, [A] * 6 + [None] * 4)
    assert t.agree_owner_share == 1
    assert t.quorum_met is False and t.passed is False


def test_totals_by_choice():
    t = _run("ordinary", ["89.5", "120.25", "60", "75"], [A, X, S, None])
    assert (t.total_area, t.voted_area) == (Fraction("344.75"), Fraction("269.75"))
    assert (t.agree_area, t.against_area, t.abstain_area) == (
        Fraction("89.5"),
        Fraction("120.25"),
        Fraction(60),
    )
    assert (t.total_owners, t.voted_owners, t.agree_owners, t.against_owners, t.abstain_owners) == (
        4,
        3,
        1,
        1,
        1,
    )


def test_rejects_bad_ballots():
    with pytest.raises(ValueError):
        tally(matter="ordinary", electorate=[(1, "10")], ballots=[(2, A, "R")])
    with pytest.raises(ValueError):
        tally(matter="ordinary", electorate=[(1, "10")], ballots=[(1, A, "R1"), (1, X, "R2")])
    with pytest.raises(ValueError):
        tally(matter="ordinary", electorate=[(1, "10")], ballots=[(1, "maybe", "R1")])
    with pytest.raises(ValueError):
        tally(matter="unanimous", electorate=[], ballots=[])


# --- electorate grouping -------------------------------------------------------------------------


def test_owner_with_two_rooms_is_one_entry_with_summed_area():
    groups = group_owners([(1, Decimal("89.50"), 10), (2, Decimal("60.25"), 10), (3, Decimal("100"), 11)])
    assert [(g.room_ids, g.person_ids, g.area) for g in groups] == [
        ((1, 2), (10,), Decimal("149.75")),
        ((3,), (11,), Decimal("100")),
    ]


def test_co_owners_share_one_entry_and_area_counts_once():
    groups = group_owners([(1, Decimal("89.50"), 10), (1, Decimal("89.50"), 11), (2, Decimal("70"), 12)])
    assert [(g.room_ids, g.person_ids, g.area) for g in groups] == [
        ((1,), (10, 11), Decimal("89.50")),
        ((2,), (12,), Decimal("70")),
    ]


def test_rooms_chained_through_co_owners_form_one_entry():
    # A owns 1 and 2 (with B); B also owns 3 → one owner entry over rooms 1, 2, 3
    groups = group_owners(
        [(1, Decimal(50), 1), (2, Decimal(60), 1), (2, Decimal(60), 2), (3, Decimal(70), 2)]
    )
    assert [(g.room_ids, g.person_ids, g.area) for g in groups] == [((1, 2, 3), (1, 2), Decimal(180))]


def test_two_room_owner_counts_once_in_tally():
    groups = group_owners([(1, Decimal(100), 1), (2, Decimal(100), 1), (3, Decimal(100), 2)])
    t = tally(
        matter="ordinary",
        electorate=[(g.room_ids, g.area) for g in groups],
        ballots=[((1, 2), A, "R1")],
    )
    # the two-room owner alone: 200/300 area, 1/2 owners → quorum fails on headcount
    assert (t.total_owners, t.voted_owners, t.area_participation) == (2, 1, Fraction(2, 3))
    assert t.quorum_met is False


# --- digest -------------------------------------------------------------------------------------


def test_digest_is_sha256_of_sorted_lines_and_order_independent():
    pairs = [("K2", "against"), ("K1", "agree")]
    expected = hashlib.sha256(b"K1,agree\nK2,against\n").hexdigest()
    assert ballot_digest(pairs) == expected == ballot_digest(reversed(pairs))
    t = tally(
        matter="ordinary", electorate=[(1, 1), (2, 1)], ballots=[(2, "against", "K2"), (1, "agree", "K1")]
    )
    assert t.digest == expected
    assert ballot_digest([("K1", "agree"), ("K2", "agree")]) != expected
