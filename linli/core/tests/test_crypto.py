import pytest
from django.db import connection

from linli.core import crypto
from linli.people.models import Person
from linli.people.tests import factories as people_f
from linli.places.tests import factories as places_f


def test_round_trip_and_context_binding():
    token = crypto.encrypt("140105198005170013", context="people_person.id_number")

    assert crypto.decrypt(token, context="people_person.id_number") == "140105198005170013"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, context="people_person.phone")


def test_tampered_ciphertext_is_refused():
    token = crypto.encrypt("13912345678", context="t.c")
    head, body = token.rsplit(".", 1)
    flipped = head + "." + ("A" if body[5] != "A" else "B").join([body[:5], body[6:]])

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(flipped, context="t.c")


@pytest.mark.django_db
def test_sensitive_values_are_not_readable_in_the_raw_table_but_lookup_works():
    estate = places_f.estate()
    id_no = people_f.id_number(seq=42)
    person = people_f.person(estate=estate, id_no=id_no, phone="13987654321")

    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone, id_number_hash FROM people_person WHERE id = %s", [person.pk])
        raw_id, raw_phone, raw_hash = cur.fetchone()

    assert id_no not in raw_id and raw_id.startswith("v1.")
    assert "13987654321" not in raw_phone
    assert id_no not in raw_hash
    found = Person.objects.get(id_number_hash=crypto.blind_index(id_no, purpose=crypto.INDEX_ID_NUMBER))
    assert found.pk == person.pk and found.id_number == id_no
