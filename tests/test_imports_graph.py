"""The code's own imports, walked from the source (no module is imported): no view is a library.

Over ``app.py``, ``survey/``, ``forms/`` and ``analysis/``, every ``import`` statement counts, at the top of a
module or inside a function:
- a view module (one that makes a ``Blueprint``, or defines ``flask`` commands) is imported only to be
  registered: by the factory (``app.py``) and, for a module of commands, by the CLI's root (``survey.cli``),
  using nothing of it but its blueprints and ``init_app``. What two modules need lives in a non-view module.
- no module imports another's leading-underscore name (``from m import _x`` or ``m._x``);
- no two modules import each other, directly or round a longer loop;
- the domain packages of ``survey/`` import one another in one direction only: a module imports only from its
  own package and those before it in ``DOMAIN_ORDER`` (``survey.models`` sits right after ``platform``);
  ``analysis/`` imports none of ``survey/``, ``forms/`` or ``app``; ``forms/`` sits between the domain and the
  views: views import forms, forms import the domain, no other domain module imports forms.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("survey", "forms", "analysis")
FACTORY = "app"
CLI_ROOT = "survey.projects.cli"  # registers the other command modules' commands (``cli_desk.init_app``)

# The domain packages of survey/, lowest first: each may import only itself and the packages before it. The same
# order, with what each holds, is docs/ARCHITECTURE.md's map.
DOMAIN_ORDER = (
    "platform",
    "models",
    "accounts",
    "audit",
    "jobs",
    "questionnaires",
    "privacy",
    "responses",
    "respond",
    "results",
    "collection",
    "weighting",
    "rounds",
    "indicators",
    "reports",
    "projects",
)

# Cases in modules another piece of work owns right now (the question-type registry), to be fixed there. Each
# entry names the case; an entry that no longer occurs fails ``test_pending_cases_still_occur``, so the list
# only shrinks. Empty: the walk finds none of them in those modules.
PENDING: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Import:
    """One module importing another: ``names`` taken from it (none for ``import m`` / ``from p import m``)."""

    importer: str
    imported: str
    names: tuple[str, ...]
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the walked code by dotted name."""
    paths = [ROOT / "app.py"] + [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    return {module_name(path): path for path in paths}


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"), filename=str(modules()[name]))


@cache
def nodes(name: str) -> tuple[ast.AST, ...]:
    """Every node of a module, walked once: the checks below each look at them again."""
    return tuple(ast.walk(tree(name)))


def absolute(importer: str, node: ast.ImportFrom) -> str:
    """The module a ``from … import`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if modules()[importer].name == "__init__.py" else importer.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str) -> list[Import]:
    """What ``name`` imports of the walked code; ``from p import m`` of a module is an import of ``p.m``."""
    known = modules()
    found = []
    for node in nodes(name):
        if isinstance(node, ast.Import):
            found += [Import(name, a.name, (), node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            source = absolute(name, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    found.append(Import(name, f"{source}.{alias.name}", (), node.lineno))
                elif source in known:
                    found.append(Import(name, source, (alias.name,), node.lineno))
    return [i for i in found if i.imported != name]


@cache
def every_import() -> tuple[Import, ...]:
    return tuple(i for name in modules() for i in imports_of(name))


@cache
def module_aliases(name: str) -> dict[str, str]:
    """Names bound in ``name`` to a whole module of the walked code (``from survey import desk``)."""
    known = modules()
    aliases = {}
    for node in nodes(name):
        if isinstance(node, ast.Import):
            aliases |= {a.asname: a.name for a in node.names if a.asname and a.name in known}
        elif isinstance(node, ast.ImportFrom):
            source = absolute(name, node)
            aliases |= {a.asname or a.name: f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known}
    return aliases


@cache
def attributes(name: str) -> frozenset[tuple[str, str]]:
    """Every ``<name>.<attribute>`` in module ``name``, as (name, attribute)."""
    return frozenset(
        (node.value.id, node.attr)
        for node in nodes(name)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    )


def attributes_used(name: str, alias: str) -> set[str]:
    """Every ``alias.<attribute>`` in module ``name``."""
    return {attribute for bound, attribute in attributes(name) if bound == alias}


def defines_blueprint(name: str) -> bool:
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Blueprint"
        for node in nodes(name)
    )


def defines_commands(name: str) -> bool:
    """A module of ``flask`` commands: a function decorated with ``….command(…)`` or ``….group(…)``."""
    for node in nodes(name):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Attribute) and call.attr in ("command", "group"):
                    return True
    return False


@cache
def views() -> frozenset[str]:
    return frozenset(name for name in modules() if defines_blueprint(name) or defines_commands(name))


def registering(name: str) -> bool:
    """What registering a view takes of it: a blueprint (``bp``, ``blank_bp``) or its ``init_app``."""
    return name == "init_app" or name == "bp" or name.endswith("_bp")


def may_register(importer: str, imported: str) -> bool:
    return importer == FACTORY or (importer == CLI_ROOT and defines_commands(imported))


def view_used_as_library() -> set[tuple[str, str, str]]:
    """(importer, view, what it takes) for every import of a view that is not its registration."""
    cases = set()
    for i in every_import():
        if i.imported not in views():
            continue
        if not may_register(i.importer, i.imported):
            cases.add((i.importer, i.imported, ", ".join(i.names) or "the module"))
            continue
        taken = set(i.names)
        for alias, module in module_aliases(i.importer).items():
            if module == i.imported:
                taken |= attributes_used(i.importer, alias)
        cases |= {(i.importer, i.imported, name) for name in taken if not registering(name)}
    return cases


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def underscore_imports() -> set[tuple[str, str, str]]:
    """(importer, module, name) for every leading-underscore name one module takes from another."""
    cases = {(i.importer, i.imported, n) for i in every_import() for n in i.names if private(n)}
    for name in modules():
        for alias, module in module_aliases(name).items():
            if module != name:
                cases |= {(name, module, attr) for attr in attributes_used(name, alias) if private(attr)}
    return cases


def import_cycles() -> list[list[str]]:
    """Every set of modules that import one another round a loop (strongly connected, two or more)."""
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for i in every_import():
        graph[i.importer].add(i.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            if component:
                cycles.append(sorted([node, *component]))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return cycles


def cycle_cases() -> set[tuple[str, str, str]]:
    return {(cycle[0], cycle[-1], " ↔ ".join(cycle)) for cycle in import_cycles()}


# ---------------------------------------------------------------- the walk sees what it should


def test_the_walk_finds_the_views_and_the_imports():
    """A walk that found nothing would pass every check below: it must see the known views and imports."""
    assert {
        "survey.projects.desk_views",
        "survey.projects.api_views",
        "survey.reports.workbook_views",
        "survey.projects.cli",
        "survey.projects.cli_desk",
    } <= views()
    assert {"survey.collection.posters", "survey.reports.bundle", "survey.models", "analysis.frame"}.isdisjoint(views())
    assert len(views()) >= 20
    assert any(
        i.importer == "survey.reports.bundle" and i.imported == "survey.reports.workbooks" for i in every_import()
    )
    assert any(i.importer == FACTORY and i.imported == "survey.projects.desk_views" for i in every_import())
    assert any(i.importer.startswith("forms.") and i.imported.startswith("survey.") for i in every_import())


def clear_caches() -> None:
    for cached in (modules, tree, nodes, every_import, views, attributes, module_aliases):
        cached.cache_clear()


@pytest.fixture
def made_up(tmp_path, monkeypatch):
    """Point the walk at a made-up tree of files (``{relative path: text}``)."""

    def write(files: dict[str, str]) -> None:
        for relative, text in files.items():
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / relative).write_text(text, encoding="utf-8")
        for package in PACKAGES:
            (tmp_path / package).mkdir(exist_ok=True)
        monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
        clear_caches()

    yield write
    clear_caches()


def test_each_check_catches_its_case(made_up, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CLI_ROOT", "survey.cli")
    made_up(
        {
            "app.py": "from survey import desk, cli\nBLUEPRINTS = [desk.bp]\ncli.init_app(None)\n",
            "survey/__init__.py": "",
            "survey/desk.py": "from flask import Blueprint\nbp = Blueprint('desk', __name__)\ndef _labels(): ...\n",
            "survey/cli.py": "import click\nfrom survey import cli_desk\n@click.command()\ndef run(): ...\n"
            "def init_app(app):\n    cli_desk.init_app(app)\n    cli_desk.helper()\n",
            "survey/cli_desk.py": "import click\n@click.group()\ndef project(): ...\n",
            "survey/bundle.py": "from survey.desk import _labels\nfrom survey import a\nx = a._hidden\n",
            "survey/a.py": "def f():\n    from survey import b\n",
            "survey/b.py": "from . import a\n",
        }
    )
    assert views() == {"survey.desk", "survey.cli", "survey.cli_desk"}
    assert view_used_as_library() == {
        ("survey.bundle", "survey.desk", "_labels"),
        ("survey.cli", "survey.cli_desk", "helper"),
    }
    assert underscore_imports() == {
        ("survey.bundle", "survey.desk", "_labels"),
        ("survey.bundle", "survey.a", "_hidden"),
    }
    assert import_cycles() == [["survey.a", "survey.b"]]


# ---------------------------------------------------------------- the rules


def test_no_view_is_imported_as_a_library():
    """What two modules need lives in a non-view module (``survey.reports.export_labels``, ``…workbooks``)."""
    assert view_used_as_library() - PENDING == set()


def test_no_underscore_name_is_imported_across_modules():
    assert underscore_imports() - PENDING == set()


def test_no_import_cycle_between_modules():
    assert cycle_cases() - PENDING == set()


def test_pending_cases_still_occur():
    """A pending case that was fixed leaves the list, so the list only shrinks."""
    assert PENDING <= view_used_as_library() | underscore_imports() | cycle_cases()


# ---------------------------------------------------------------- the packages and their order


def domain_of(name: str) -> str | None:
    """The domain package of a ``survey`` module (``models`` for ``survey.models``); ``None`` outside ``survey``."""
    parts = name.split(".")
    if parts[0] != "survey" or len(parts) == 1:
        return None
    return parts[1]


def layer_cases() -> set[tuple[str, str, str]]:
    """(importer, imported, why) for every import against the declared order of packages and layers."""
    cases = set()
    for i in every_import():
        top, target = i.importer.split(".")[0], i.imported.split(".")[0]
        if top == "analysis" and target != "analysis":
            cases.add((i.importer, i.imported, "analysis imports only analysis"))
        elif top == "survey" and target == "forms" and i.importer not in views():
            cases.add((i.importer, i.imported, "only views import forms"))
        elif top == "forms" and i.imported in views():
            cases.add((i.importer, i.imported, "forms import no view"))
        elif top in ("survey", "forms") and target == "app":
            cases.add((i.importer, i.imported, "nothing imports the factory"))
        elif top == "survey" and target == "survey":
            mine, theirs = domain_of(i.importer), domain_of(i.imported)
            if None not in (mine, theirs) and DOMAIN_ORDER.index(theirs) > DOMAIN_ORDER.index(mine):
                cases.add((i.importer, i.imported, f"{mine} comes before {theirs}"))
    return cases


def test_every_survey_module_is_in_a_declared_package():
    """A module outside the declared packages would escape the order check."""
    strays = {name for name in modules() if name.startswith("survey.") and domain_of(name) not in DOMAIN_ORDER}
    assert strays == set()
    assert {path.name for path in (ROOT / "survey").glob("*.py")} == {"__init__.py", "models.py"}


def test_packages_import_in_the_declared_order():
    assert layer_cases() == set()


def test_the_order_check_catches_upward_imports(made_up):
    made_up(
        {
            "app.py": "",
            "survey/__init__.py": "",
            "survey/platform/web.py": "from survey.respond import pow\n",
            "survey/respond/pow.py": "from survey.platform import web\nfrom forms import response\n",
            "survey/respond/public_views.py": "from flask import Blueprint\nfrom forms import response\n"
            "bp = Blueprint('p', __name__)\n",
            "forms/response.py": "from survey.respond import pow, public_views\n",
            "analysis/frame.py": "from survey import models\n",
            "survey/models.py": "",
        }
    )
    assert layer_cases() == {
        ("survey.platform.web", "survey.respond.pow", "platform comes before respond"),
        ("survey.respond.pow", "forms.response", "only views import forms"),
        ("forms.response", "survey.respond.public_views", "forms import no view"),
        ("analysis.frame", "survey.models", "analysis imports only analysis"),
    }
