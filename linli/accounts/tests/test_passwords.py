"""Password strength (R40): zxcvbn with the user's context words refuses guessable passwords."""

from __future__ import annotations

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from linli.orgs.roles import Role
from linli.orgs.tests import factories as orgs_f
from linli.places.tests import factories as places_f

STRONG = "Correct-Horse-9-Battery"


def _refusal(password: str, user) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        password_validation.validate_password(password, user)
    return [e.code for e in exc.value.error_list]


@pytest.fixture
def guard_of_kly(db):
    """A guard of 康乐苑 (KLY) whose username is kly_tech."""
    estate = places_f.estate(name="康乐苑", code="KLY")
    user = orgs_f.user(username="kly_tech")
    orgs_f.staff(role=Role.GUARD, scope=[estate])  # another member of the same estate
    membership_org = orgs_f.organization(name="康乐物业")
    user.memberships.create(organization=membership_org, role=Role.GUARD).scope.set([estate])
    return user


@pytest.fixture
def guard_of_xfhy(db):
    estate = places_f.estate(name="学府花园", code="XFHY")
    return orgs_f.staff(role=Role.GUARD, scope=[estate], username="xf_guard")


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "qwertyuiopas", "linli-kangleyuan", "kly_techkly_tech"])
def test_guessable_passwords_are_refused_for_a_user_of_the_estate(guard_of_kly, password):
    assert "password_too_guessable" in _refusal(password, guard_of_kly)


def test_the_estate_name_repeated_is_refused(guard_of_xfhy):
    assert "password_too_guessable" in _refusal("学府花园学府花园学府花园", guard_of_xfhy)


def test_the_estate_name_in_pinyin_is_refused(guard_of_xfhy):
    assert "password_too_guessable" in _refusal("xuefuhuayuan-linli", guard_of_xfhy)


def test_the_refusal_says_why_in_chinese(guard_of_kly):
    with pytest.raises(ValidationError) as exc:
        password_validation.validate_password("kly_techkly_tech", guard_of_kly)
    assert "密码太容易被猜到：由重复的字符或词组成" in exc.value.messages


def test_a_strong_password_passes(guard_of_kly, guard_of_xfhy):
    password_validation.validate_password(STRONG, guard_of_kly)
    password_validation.validate_password("Tide-Lantern-47-Orchard", guard_of_xfhy)


def test_a_password_longer_than_zxcvbn_accepts_is_judged_not_crashed(guard_of_kly):
    password_validation.validate_password("Tide-Lantern-47-Orchard/" * 5, guard_of_kly)
