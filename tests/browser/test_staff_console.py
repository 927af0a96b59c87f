"""Staff console in a desktop browser: sign in, open the residents list, see masked rows of the own estate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linli.orgs.roles import Role
from linli.orgs.tests.factories import PASSWORD
from linli.privacy.tests.pii import find_pii

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.mark.django_db(transaction=True)
def test_staff_signs_in_and_browses_the_masked_residents_list(world, live_server, desktop):
    admin = world.a.staff[Role.PROPERTY_ADMIN]

    desktop.goto(f"{live_server.url}/console/")
    desktop.fill("#id_username", admin.username)
    desktop.fill("#id_password", PASSWORD)
    desktop.click("button[type=submit]")
    desktop.wait_for_url(re.compile(r"/console/$"))
    assert world.a.estate.name in desktop.inner_text("main")
    assert world.b.estate.name not in desktop.inner_text("main")

    desktop.click("nav.sidenav >> text=住户列表")
    desktop.wait_for_url(re.compile(r"/console/people/"))
    table = desktop.inner_text("main table")
    SHOTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(SHOTS / "console-residents.png"), full_page=True)

    rows = desktop.locator("main table tbody tr")
    assert rows.count() == len(world.a.persons)
    assert find_pii(desktop.content()) == []
    for person in world.a.persons:
        assert person.name not in table  # names are masked in lists
    assert "*" in table


@pytest.mark.django_db(transaction=True)
def test_wrong_password_is_refused_with_a_message(world, live_server, desktop):
    desktop.goto(f"{live_server.url}/accounts/login/")
    desktop.fill("#id_username", world.a.staff[Role.GUARD].username)
    desktop.fill("#id_password", "not-the-password-123")
    desktop.click("button[type=submit]")

    assert desktop.locator("[role=alert]").is_visible()
    assert "/accounts/login/" in desktop.url
