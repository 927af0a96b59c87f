"""The default-account system check (R39)."""

from django.core import checks

from linli.orgs.tests import factories as orgs_f


def _errors() -> list[tuple[str, str]]:
    found = checks.run_checks(databases=["default"])
    return sorted((e.id, e.obj) for e in found if e.id.startswith("accounts.E"))


def test_clean_database_passes(db):
    orgs_f.user(username="zhang.wei")

    assert _errors() == []


def test_reserved_usernames_fail(db):
    orgs_f.user(username="Admin")
    orgs_f.user(username="sa", kind="resident")

    assert _errors() == [("accounts.E001", "Admin"), ("accounts.E001", "sa")]


def test_disabled_reserved_username_passes(db):
    orgs_f.user(username="root", is_active=False)

    assert _errors() == []


def test_known_default_password_fails(db):
    orgs_f.user(username="li.na", password="123456")
    orgs_f.user(username="wang.fang", password="wang.fang")

    assert _errors() == [("accounts.E003", "li.na"), ("accounts.E003", "wang.fang")]


def test_staff_without_a_usable_password_fails(db):
    user = orgs_f.user(username="zhao.lei")
    user.set_unusable_password()
    user.save(update_fields=["password"])

    assert _errors() == [("accounts.E002", "zhao.lei")]


def test_check_is_skipped_without_a_database(db):
    orgs_f.user(username="admin")

    assert [e for e in checks.run_checks() if e.id == "accounts.E001"] == []
