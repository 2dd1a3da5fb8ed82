"""The job layer's rules, read from the source: services never import a task module (at the top or
inside a function), and only core/jobs.py queues tasks.

Tasks import services; a service importing a task back closes an import circle and hides who queues
what. Services hand work to `core.jobs` by task name instead. Entry points that run tasks' work in
the foreground (management commands) and the Celery app itself may import task modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("conversations", "connections", "core", "sandbox", "tenants", "hitl_portal")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_task_module(name: str) -> bool:
    return "tasks" in name.split(".")


def _may_import_tasks(name: str) -> bool:
    return _is_task_module(name) or ".management.commands." in name or name == "hitl_portal.celery"


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield _module(path), path


def _imports(module: str, is_package: bool, tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _queue_calls(tree: ast.AST) -> list[str]:
    return [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"delay", "delay_on_commit", "apply_async", "send_task"}
    ]


def test_no_service_imports_a_task_module():
    offenders = []
    for module, path in _sources():
        if _may_import_tasks(module):
            continue
        imported = _imports(module, path.name == "__init__.py", ast.parse(path.read_text()))
        tasks = sorted(name for name in imported if _is_task_module(name))
        if tasks:
            offenders.append(f"{module} imports {', '.join(tasks)}")
    assert offenders == [], "services hand work to core.jobs by task name:\n" + "\n".join(offenders)


def test_only_core_jobs_queues_tasks():
    offenders = []
    for module, path in _sources():
        if module == "core.jobs":
            continue
        calls = _queue_calls(ast.parse(path.read_text()))
        if calls:
            offenders.append(f"{module}: {', '.join(sorted(set(calls)))}")
    assert offenders == [], "queue through core.jobs (one broker-tolerant path):\n" + "\n".join(offenders)


def test_the_check_sees_a_function_level_import(tmp_path):
    tree = ast.parse("def f():\n    from conversations.tasks.callbacks import deliver_callbacks\n")
    assert any(_is_task_module(name) for name in _imports("conversations.delivery", False, tree))
    relative = ast.parse("from . import tasks\n")
    assert "connections.tasks" in _imports("connections.views", False, relative)
    assert "connections.tasks" in _imports("connections", True, relative)
    assert _queue_calls(ast.parse("x.delay_on_commit(1)")) == ["delay_on_commit"]
