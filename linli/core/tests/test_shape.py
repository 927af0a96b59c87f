"""The shape rules of ``linli.core.shape``, on small trees and on this checkout (no import cycles)."""

from __future__ import annotations

from pathlib import Path

import linli
from linli.core import shape

ROOT = Path(linli.__file__).resolve().parent.parent


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_linli_has_no_import_cycles():
    # given every shipped module of this checkout, top-level and function-level imports alike
    modules = shape.source_modules(ROOT)
    # when the import graph is searched for cycles
    cycles = [str(c) for c in shape.import_cycles(modules)]
    # then there is none
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_a_function_level_import_closes_a_cycle(tmp_path):
    # given a.py importing b at the top and b.py importing a inside a function
    root = write(
        tmp_path,
        {
            "linli/__init__.py": "",
            "linli/a.py": "from linli import b\n",
            "linli/b.py": "def f():\n    from linli.a import x\n",
        },
    )
    # when cycles are searched
    cycles = shape.import_cycles(shape.source_modules(root))
    # then the one cycle is named with the line of each import
    assert [str(c) for c in cycles] == ["linli.a:1 -> linli.b:2 -> linli.a"]


def test_a_group_of_modules_is_named_with_its_shortest_loop(tmp_path):
    # given a <-> b and b <-> c
    root = write(
        tmp_path,
        {
            "linli/__init__.py": "",
            "linli/a.py": "import linli.b\n",
            "linli/b.py": "import linli.a\nimport linli.c\n",
            "linli/c.py": "import linli.b\n",
        },
    )
    # when cycles are searched
    cycles = shape.import_cycles(shape.source_modules(root))
    # then the group is one cycle: its shortest loop from the first module, and the rest named
    assert [str(c) for c in cycles] == ["linli.a:1 -> linli.b:1 -> linli.a (the group also holds linli.c)"]


def test_relative_imports_resolve_and_a_package_importing_its_children_is_no_cycle(tmp_path):
    # given a package whose __init__ re-exports a child that imports the package back
    root = write(
        tmp_path,
        {
            "linli/__init__.py": "",
            "linli/p/__init__.py": "from .child import thing\n",
            "linli/p/child.py": "from . import helper\nthing = 1\n",
            "linli/p/helper.py": "import linli.p\n",
        },
    )
    modules = shape.source_modules(root)
    # when imports and cycles are listed
    edges = sorted((i.importer, i.imported) for i in shape.imports(modules))
    cycles = shape.import_cycles(modules)
    # then the relative imports resolve to modules (``from . import helper`` loads the package too)
    # and the package's own loop is not reported
    assert edges == [
        ("linli.p", "linli.p.child"),
        ("linli.p.child", "linli.p"),
        ("linli.p.child", "linli.p.helper"),
        ("linli.p.helper", "linli.p"),
    ]
    assert cycles == []


def test_tests_and_migrations_are_not_shipped_modules(tmp_path):
    # given an app with tests and migrations
    root = write(
        tmp_path,
        {
            "linli/__init__.py": "",
            "linli/app/__init__.py": "",
            "linli/app/models.py": "",
            "linli/app/tests/test_models.py": "",
            "linli/app/migrations/0001_initial.py": "",
            "linli/conftest.py": "",
        },
    )
    # when the shipped modules are listed
    names = sorted(shape.source_modules(root))
    # then only the code that ships is there
    assert names == ["linli", "linli.app", "linli.app.models"]


APP = {
    "linli/shop/__init__.py": "",
    "linli/shop/apps.py": "",
    "linli/shop/models.py": "",
    "linli/shop/services/__init__.py": "",
    "linli/shop/selectors.py": "",
    "linli/shop/tests/__init__.py": "",
}


def test_an_app_needs_each_standard_part_unless_exempted(tmp_path):
    # given one complete app (services as a package) and one pages-only app with an exemption
    root = write(tmp_path, {**APP, "linli/pages/apps.py": "", "linli/pages/models.py": ""})
    allow = shape.Allowlist(missing_parts={"pages": {"services": "pages only"}})
    # when the standard parts are checked
    problems = shape.missing_parts(root, allow)
    # then only the parts neither present nor exempted are named
    assert problems == [
        "linli/pages: no selectors.py or selectors/ package",
        "linli/pages: no tests.py or tests/ package",
    ]


def test_an_exemption_that_exempts_nothing_must_go(tmp_path):
    # given a complete app still exempted from services, and an exemption for an app that is gone
    root = write(tmp_path, APP)
    allow = shape.Allowlist(missing_parts={"shop": {"services": "old"}, "gone": {"models": "old"}})
    # when the standard parts are checked
    problems = shape.missing_parts(root, allow)
    # then both exemptions are reported
    assert problems == [
        "linli/shop: has services now; drop its exemption from the allow-list",
        "linli/gone: exempted in the allow-list but not an app",
    ]


def test_long_modules_need_an_allow_list_entry_whose_adr_names_them(tmp_path):
    # given three long modules: one unlisted, one listed, one listed but grown, and tests left alone
    long_text = "x = 1\n" * 801
    root = write(
        tmp_path,
        {
            "linli/__init__.py": "",
            "linli/big.py": long_text,
            "linli/listed.py": long_text,
            "linli/grown.py": long_text + "y = 2\n",
            "linli/app/tests/test_long.py": long_text * 2,
            "docs/adr/0001-why.md": "linli/listed.py and linli/grown.py stay whole because ...",
        },
    )
    allow = shape.Allowlist(
        long_modules={"linli/listed.py": (801, "0001-why.md"), "linli/grown.py": (801, "0001-why.md")}
    )
    # when module lengths are checked
    problems = shape.long_modules(root, allow)
    # then the unlisted one and the grown one are named
    assert problems == [
        "linli/big.py: 801 lines (over 800); split it into a package",
        "linli/grown.py: 802 lines, allow-listed up to 801; split it",
    ]


