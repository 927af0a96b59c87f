"""``linli check_app_shape`` on small trees: quiet success, or a non-zero exit naming each problem."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from linli.core.tests.test_shape import APP, write


def run(root: Path, allowlist: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check_app_shape", root=root, allowlist=allowlist, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_an_app_in_shape_passes(tmp_path):
    # given one complete app and an empty allow-list
    root = write(tmp_path, {"linli/__init__.py": "", **APP})
    # when the shape is checked
    out, err = run(root, tmp_path / "allow.toml")
    # then it says so and complains about nothing
    assert (out, err) == ("1 apps in shape\n", "")


def test_each_problem_is_named_and_the_exit_is_non_zero(tmp_path):
    # given an app without selectors, a long module and an env read outside linli/config
    files = {"linli/__init__.py": "", **APP, "linli/shop/big.py": "x = 1\n" * 801}
    files["linli/shop/services/__init__.py"] = "import os\nDEBUG = os.environ.get('LINLI_DEBUG')\n"
    del files["linli/shop/selectors.py"]
    root = write(tmp_path, files)
    err = StringIO()
    # when the shape is checked
    with pytest.raises(CommandError, match=r"^3 shape problem\(s\)"):
        call_command("check_app_shape", root=root, allowlist=tmp_path / "allow.toml", stderr=err)
    # then every problem is on its own line
    assert err.getvalue().splitlines() == [
        "linli/shop: no selectors.py or selectors/ package",
        "linli/shop/big.py: 801 lines (over 800); split it into a package",
        "linli/shop/services/__init__.py:2: reads LINLI_DEBUG; read it in linli/config",
    ]


def test_the_allow_list_exempts_with_reasons(tmp_path):
    # given the same long module and missing selectors, both allow-listed, the long one by an ADR
    files = {"linli/__init__.py": "", **APP, "linli/shop/big.py": "x = 1\n" * 801}
    del files["linli/shop/selectors.py"]
    files["docs/adr/0001-big.md"] = "linli/shop/big.py stays one file because ..."
    files["allow.toml"] = (
        '[missing_parts.shop]\nselectors = "reads nothing"\n\n'
        '[[long_modules]]\npath = "linli/shop/big.py"\nmax_lines = 801\nadr = "0001-big.md"\n'
    )
    root = write(tmp_path, files)
    # when the shape is checked
    out, err = run(root, root / "allow.toml")
    # then it passes
    assert (out, err) == ("1 apps in shape\n", "")


def test_an_app_split_into_sub_domain_packages_has_its_parts_there(tmp_path):
    # given an app whose services and selectors live in a sub-domain package (ADR 0012)
    files = {"linli/__init__.py": "", **APP}
    del files["linli/shop/selectors.py"]
    files["linli/shop/orders/__init__.py"] = ""
    files["linli/shop/orders/selectors.py"] = ""
    root = write(tmp_path, files)
    # when the shape is checked
    out, err = run(root, tmp_path / "allow.toml")
    # then the sub-package counts
    assert (out, err) == ("1 apps in shape\n", "")
