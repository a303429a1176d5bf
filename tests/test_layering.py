"""The core never imports a chat platform: adapters translate, the core decides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
PLATFORM_FREE = ["core", "providers", "storage", "i18n", "errors.py", "settings.py"]
FORBIDDEN = ("telegram", "discord")


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
