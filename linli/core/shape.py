"""The house rules about the code's shape that a machine can check (ADR 0018).

Pure and Django-free: it reads the source tree, never imports it, so it sees function-level imports
too and can be pointed at any tree (the tests build small ones). ``linli check_app_shape`` and
``linli/core/tests/test_shape.py`` are its two users; the import-linter contracts in
``pyproject.toml`` cover the direction of imports, this module what they cannot: cycles through
function-level imports, the standard files of an app, module length and where env vars are read.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINES = 800
ENV_PREFIX = "LINLI_"
CONFIG_PACKAGE = "linli.config"
# module names of an app's standard parts; each may be a module or a package
STANDARD_PARTS = ("apps", "models", "services", "selectors", "tests")
SKIP_DIRS = {"tests", "migrations", "management", "templates", "static", "locale"}
_ENV_READERS = {"get", "getenv", "env_str", "env_bool", "env_int", "env_list"}


def _skipped(rel: Path) -> bool:
    return "migrations" in rel.parts or "tests" in rel.parts or rel.name == "conftest.py"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules(root: Path, package: str = "linli") -> dict[str, Path]:
    """Shipped modules of ``package`` under ``root`` (migrations, tests and conftest left out)."""
    return {
        module_name(root, p): p
        for p in sorted((root / package).rglob("*.py"))
        if not _skipped(p.relative_to(root))
    }


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def _import_targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports(modules: dict[str, Path], package: str = "linli") -> Iterator[Import]:
    """Every import between ``modules``, top-level or inside a function, resolved to the module
    that is loaded (``from a.b import c`` is ``a.b`` and, when it is a module, ``a.b.c``)."""
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            resolved = set()
            for target in _import_targets(node, name, path.name == "__init__.py"):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.split(".")[0] == package:
                    resolved.add(target)
            for target in sorted(resolved):
                yield Import(name, target, node.lineno)


@dataclass(frozen=True)
class Cycle:
    """A group of modules that import each other (directly or not), and one loop through it."""

    group: list[str]
    loop: list[Import]

    def __str__(self) -> str:
        steps = "".join(f"{imp.importer}:{imp.line} -> " for imp in self.loop)
        others = sorted(set(self.group) - {imp.importer for imp in self.loop})
        also = f" (the group also holds {', '.join(others)})" if others else ""
        return f"{steps}{self.loop[0].importer}{also}"


def import_cycles(modules: dict[str, Path], package: str = "linli") -> list[Cycle]:
    """Each strongly connected group of modules with its shortest loop, named by ``module:line`` of
    each import.

    A package whose ``__init__`` imports its own sub-modules is not a cycle of the design and is
    left out, as the shape hook does."""
    graph: dict[str, dict[str, Import]] = {m: {} for m in modules}
    for imp in imports(modules, package):
        graph[imp.importer].setdefault(imp.imported, imp)
    cycles = []
    for group in _strong_components(graph):
        head = group[0]
        if all(m == head or m.startswith(head + ".") for m in group):
            continue
        cycles.append(Cycle(group, _cycle_through(head, set(group), graph)))
    return cycles


def _strong_components(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion; groups of two or more modules, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def _cycle_through(head: str, group: set[str], graph: dict[str, dict[str, Import]]) -> list[Import]:
    """The shortest way from ``head`` back to itself inside its group (breadth first)."""
    came: dict[str, Import] = {}
    frontier = [head]
    while frontier:
        following = []
        for node in frontier:
            for target, imp in sorted(graph[node].items()):
                if target not in group or target in came:
                    continue
                came[target] = imp
                if target == head:
                    path = []
                    while True:
                        step = came[target]
                        path.append(step)
                        target = step.importer
                        if target == head:
                            return path[::-1]
                following.append(target)
        frontier = following
    raise AssertionError(f"{head} is in a strongly connected group but has no way back")


def apps(root: Path, package: str = "linli") -> list[str]:
    return sorted(d.name for d in (root / package).iterdir() if (d / "apps.py").is_file())


@dataclass(frozen=True)
class Allowlist:
    """``linli/core/shape_allowlist.toml``: the exceptions to the rules, each with its reason."""

    missing_parts: dict[str, dict[str, str]] = field(default_factory=dict)  # app -> part -> why
    long_modules: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> (max lines, ADR)

    @classmethod
    def load(cls, path: Path) -> Allowlist:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return cls(
            missing_parts={app: dict(parts) for app, parts in data.get("missing_parts", {}).items()},
            long_modules={m["path"]: (int(m["max_lines"]), m["adr"]) for m in data.get("long_modules", [])},
        )


def missing_parts(root: Path, allow: Allowlist, package: str = "linli") -> list[str]:
    """Apps without a standard part, and exemptions that no longer exempt anything."""
    problems = []
    for app in apps(root, package):
        base = root / package / app
        exempt = allow.missing_parts.get(app, {})
        # An app split into sub-domain packages (ADR 0012) has the part in its sub-packages.
        homes = [
            base,
            *(d for d in base.iterdir() if (d / "__init__.py").is_file() and d.name not in SKIP_DIRS),
        ]
        for part in STANDARD_PARTS:
            present = any((h / f"{part}.py").is_file() or (h / part / "__init__.py").is_file() for h in homes)
            if not present and part not in exempt:
                problems.append(f"{package}/{app}: no {part}.py or {part}/ package")
            if present and part in exempt:
                problems.append(f"{package}/{app}: has {part} now; drop its exemption from the allow-list")
    for app in sorted(set(allow.missing_parts) - set(apps(root, package))):
        problems.append(f"{package}/{app}: exempted in the allow-list but not an app")
    return problems


def long_modules(root: Path, allow: Allowlist, package: str = "linli") -> list[str]:
    """Modules over ``MAX_LINES`` not allow-listed with an ADR that names them, and allow-list
    entries that are stale (module gone, shorter than the limit, or its ADR silent about it)."""
    problems = []
    adr_dir = root / "docs" / "adr"
    for path in source_modules(root, package).values():
        rel = path.relative_to(root).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        allowed = allow.long_modules.get(rel)
        if allowed is None:
            if lines > MAX_LINES:
                problems.append(f"{rel}: {lines} lines (over {MAX_LINES}); split it into a package")
        elif lines > allowed[0]:
            problems.append(f"{rel}: {lines} lines, allow-listed up to {allowed[0]}; split it")
        elif lines <= MAX_LINES:
            problems.append(f"{rel}: {lines} lines now; drop it from the allow-list")
    for rel, (_max_lines, adr) in sorted(allow.long_modules.items()):
        adr_path = adr_dir / adr
        if not (root / rel).is_file():
            problems.append(f"{rel}: allow-listed but gone; drop it from the allow-list")
        elif not adr_path.is_file():
            problems.append(f"{rel}: allow-listed with {adr}, which is not in docs/adr/")
        elif rel not in adr_path.read_text(encoding="utf-8"):
            problems.append(f"{rel}: allow-listed with {adr}, which does not name it")
    return problems


def env_reads(root: Path, package: str = "linli") -> list[str]:
    """Reads of ``LINLI_*`` variables outside ``linli/config`` (``os.environ.get``, ``os.getenv``,
    ``os.environ[...]`` and the typed readers ``env_*``); writes for child processes are fine."""
    found = []
    for name, path in source_modules(root, package).items():
        if name == CONFIG_PACKAGE or name.startswith(CONFIG_PACKAGE + "."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in _ENV_READERS:
                    key = node.args[0]
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                value = node.value
                if isinstance(value, ast.Attribute) and value.attr == "environ":
                    key = node.slice
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and key.value.startswith(ENV_PREFIX)
            ):
                rel = path.relative_to(root).as_posix()
                found.append(f"{rel}:{key.lineno}: reads {key.value}; read it in linli/config")
    return found


def mypy_error_counts(output: str) -> dict[str, int]:
    """``path: count`` of the errors in mypy's output (notes and the summary line are not errors)."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        path, sep, rest = line.partition(":")
        if sep and path.endswith(".py") and ": error: " in rest:
            counts[path] = counts.get(path, 0) + 1
    return counts