def test_stale_long_module_entries_are_reported(tmp_path):
    # given entries for a module now short, one gone, one whose ADR is missing, one whose ADR is silent
    long_text = "x = 1\n" * 801
    root = write(
        tmp_path,
        {
            "linli/__init__.py": "",
            "linli/short.py": "x = 1\n",
            "linli/orphan.py": long_text,
            "linli/unnamed.py": long_text,
            "docs/adr/0001-why.md": "linli/short.py and linli/gone.py stay whole because ...",
        },
    )
    allow = shape.Allowlist(
        long_modules={
            "linli/short.py": (900, "0001-why.md"),
            "linli/gone.py": (900, "0001-why.md"),
            "linli/orphan.py": (900, "0002-missing.md"),
            "linli/unnamed.py": (900, "0001-why.md"),
        }
    )
    # when module lengths are checked
    problems = shape.long_modules(root, allow)
    # then each stale entry is named
    assert problems == [
        "linli/short.py: 1 lines now; drop it from the allow-list",
        "linli/gone.py: allow-listed but gone; drop it from the allow-list",
        "linli/orphan.py: allow-listed with 0002-missing.md, which is not in docs/adr/",
        "linli/unnamed.py: allow-listed with 0001-why.md, which does not name it",
    ]


def test_env_reads_are_found_outside_linli_config_only(tmp_path):
    # given reads in every form outside linli/config, one inside, and a write for a child process
    root = write(
        tmp_path,
        {
            "linli/__init__.py": "",
            "linli/config/env.py": "import os\nA = os.environ.get('LINLI_A')\n",
            "linli/app/reads.py": (
                "import os\nfrom linli.config import env\n"
                "a = os.environ.get('LINLI_A')\n"
                "b = os.getenv('LINLI_B', '')\n"
                "c = os.environ['LINLI_C']\n"
                "d = env.env_int('LINLI_D', 1)\n"
                "os.environ['LINLI_E'] = 'child'\n"
                "f = os.environ.get('HOME')\n"
            ),
        },
    )
    # when env reads are listed
    found = shape.env_reads(root)
    # then the four reads of LINLI_* outside linli/config are named, nothing else
    assert found == [
        "linli/app/reads.py:3: reads LINLI_A; read it in linli/config",
        "linli/app/reads.py:4: reads LINLI_B; read it in linli/config",
        "linli/app/reads.py:5: reads LINLI_C; read it in linli/config",
        "linli/app/reads.py:6: reads LINLI_D; read it in linli/config",
    ]


def test_the_allow_list_file_loads(tmp_path):
    # given an allow-list file
    path = tmp_path / "allow.toml"
    path.write_text(
        '[missing_parts.pages]\nservices = "pages only"\n\n'
        '[[long_modules]]\npath = "linli/big.py"\nmax_lines = 900\nadr = "0001-why.md"\n',
        encoding="utf-8",
    )
    # when it is loaded
    allow = shape.Allowlist.load(path)
    # then both kinds of exception are there
    assert allow == shape.Allowlist(
        missing_parts={"pages": {"services": "pages only"}},
        long_modules={"linli/big.py": (900, "0001-why.md")},
    )


def test_no_allow_list_file_means_no_exceptions(tmp_path):
    # given no allow-list file, when it is loaded, then it holds nothing
    assert shape.Allowlist.load(tmp_path / "absent.toml") == shape.Allowlist()


MYPY_OUTPUT = """\
linli/a.py:3: error: Name "x" already defined on line 1  [no-redef]
linli/a.py:9: error: Item "None" has no attribute "get"  [union-attr]
linli/a.py:9: note: See https://mypy.readthedocs.io
linli/b.py:1: error: Missing return statement  [return]
Found 3 errors in 2 files (checked 4 source files)
"""


def test_mypy_errors_are_counted_per_module():
    # given mypy's output with notes and a summary, when it is counted, then only errors count
    assert shape.mypy_error_counts(MYPY_OUTPUT) == {"linli/a.py": 2, "linli/b.py": 1}


def test_the_mypy_baseline_only_shrinks():
    # given a baseline, and errors: one module worse, one better, one clean now, one new
    baseline = shape.read_mypy_baseline("# comment\nlinli/a.py 2\nlinli/b.py 3\nlinli/c.py 1\nlinli/d.py 4\n")
    counts = {"linli/a.py": 3, "linli/b.py": 1, "linli/d.py": 4, "linli/new.py": 2}
    # when they are compared
    problems = shape.mypy_baseline_problems(baseline, counts)
    # then every difference is named, in both directions; the unchanged module is not
    assert problems == [
        "linli/a.py: 3 mypy error(s), listed with 2; fix them",
        "linli/b.py: 1 mypy error(s), listed with 3; lower it in the baseline",
        "linli/c.py: clean now, listed with 1; drop it from the baseline",
        "linli/new.py: 2 mypy error(s), not in the baseline; fix them",
    ]


def test_the_mypy_baseline_round_trips():
    # given counts, when they are written and read back, then they are the same
    counts = {"linli/b.py": 1, "linli/a.py": 2}
    assert shape.read_mypy_baseline(shape.format_mypy_baseline(counts)) == counts
