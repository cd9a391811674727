"""The conventions of DESIGN.md §4–5, checked on the code itself."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from fastapi.routing import APIRoute

from okno.app import create_app
from okno.config import Settings
from okno.db import Base

SRC = Path(__file__).resolve().parents[1] / "src" / "okno"
DOMAINS = {"accounts", "automation", "channels", "customers", "tickets", "jobs", "http", "notifications", "routing"}
# Modules whose job is to know other domains' tables: the permission filter and the event feed.
MAY_READ_OTHER_TABLES = {
    "accounts/permissions.py",
    "tickets/feed.py",
    "tickets/queries.py",
    "accounts/service.py",
}


def python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_only_db_py_commits() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in python_files()
        if path.name != "db.py" and re.search(r"\.commit\(\)", path.read_text())
    ]
    assert offenders == []


def test_no_naive_or_clock_bypassing_times() -> None:
    pattern = re.compile(r"datetime\.utcnow\(|datetime\.now\(\)|date\.today\(\)")
    offenders = [str(p.relative_to(SRC)) for p in python_files() if pattern.search(p.read_text())]
    assert offenders == []


def test_domains_do_not_import_each_others_tables() -> None:
    offenders = []
    for path in python_files():
        relative = path.relative_to(SRC).as_posix()
        own = relative.split("/")[0]
        if own not in DOMAINS or relative in MAY_READ_OTHER_TABLES:
            continue
        module_level = ast.parse(path.read_text()).body  # imports under `if TYPE_CHECKING` are types only
        for node in module_level:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".models"):
                other = node.module.split(".")[1]
                tables = [
                    a.name
                    for a in node.names
                    if isinstance(getattr(importlib.import_module(node.module), a.name), type)
                    and issubclass(getattr(importlib.import_module(node.module), a.name), Base)
                ]
                if other in DOMAINS and other != own and tables:
                    offenders.append(f"{relative} imports {node.module}: {tables}")
    assert offenders == []


def test_no_module_grows_past_five_hundred_lines() -> None:
    long = [
        f"{p.relative_to(SRC)}: {n}"
        for p in python_files()
        if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > 500
    ]
    assert long == []


def test_every_post_route_honours_idempotency_keys(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path))
    spec = app.openapi()
    posts = [(path, op) for path, item in spec["paths"].items() for method, op in item.items() if method == "post"]
    assert posts
    missing = [
        path for path, op in posts if "idempotency-key" not in {p["name"].lower() for p in op.get("parameters", [])}
    ]
    assert missing == []
    for route in app.routes:
        if isinstance(route, APIRoute):
            assert route.path.startswith(("/api/v1/", "/healthz", "/")), route.path


def test_every_input_schema_refuses_unknown_fields() -> None:
    from okno.schemas import InputModel

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    for model in subclasses(InputModel):
        assert model.model_config.get("extra") == "forbid", model
