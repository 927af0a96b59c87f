"""English translation: the language switch, Accept-Language for the API, and a complete catalogue.

zh-Hans is the source language (docs/adr/0005); English lives in linli/locale/en and is kept complete
by scripts/i18n.sh (extract / --compile / --check), whose checker these tests share.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from django.conf import settings

from linli.orgs.roles import Role

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
CHECKER = Path(settings.BASE_DIR).parent / "scripts" / "i18n_check.py"


def _checker():
    spec = importlib.util.spec_from_file_location("i18n_check", CHECKER)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("i18n_check", module)
    spec.loader.exec_module(module)
    return module


i18n_check = _checker()


@pytest.mark.django_db
def test_login_page_is_in_chinese_by_default(client):
    body = client.get("/accounts/login/").content.decode()

    assert '<html lang="zh-hans">' in body
    assert "邻里 · 工作人员登录" in body


@pytest.mark.django_db
def test_language_switch_turns_the_login_page_english(client):
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    body = client.get("/accounts/login/").content.decode()

    assert switched.status_code == 302 and switched["Location"] == "/accounts/login/"
    assert '<html lang="en">' in body
    assert "<title>Staff sign-in · Linli Smart Community</title>" in body
    assert "Linli · Staff sign-in" in body
    assert '<button type="submit">Sign in</button>' in body
    assert "工作人员登录" not in body


@pytest.mark.django_db
def test_language_switch_turns_the_console_home_english(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    client.post("/i18n/setlang/", {"language": "en", "next": "/console/"})
    body = client.get("/console/").content.decode()

    assert '<html lang="en">' in body
    assert "<h1>Community overview</h1>" in body
    assert "Sign out" in body and "Regions and buildings" in body
    assert "社区概览" not in body and "退出" not in body


@pytest.mark.django_db
def test_switching_back_restores_chinese(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    client.post("/i18n/setlang/", {"language": "en", "next": "/console/"})

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/console/"})
    body = client.get("/console/").content.decode()

    assert "<h1>社区概览</h1>" in body
    assert "Community overview" not in body


@pytest.mark.django_db
def test_api_error_message_is_english_with_accept_language_en(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.get("/api/v1/people/persons/999999", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response["Content-Language"] == "en"
    assert response.json() == {
        "error": {"code": "not_found", "message": "The object does not exist or is outside your scope"}
    }


@pytest.mark.django_db
def test_api_error_message_is_chinese_without_accept_language(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.get("/api/v1/people/persons/999999")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "对象不存在或不在您的管辖范围内"}}


@pytest.mark.django_db
def test_api_unauthenticated_message_is_english_with_accept_language_en(client):
    response = client.get("/api/v1/people/persons", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Sign in or provide a valid access token"


def test_po_file_has_no_untranslated_or_fuzzy_entry():
    assert i18n_check.problems(PO) == []


def test_po_file_translates_a_plural_in_both_forms():
    entry = next(e for e in i18n_check.parse_po(PO) if e.msgid == "共 %(counter)s 套")

    assert entry.msgstr == {0: "%(counter)s room", 1: "%(counter)s rooms"}


def test_mo_file_is_compiled_from_the_po_file():
    assert i18n_check.mo_problems(PO) == []


def test_checker_reports_untranslated_fuzzy_and_broken_placeholders(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "房屋"\nmsgstr "Rooms"\n\n'
        'msgid "楼栋"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "单元"\nmsgstr "Unit"\n\n'
        '#, python-format\nmsgid "共 %(n)s 人"\nmsgstr "%(count)s people"\n\n'
        'msgid "%(counter)s 套"\nmsgid_plural "%(counter)s 套"\nmsgstr[0] "one room"\nmsgstr[1] ""\n\n'
        '#~ msgid "旧"\n#~ msgstr ""\n',
        encoding="utf-8",
    )

    assert i18n_check.problems(po) == [
        "untranslated: line 8: '楼栋'",
        "fuzzy: line 12: '单元'",
        "placeholders ['%(count)s'] instead of ['%(n)s']: line 16: '共 %(n)s 人'",
        "untranslated: line 19: '%(counter)s 套'",
    ]


def test_checker_reports_a_stale_mo_file(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(PO.read_text(encoding="utf-8").replace('msgstr "Sign out"', 'msgstr "Log out"'), "utf-8")
    (tmp_path / "django.mo").write_bytes(PO.with_suffix(".mo").read_bytes())

    line = _line_of(po, 'msgid "退出"')

    assert i18n_check.mo_problems(po) == [f"not compiled: line {line}: '退出'"]


def _line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1
