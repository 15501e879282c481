"""The house: helpers/ in rooms that import only downwards, no circles, small modules (issue 25).

The rooms and their order are written once, in ``helpers/__init__.py``'s docstring; this file
reads them from there, walks every import under helpers/ (those inside functions too), and
checks the rules that keep the layout answering "where does this change go?".
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import helpers

PACKAGE_DIR = Path(helpers.__file__).parent
README = PACKAGE_DIR.parent / "README.md"

MAX_MODULE_LINES = 400
MAX_FUNCTION_BODY_LINES = 60
"""Lines of a function's body, its docstring left out: longer reads as more than one idea."""

ROOM_LINE = re.compile(r"^    (\w+)(/|\.py)\s")
"""A room in ``helpers/__init__.py``'s table: four spaces, ``lab/`` (a package) or ``paths.py``."""

INTRODUCED = re.compile(r"notebook|command line|classroom app|README", re.IGNORECASE)
"""Every module says which notebook (or tool) introduces it."""


def module_name(path: Path) -> str:
    """``helpers/video/segments.py`` -> ``helpers.video.segments``; a package's ``__init__`` -> the package."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of helpers/, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The helpers modules that ``name`` imports anywhere in its file (inside functions too).

    Importing a helpers module runs ``helpers/__init__.py`` first, always: that arrow is left out.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from .pkg import sub`` imports the module pkg.sub; ``from .pkg import name``, pkg itself
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found.update(target for target in targets if target in known)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """helpers module -> the helpers modules it imports."""
    found = modules()
    return {name: imported_modules(name, path, set(found)) for name, path in found.items()}


def rooms() -> list[str]:
    """The rooms, lowest first, as ``helpers/__init__.py``'s docstring lists them."""
    return [match[1] for line in (helpers.__doc__ or "").splitlines() if (match := ROOM_LINE.match(line))]


def room_of(module: str) -> str:
    """``helpers.video.segments`` -> ``video``; the package itself -> ``helpers``; ``__main__`` -> ``cli``."""
    first = module.split(".")[1] if "." in module else "helpers"
    return "cli" if first == "__main__" else first


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of imports in ``graph`` (its modules in order), or [] when there is none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node], _ = 1, path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = 2, path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_the_cycle_finder_finds_a_circle_and_only_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_goes_round_in_a_circle():
    cycle = find_cycle(import_graph())
    assert not cycle, "these modules import each other in a circle: " + " -> ".join(cycle)


def test_every_import_goes_down_to_a_lower_room_or_stays_in_its_own():
    order = rooms()
    assert len(order) == len(set(order)) >= 10, f"helpers/__init__.py's docstring lists the rooms: {order}"
    rank = {room: i for i, room in enumerate(order)} | {"helpers": len(order)}
    graph = import_graph()
    unlisted = sorted({room_of(m) for m in graph} - set(rank))
    assert not unlisted, f"rooms missing from helpers/__init__.py's table: {unlisted}"
    upwards = [
        f"{src} -> {dst}"
        for src, targets in graph.items()
        for dst in targets
        if room_of(src) != room_of(dst) and rank[room_of(dst)] >= rank[room_of(src)]
    ]
    assert not upwards, "imports from a room to one at its level or above:\n" + "\n".join(sorted(upwards))


def test_each_module_imports_alone_in_a_fresh_interpreter():
    # A circle that only bites when one module is imported first shows up here, not in the graph.
    names = sorted(m for m in modules() if not m.endswith("__main__"))
    script = (
        "import importlib, sys\n"
        "bad = []\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'helpers' or m.startswith('helpers.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        bad.append(f'{name}: {error!r}')\n"
        "print('\\n'.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=PACKAGE_DIR.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", "modules that fail to import alone:\n" + done.stdout


def test_no_module_is_over_the_line_budget():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def function_body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of ``node``'s body without its docstring."""
    body = node.body[1:] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body
    return body[-1].end_lineno - body[0].lineno + 1


def functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method of helpers/, nested ones too, with its module's name."""
    return [(name, node) for name, path in modules().items() for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_function_body_is_over_the_line_budget():
    long = [f"{name}.{node.name}: {lines}" for name, node in functions()
            if (lines := function_body_lines(node)) > MAX_FUNCTION_BODY_LINES]
    assert not long, f"functions over {MAX_FUNCTION_BODY_LINES} lines (docstring left out): {long}"


def test_classes_live_at_module_level():
    nested = [f"{name}.{outer.name}.{inner.name}" for name, outer in functions()
              for inner in ast.walk(outer) if isinstance(inner, ast.ClassDef)]
    assert not nested, f"classes defined inside functions: {nested}"


def test_every_module_says_what_it_is_for_and_where_it_is_taught():
    missing = []
    for name, path in modules().items():
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if not doc.strip() or not INTRODUCED.search(doc):
            missing.append(name)
    assert not missing, f"module docstrings without a first line or the notebook that introduces them: {missing}"


def readme_layout() -> set[str]:
    """The modules and rooms that README's layout block names under ``helpers/`` (``lab/``, ``lab/figures.py``)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("\nLayout:", 1)[1].split("```", 2)[1]
    named, room = set(), ""
    for line in block.splitlines():
        if match := re.match(r"^  (\w+/|\w+\.py)\s", line):
            room = match[1] if match[1].endswith("/") else ""
            named.add(match[1])
        elif room and (match := re.match(r"^    (\w+\.py|\w+\.html)\s", line)):
            named.add(room + match[1])
    return named


def package_tree() -> set[str]:
    """The same for the files that are there: rooms with a slash, their modules and pages inside."""
    tree = set()
    for path in PACKAGE_DIR.rglob("*"):
        relative = path.relative_to(PACKAGE_DIR)
        skipped = "__pycache__" in relative.parts or relative.name == "__init__.py"
        if skipped or relative.suffix not in {".py", ".html", ""}:
            continue
        tree.add(f"{relative.as_posix()}/" if path.is_dir() else relative.as_posix())
    return tree


def test_readme_layout_matches_the_tree():
    named, there = readme_layout(), package_tree()
    assert named == there, f"in README only: {sorted(named - there)}; in helpers/ only: {sorted(there - named)}"