def read_mypy_baseline(text: str) -> dict[str, int]:
    """``mypy-baseline.txt``: one ``<path> <errors>`` a line; ``#`` starts a comment."""
    baseline = {}
    for line in text.splitlines():
        line = line.partition("#")[0].strip()
        if line:
            path, count = line.split()
            baseline[path] = int(count)
    return baseline


def format_mypy_baseline(counts: dict[str, int]) -> str:
    header = (
        "# Modules that mypy still finds errors in, with how many (ADR 0018). The list only shrinks:\n"
        "# scripts/mypy_baseline.py fails on a module not listed, on more errors than listed and on\n"
        "# fewer (lower the number, or drop the line). Regenerate with --update only to shrink it.\n"
    )
    return header + "".join(f"{path} {count}\n" for path, count in sorted(counts.items()))


def mypy_baseline_problems(baseline: dict[str, int], counts: dict[str, int]) -> list[str]:
    """Where mypy's errors and the baseline disagree, in either direction."""
    problems = []
    for path in sorted(set(baseline) | set(counts)):
        listed, found = baseline.get(path, 0), counts.get(path, 0)
        if found == listed:
            continue
        if found > listed:
            where = f"listed with {listed}" if listed else "not in the baseline"
            problems.append(f"{path}: {found} mypy error(s), {where}; fix them")
        elif found:
            problems.append(f"{path}: {found} mypy error(s), listed with {listed}; lower it in the baseline")
        else:
            problems.append(f"{path}: clean now, listed with {listed}; drop it from the baseline")
    return problems
