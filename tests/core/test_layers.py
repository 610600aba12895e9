"""The import layers of docs/architecture.md, checked on the source with `ast`.

Each app may import only the apps below it; no circle of imports remains, and an import inside
a function is either Django's `AppConfig.ready()` or says why it waits (`# lazy: reason`).
Each checker is also run on a planted violation, so a test that cannot fail is not mistaken
for a rule that holds."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import incidentdesk

SRC = Path(incidentdesk.__file__).parent
PACKAGE = "incidentdesk"

# The declared order, lowest first: an app imports only apps of a lower rank (and itself).
LAYERS: dict[str, int] = {
    "core": 0,
    "accounts": 1,
    "policy": 2,
    "incidents": 3,
    "comms": 4,
    "statuspage": 5,
    "reviews": 5,
    "portal": 6,
    "ingest": 6,
}
TOP = 9  # ops, demo, api, urls, cli, settings, wsgi: may import any app
LAZY_MARK = "# lazy:"


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (incidentdesk.* only)
    line: int
    in_function: bool
    documented: bool  # carries `# lazy: reason`
    in_ready: bool  # inside an AppConfig.ready()
    type_only: bool  # under `if TYPE_CHECKING:`


def modules(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "migrations" in rel.parts:
            continue
        parts = [package, *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(root: Path, package: str = PACKAGE) -> list[Import]:
    known = modules(root, package)
    found: list[Import] = []
    for module, path in known.items():
        found += _imports_of(module, path, known, package)
    return found


def _imports_of(module: str, path: Path, known: dict[str, Path], package: str) -> list[Import]:
    text = path.read_text()
    lines = text.splitlines()
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, in_ready: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, True, in_ready or child.name == "ready", type_only)
                continue
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, in_function, in_ready, True)
                continue
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(module, is_package, child)
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in known else base)
            where = lines[getattr(child, "lineno", 1) - 1 : getattr(child, "end_lineno", 1)]
            for target in targets:
                if target == package or target.startswith(package + "."):
                    documented = any(LAZY_MARK in line for line in where)
                    found.append(
                        Import(
                            module,
                            target,
                            child.lineno,
                            in_function,
                            documented,
                            in_ready,
                            type_only,
                        )
                    )
            visit(child, in_function, in_ready, type_only)

    visit(ast.parse(text), False, False, False)
    return found


def rank(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else TOP


def layer_violations(found: list[Import]) -> list[str]:
    return [
        f"{i.source} (line {i.line}) imports {i.target}, a layer above or beside it"
        for i in found
        if rank(i.source) < TOP
        and i.source.split(".")[1:2] != i.target.split(".")[1:2]
        and rank(i.target) >= rank(i.source)
    ]


def cycles(found: list[Import]) -> list[list[str]]:
    """Circles of imports that run when a module loads (documented lazy ones wait)."""
    edges: dict[str, set[str]] = {}
    for i in found:
        if not (i.documented or i.in_ready or i.type_only) and i.source != i.target:
            edges.setdefault(i.source, set()).add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return circles


def undocumented_lazy(found: list[Import]) -> list[str]:
    return sorted(
        {
            f"{i.source} (line {i.line}) imports {i.target} inside a function without '# lazy: why'"
            for i in found
            if i.in_function and not i.in_ready and not i.documented
        }
    )


def test_no_app_imports_a_layer_above_or_beside_it():
    assert layer_violations(imports(SRC)) == []


def test_no_circle_of_imports():
    assert cycles(imports(SRC)) == []


def test_imports_inside_functions_say_why():
    assert undocumented_lazy(imports(SRC)) == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for name, body in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
    return root


def test_the_layer_check_reports_core_importing_the_incidents(tmp_path):
    root = _plant(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/backups.py": "from incidentdesk.incidents.models import Incident\n",
            "incidents/__init__.py": "",
            "incidents/models.py": "from incidentdesk.core import backups\n",
            "portal/__init__.py": "",
            "portal/views.py": "from ..incidents import models\n",
        },
    )
    assert layer_violations(imports(root)) == [
        "incidentdesk.core.backups (line 1) imports incidentdesk.incidents.models, "
        "a layer above or beside it"
    ]


def test_the_layer_check_reports_two_apps_of_one_rank_importing_each_other(tmp_path):
    root = _plant(
        tmp_path,
        {
            "reviews/__init__.py": "",
            "reviews/services.py": "from incidentdesk.statuspage import selectors\n",
            "statuspage/__init__.py": "",
            "statuspage/selectors.py": "X = 1\n",
        },
    )
    assert [v.split(" (")[0] for v in layer_violations(imports(root))] == [
        "incidentdesk.reviews.services"
    ]


def test_the_cycle_check_reports_a_circle_and_lets_a_documented_lazy_import_wait(tmp_path):
    root = _plant(
        tmp_path,
        {
            "comms/__init__.py": "",
            "comms/services.py": "from .tasks import deliver\n",
            "comms/tasks.py": "from . import services\n\ndef deliver(): ...\n",
            "portal/__init__.py": "",
            "portal/services.py": """\
                def accept():
                    from .intake import parse  # lazy: intake calls these services

                    return parse()
                """,
            "portal/intake.py": "from . import services\n\ndef parse(): ...\n",
        },
    )
    found = imports(root)
    assert cycles(found) == [["incidentdesk.comms.services", "incidentdesk.comms.tasks"]]
    assert undocumented_lazy(found) == []


def test_the_lazy_check_reports_an_import_inside_a_function_without_a_reason(tmp_path):
    root = _plant(
        tmp_path,
        {
            "policy/__init__.py": "",
            "policy/apps.py": """\
                class PolicyConfig:
                    def ready(self):
                        from . import selectors
                """,
            "policy/selectors.py": """\
                def active_version():
                    from .services import policy_sync_from_file

                    return policy_sync_from_file()
                """,
            "policy/services.py": "from .selectors import active_version\n",
        },
    )
    found = imports(root)
    assert undocumented_lazy(found) == [
        "incidentdesk.policy.selectors (line 2) imports incidentdesk.policy.services "
        "inside a function without '# lazy: why'"
    ]
    assert cycles(found) == [["incidentdesk.policy.selectors", "incidentdesk.policy.services"]]


# -- the writers: only services change the database --------------------------------------------

WRITE_METHODS = frozenset(
    {
        "save",
        "create",
        "get_or_create",
        "update_or_create",
        "update",
        "delete",
        "bulk_create",
        "bulk_update",
    }
)
# where ORM writes belong: the services (a module or a package of that name, or one named
# `<topic>_services` beside it), the worker's tasks (which call services), the demo data
# generators and the models' own managers
WRITER_PARTS = frozenset({"services", "tasks", "demo", "models"})


def _writer(module: str) -> bool:
    parts = module.split(".")[1:]
    return bool(WRITER_PARTS & set(parts)) or any(p.endswith("_services") for p in parts)


# the other modules that write, each for a reason of its own
WRITERS = {
    "incidentdesk.incidents.timeline": "append, the one way an entry is written, for services",
    "incidentdesk.incidents.roles": "the role services (lead, comms lead, handover), by the roles",
    "incidentdesk.statuspage.subscriptions": "the public's subscription services (no account)",
    "incidentdesk.comms.keys": "rotating the secret key re-encrypts every stored secret",
    "incidentdesk.ops.management.commands.worker": "the worker's heartbeats and stuck tasks",
}


def _orm_receiver(node: ast.expr) -> bool:
    """Whether a call's receiver looks like the ORM's: a model manager (`X.objects...`), a
    queryset built from one, a related manager (`incident.tasks`), or a model instance (for
    save/delete). A dict's or a hash's `update` is not."""
    text = ast.unparse(node)
    return ".objects" in text or "objects." in text or "_set" in text or "filter(" in text


def writes(root: Path, package: str = PACKAGE) -> list[str]:
    found = []
    for module, path in modules(root, package).items():
        if _writer(module) or module in WRITERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method not in WRITE_METHODS:
                continue
            receiver = node.func.value
            if (method in {"save", "delete"} and not node.args) or _orm_receiver(receiver):
                found.append(f"{module} (line {node.lineno}): {ast.unparse(node.func)}()")
    return found


def test_only_services_tasks_and_demo_data_write_to_the_database():
    assert writes(SRC) == []


def test_the_writers_check_reports_a_view_that_saves(tmp_path):
    root = _plant(
        tmp_path,
        {
            "incidents/__init__.py": "",
            "incidents/views.py": """\
                def close(request, incident):
                    incident.status = "closed"
                    incident.save()
                    Incident.objects.filter(pk=1).update(status="closed")
                    seen = {}
                    seen.update(a=1)
                """,
            "incidents/services.py": """\
                def incident_close(incident):
                    incident.save()
                """,
        },
    )
    assert writes(root) == [
        "incidentdesk.incidents.views (line 3): incident.save()",
        "incidentdesk.incidents.views (line 4): Incident.objects.filter(pk=1).update()",
    ]
