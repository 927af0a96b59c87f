import dataclasses
import os

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from linli.core import crypto
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.tests import factories as orgs_f
from linli.people.models import CareKind, Person
from linli.people.tests import factories as people_f
from linli.places.tests import factories as places_f


@pytest.fixture
def use_keys():
    """Switch the configured field keys for one test (first = primary); restore afterwards."""
    original = django_settings.SECRETS

    def apply(keys: list[tuple[str, bytes]], *, index_key: bytes | None = None) -> None:
        django_settings.SECRETS = dataclasses.replace(
            original,
            field_keys=dict(keys),
            primary_key_id=keys[0][0],
            index_key=index_key if index_key is not None else original.index_key,
        )
        crypto.reset_key_cache()

    yield apply
    django_settings.SECRETS = original
    crypto.reset_key_cache()


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


K1, K2 = os.urandom(32), os.urandom(32)


@pytest.mark.django_db
def test_rotation_re_encrypts_everything_under_the_new_primary_key(use_keys, capsys):
    use_keys([("k1", K1)])
    estate = places_f.estate()
    person = people_f.person(estate=estate)
    id_no, phone = person.id_number, person.phone
    tag = people_f.care_tag(person=person, kind=CareKind.ELDERLY_ALONE, note="高血压，每周探访")
    user = orgs_f.user(phone="13900001111", totp_secret="JBSWY3DPEHPK3PXP")
    assert _raw("people_person", "id_number", person.pk).startswith("v1.k1.")

    use_keys([("k2", K2), ("k1", K1)])
    with pytest.raises(CommandError):
        call_command("rotate_keys", "--check")
    capsys.readouterr()
    call_command("rotate_keys", "--batch-size", "1")
    out = capsys.readouterr().out

    assert "people.person: 2 re-encrypted" in out
    assert "people.caretag: 1 re-encrypted" in out
    assert "accounts.user: 2 re-encrypted" in out
    for table, column, pk in (
        ("people_person", "id_number", person.pk),
        ("people_person", "phone", person.pk),
        ("people_caretag", "note", tag.pk),
        ("accounts_user", "totp_secret", user.pk),
    ):
        assert crypto.key_id_of(_raw(table, column, pk)) == "k2"
    event = AuditEvent.objects.get(action=Action.KEY_ROTATION)
    assert (event.actor_label, event.object_type, event.object_id) == (
        "system:rotate_keys",
        "core.field_key",
        "k2",
    )
    assert event.detail["re_encrypted"]["people.person"] == 2

    call_command("rotate_keys", "--check")  # exits 0 now
    call_command("rotate_keys")
    assert "people.person: 0 re-encrypted" in capsys.readouterr().out  # idempotent

    use_keys([("k2", K2)])  # the old key is removed
    fresh = Person.objects.get(pk=person.pk)
    assert (fresh.id_number, fresh.phone) == (id_no, phone)
    assert fresh.care_tags.get().note == "高血压，每周探访"
    assert type(user).objects.get(pk=user.pk).totp_secret == "JBSWY3DPEHPK3PXP"


@pytest.mark.django_db
def test_check_reports_counts_per_key(use_keys, capsys):
    use_keys([("k1", K1)])
    people_f.person(estate=places_f.estate())
    use_keys([("k2", K2), ("k1", K1)])

    with pytest.raises(CommandError) as exc:
        call_command("rotate_keys", "--check")

    assert "2 values are still under non-primary keys" in str(exc.value)
    assert "people.person: 2 under old keys (k1=2)" in capsys.readouterr().out


@pytest.mark.django_db
def test_without_the_old_key_unrotated_values_cannot_be_read(use_keys):
    use_keys([("k1", K1)])
    person = people_f.person(estate=places_f.estate())
    use_keys([("k2", K2)])

    with pytest.raises(crypto.DecryptionError):
        Person.objects.get(pk=person.pk)


@pytest.mark.django_db
def test_reindex_recomputes_blind_indexes_with_a_new_index_key(use_keys, capsys):
    use_keys([("k1", K1)])
    person = people_f.person(estate=places_f.estate())
    user = orgs_f.user(
        phone="13900002222", phone_hash=crypto.blind_index("13900002222", purpose=crypto.INDEX_PHONE)
    )
    new_index = os.urandom(32)

    use_keys([("k1", K1)], index_key=new_index)
    call_command("rotate_keys", "--reindex")

    person.refresh_from_db()
    user.refresh_from_db()
    assert person.id_number_hash == crypto.blind_index(person.id_number, purpose=crypto.INDEX_ID_NUMBER)
    assert person.phone_hash == crypto.blind_index(person.phone, purpose=crypto.INDEX_PHONE)
    assert user.phone_hash == crypto.blind_index("13900002222", purpose=crypto.INDEX_PHONE)
    assert (
        Person.objects.filter(
            id_number_hash=crypto.blind_index(person.id_number, purpose=crypto.INDEX_ID_NUMBER)
        ).get()
        == person
    )
    assert "people.person.id_number_hash: 1 recomputed" in capsys.readouterr().out
    assert (
        AuditEvent.objects.get(action=Action.KEY_ROTATION).detail["reindexed"]["accounts.user.phone_hash"]
        == 1
    )


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError):
        call_command("rotate_keys", "--batch-size", "0")
