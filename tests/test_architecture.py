"""The shape of the code the README's architecture section promises: every
module listed there, no import circle between the project's modules, the
models importing nothing above them, and no module grown past one concern's
size. Read from the source (ast), so nothing is imported or run."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crm", "project")
# What the models may import: modules beneath them, which import no model
# module at load time.
BENEATH_THE_MODELS = (
    "crm.models", "crm.phones", "crm.formatting", "crm.largelists.queryset",
    "crm.whatsapp.templates",
)
# A module longer than this holds two concerns, or one that wants splitting.
LONGEST_MODULE_LINES = 450
# Configuration read from the environment is one concern; most of its length
# is the comment giving each value's reason.
LONG_BY_NATURE = {"project.settings"}


def project_modules():
    """{dotted name: path} of the project's own modules, migrations left out."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            name = ".".join(relative.with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imports_of(path, modules, top_level_only):
    """The project modules ``path`` imports (``from a import b`` counts as
    a.b when that is a module, else a)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
                break
    return found


def function_level_imports(path, modules):
    return imports_of(path, modules, top_level_only=False) - imports_of(
        path, modules, top_level_only=True
    )


def find_circle(graph):
    """One import circle of ``graph`` as a list of modules, or None."""
    state = {}

    def visit(module, trail):
        state[module] = "open"
        for imported in sorted(graph.get(module, ())):
            if imported == module:
                continue
            if state.get(imported) == "open":
                return trail[trail.index(imported):] + [imported]
            if imported not in state:
                circle = visit(imported, trail + [imported])
                if circle:
                    return circle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            circle = visit(module, [module])
            if circle:
                return circle
    return None


def package_parents(name):
    """A module's packages: importing crm.models.orders runs crm/models/__init__.py."""
    parts = name.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


def test_no_import_circle_between_the_projects_modules():
    modules = project_modules()
    graph = {
        name: imports_of(path, modules, top_level_only=False) - package_parents(name)
        for name, path in modules.items()
    }
    assert find_circle(graph) is None, " -> ".join(find_circle(graph))


def test_the_circle_finder_finds_a_circle():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) is None


def test_the_models_import_nothing_above_them():
    modules = project_modules()
    climbing = {}
    for name, path in modules.items():
        if name == "crm.models" or name.startswith("crm.models."):
            above = {
                imported for imported in imports_of(path, modules, top_level_only=False)
                if not imported.startswith(BENEATH_THE_MODELS)
            }
            if above:
                climbing[name] = sorted(above)
    assert climbing == {}


def test_no_module_is_longer_than_one_concern():
    long = {
        name: lines for name, path in project_modules().items()
        if (lines := len(path.read_text().splitlines())) > LONGEST_MODULE_LINES
        and name not in LONG_BY_NATURE
    }
    assert long == {}


def readme_architecture_map():
    """The module paths named in the README's architecture section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    named, folders = set(), []
    for line in block.splitlines():
        match = re.match(r"^( *)(\S+)", line)
        if not match:
            continue
        depth, word = len(match.group(1)) // 2, match.group(2)
        del folders[depth:]
        if word.endswith("/"):
            folders.append(word)
        elif word.endswith(".py"):
            named.add("".join(folders) + word)
    return named


def test_the_readme_maps_every_module_of_the_app():
    on_disk = {
        str(path.relative_to(ROOT)) for name, path in project_modules().items()
        if name.startswith("crm") and path.name != "__init__.py"
        and "management" not in path.parts and "templatetags" not in path.parts
    }
    named = readme_architecture_map()
    assert sorted(on_disk - named) == [], "modules missing from the README's map"
    assert sorted(named - on_disk - {"manage.py"}) == [], "the map names modules that are gone"
