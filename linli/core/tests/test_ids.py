"""``id_or_404``: an id from a request either fits the database or cannot exist (404)."""

import pytest

from linli.core.errors import NotFound
from linli.core.scoping import MAX_ID, id_or_404


def test_an_id_that_fits_is_returned_as_an_int():
    assert id_or_404(7) == 7
    assert id_or_404("42") == 42
    assert id_or_404(MAX_ID) == MAX_ID


@pytest.mark.parametrize("value", [0, -3, MAX_ID + 1, "x", "", None, True, 1.0, "1.5"])
def test_anything_else_is_not_found(value):
    with pytest.raises(NotFound):
        id_or_404(value)
