"""Names are stored without the characters that spoof how they display (issue #12)."""

from __future__ import annotations

import pytest

from linli.core.cleaning import clean_name, strip_invisible
from linli.core.errors import ValidationFailed


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("王\u202e五\u200b", "王五"),
        ("\u2066李\u2069\u200c\u200d\u200e\u200f四", "李四"),
        ("\ufeff张\u2060三\u2061", "张三"),
        ("赵\x00\x07\t六\n", "赵 六"),
        ("Li\u3000\u00a0 Na", "Li Na"),
        ("\u3164", ""),
        (None, ""),
    ],
)
def test_strip_invisible_drops_bidi_zero_width_and_control_characters(raw, stored):
    assert strip_invisible(raw) == stored


def test_a_name_of_only_invisible_characters_is_missing():
    with pytest.raises(ValidationFailed) as exc:
        clean_name("\u202e\u200b", field="name", max_length=60, required=True)
    assert exc.value.fields == {"name": ["此项为必填项"]}
