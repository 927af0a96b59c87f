from linli.people.tests import factories as people_f
from linli.privacy.tests.pii import find_pii, is_valid_id_number


def test_finds_valid_id_numbers_and_mobiles_in_order():
    id_no = people_f.id_number(seq=7)
    text = f"电话 13912345678，证件 {id_no}；另一个 18800001111。"

    assert find_pii(text) == ["13912345678", id_no, "18800001111"]


def test_ignores_masked_values_invalid_checksums_and_longer_numbers():
    id_no = people_f.id_number(seq=8)
    bad_check = id_no[:17] + ("0" if id_no[17] != "0" else "1")
    text = f"{id_no[:4]}**********{id_no[-4:]} 139****5678 {bad_check} 1391234567890 x{id_no}9"

    assert find_pii(text) == []
    assert is_valid_id_number(id_no) is True
    assert is_valid_id_number(bad_check) is False


def test_an_id_number_is_not_also_reported_as_a_mobile():
    id_no = "11010519491231002X"

    assert find_pii(f"id={id_no}") == [id_no]
