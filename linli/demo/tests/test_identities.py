"""Generated identities are well-formed and unique (pure functions, no database)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from linli.core.pii import (
    InvalidIdentifier,
    parse_credit_code,
    parse_id_number,
    parse_mobile,
    parse_plate,
)
from linli.demo import identities as ident


def test_id_numbers_are_valid_and_carry_birth_date_and_gender():
    # given a pool
    pool = ident.IdentityPool(random.Random(1))
    # when numbers are drawn for men and women
    men = [pool.id_number(area="140105", birth=date(1980, 2, 29), male=True) for _ in range(50)]
    women = [pool.id_number(area="140109", birth=date(1995, 12, 31), male=False) for _ in range(50)]
    # then each parses with the given birth date and gender, and none repeats
    assert {parse_id_number(n)[1:] for n in men} == {(date(1980, 2, 29), "1")}
    assert {parse_id_number(n)[1:] for n in women} == {(date(1995, 12, 31), "2")}
    assert len(set(men + women)) == 100


def test_mobiles_are_valid_and_unique():
    pool = ident.IdentityPool(random.Random(2))
    numbers = [pool.mobile() for _ in range(2000)]
    assert all(parse_mobile(n) == n for n in numbers)
    assert len(set(numbers)) == 2000


def test_plates_have_the_shanxi_format():
    # given a pool
    pool = ident.IdentityPool(random.Random(3))
    # when petrol and electric plates are drawn
    petrol = [pool.plate(electric=False) for _ in range(300)]
    electric = [pool.plate(electric=True) for _ in range(100)]
    # then petrol plates have 7 characters, new-energy ones 8 with D/F, and none has I or O
    assert all(p.startswith("晋") and len(p) == 7 for p in petrol)
    assert all(len(p) == 8 and p[2] in "DF" and p[3:].isdigit() for p in electric)
    assert all(parse_plate(ident.display_plate(p)) == p for p in petrol + electric)
    assert ident.display_plate("晋A12345") == "晋A·12345"


def test_credit_codes_pass_the_gb32100_check():
    rng = random.Random(4)
    codes = [ident.credit_code(rng) for _ in range(200)]
    assert all(parse_credit_code(c) == c for c in codes)
    with pytest.raises(InvalidIdentifier):
        parse_credit_code(codes[0][:17] + ("0" if codes[0][17] != "0" else "1"))


def test_names_use_the_family_name_given():
    rng = random.Random(5)
    names = [ident.person_name(rng, male=i % 2 == 0, family="欧阳") for i in range(20)]
    assert all(n.startswith("欧阳") and 3 <= len(n) <= 4 for n in names)
    assert ident.family_name_of(names[0]) == "欧阳"
