from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.core.pii import (
    InvalidIdentifier,
    credit_check_char,
    id_check_digit,
    identity_parse,
    mask_id,
    mask_name,
    mask_phone,
    parse_contact_phone,
    parse_credit_code,
    parse_id_number,
    parse_mobile,
    parse_plate,
)

PROVINCES = [
    11,
    12,
    13,
    14,
    15,
    21,
    22,
    23,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    41,
    42,
    43,
    44,
    45,
    46,
    50,
    51,
    52,
    53,
    54,
    61,
    62,
    63,
    64,
    65,
]


@st.composite
def valid_ids(draw) -> str:
    province = draw(st.sampled_from(PROVINCES))
    area = draw(st.integers(min_value=0, max_value=9999))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    order = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{province:02d}{area:04d}{birth:%Y%m%d}{order:03d}"
    return first17 + id_check_digit(first17)


@given(valid_ids())
def test_generated_valid_ids_pass_and_tell_birth_and_gender(number):
    # when
    parsed, birth, gender = parse_id_number(number)

    # then
    assert parsed == number
    assert birth == date(int(number[6:10]), int(number[10:14][:2]), int(number[12:14]))
    assert gender == ("1" if int(number[16]) % 2 else "2")


@given(valid_ids(), st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_fails(number, position, shift):
    # given: one character replaced by a different digit
    old = number[position]
    new = str((int(old) + shift) % 10) if old != "X" else str(shift)
    changed = number[:position] + new + number[position + 1 :]

    # when / then
    with pytest.raises(InvalidIdentifier):
        parse_id_number(changed)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1101051980010112",
        "11010519800101123456",
        "110105198013011234",
        "990105198001011234",
        "11010519800101123A",
    ],
)
def test_malformed_id_numbers_fail(value):
    with pytest.raises(InvalidIdentifier):
        parse_id_number(value)


def test_lowercase_x_and_spaces_are_normalised():
    first17 = "11010519491231002"
    number = first17 + id_check_digit(first17)

    assert parse_id_number(f" {number.lower()} ")[0] == number


def test_future_birth_date_fails():
    first17 = "11010520990101001"

    with pytest.raises(InvalidIdentifier):
        parse_id_number(first17 + id_check_digit(first17), today=date(2025, 1, 1))


@pytest.mark.parametrize(
    "value,expected",
    [
        ("13912345678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("0086 13912345678", "13912345678"),
    ],
)
def test_mobile_numbers_are_normalised(value, expected):
    assert parse_mobile(value) == expected


@pytest.mark.parametrize("value", ["", "12912345678", "1391234567", "139123456789", "abc"])
def test_bad_mobile_numbers_fail(value):
    with pytest.raises(InvalidIdentifier):
        parse_mobile(value)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("晋A12345", "晋A12345"),
        ("晋a·1234x", "晋A1234X"),
        ("京AD12345", "京AD12345"),  # new-energy small car, pure electric
        ("沪BFA1234", "沪BFA1234"),  # new-energy small car, hybrid, letter in second place
        ("粤B12345D", "粤B12345D"),  # new-energy large vehicle
        ("苏E1234学", "苏E1234学"),
        ("鲁C1234挂", "鲁C1234挂"),
    ],
)
def test_valid_plates(value, expected):
    assert parse_plate(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "晋I12345",
        "晋A1234",
        "晋A123456",
        "晋AZ12345",
        "晋A12O45",
        "XA12345",
        "晋112345",
        "京AD1234A",
        "粤B1234DD",
        "",
    ],
)
def test_invalid_plates(value):
    with pytest.raises(InvalidIdentifier):
        parse_plate(value)


def test_credit_code_check_character():
    first17 = "91140100MA0K12345"
    code = first17 + credit_check_char(first17)

    assert parse_credit_code(code.lower()) == code
    wrong = first17 + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidIdentifier):
        parse_credit_code(wrong)


def test_contact_phone_accepts_landline_or_mobile():
    assert parse_contact_phone("0351-7654321") == "0351-7654321"
    assert parse_contact_phone("139 1234 5678") == "13912345678"
    with pytest.raises(InvalidIdentifier):
        parse_contact_phone("12345")


def test_identity_of_other_documents_is_shape_checked_only():
    assert identity_parse(id_type="414", id_number=" e1234 5678 ").number == "E12345678"
    assert identity_parse(id_type="414", id_number="").number == ""
    with pytest.raises(InvalidIdentifier):
        identity_parse(id_type="414", id_number="护照号")
    with pytest.raises(InvalidIdentifier):
        identity_parse(id_type="999", id_number="E12345678")


def test_masks():
    assert mask_id("140105198005170013") == "1401**********0013"
    assert mask_phone("13912345678") == "139****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_id("") == "" and mask_phone("") == "" and mask_name("") == ""
