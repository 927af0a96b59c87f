import pytest

from linli.orgs.tests import factories as orgs_f
from linli.people.tests import factories as people_f
from linli.people.tests.conftest import full_ids_in, mobiles_in


@pytest.mark.django_db
def test_admin_shows_people_masked_and_read_only(world, login):
    superuser = orgs_f.user(username="root_admin_people", is_staff=True, is_superuser=True)
    person = world.a.persons[1]
    people_f.care_tag(person=person, kind="disabled", note="敏感备注")
    client = login(superuser)

    listing = client.get("/admin/people/person/")
    detail = client.get(f"/admin/people/person/{person.pk}/change/")
    tags = client.get(f"/admin/people/caretag/{person.care_tags.get().pk}/change/")
    add = client.get("/admin/people/person/add/")

    html = listing.content.decode() + detail.content.decode()
    assert (listing.status_code, detail.status_code, add.status_code) == (200, 200, 403)
    assert person.id_number not in html and person.phone not in html
    assert full_ids_in(html) == [] and mobiles_in(html) == []
    assert person.id_number[:4] + "*" * 10 + person.id_number[-4:] in html
    assert "敏感备注" not in tags.content.decode()
