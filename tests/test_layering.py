"""The core never imports a chat platform or the HTTP stack: adapters translate, the core decides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
PLATFORM_FREE = ["core", "providers", "storage", "i18n", "errors.py", "settings.py"]
#: chat platforms, and the HTTP side's server stack (the HTTP adapter is a platform too)
FORBIDDEN = ("telegram", "discord", "fastapi", "starlette", "uvicorn", "sse_starlette", "prometheus_client")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("part", PLATFORM_FREE)
def test_platform_free_modules_do_not_import_chat_libraries(part: str) -> None:
    target = BOT / part
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    assert files
    for path in files:
        bad = {name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN}
        assert not bad, f"{path.relative_to(BOT)} imports {bad}"


def test_sql_lives_only_in_storage() -> None:
    for path in BOT.rglob("*.py"):
        if "storage" in path.parts:
            continue
        text = path.read_text()
        for keyword in ("SELECT ", "INSERT INTO", "DELETE FROM", "CREATE TABLE"):
            assert keyword not in text, f"{path.relative_to(BOT)} contains SQL ({keyword.strip()})"


def test_core_depends_on_storage_protocols_not_on_a_backend() -> None:
    """Core names ``bot.core.persistence`` protocols; only ``bot.app`` picks a backend from ``bot.storage``."""
    for path in sorted((BOT / "core").rglob("*.py")):
        bad = {
            name
            for name in imported_modules(path)
            if name == "bot.storage" or name.startswith("bot.storage.")
        }
        assert not bad, f"{path.relative_to(BOT)} imports {bad}"


def test_storage_backends_implement_the_core_protocols() -> None:
    from bot.core import persistence
    from bot.storage.sqlite import SqliteStorage

    storage: persistence.Storage = SqliteStorage(":memory:")  # bot.app.open_storage has mypy check the types
    for name, protocol in (
        ("ledger", "UsageLedger"),
        ("accounts", "AccountStateStore"),
        ("jobs", "JobStore"),
    ):
        expected = {m for m in vars(getattr(persistence, protocol)) if not m.startswith("_")}
        assert expected <= set(dir(getattr(storage, name))), (
            f"{name} lacks {expected - set(dir(getattr(storage, name)))}"
        )
