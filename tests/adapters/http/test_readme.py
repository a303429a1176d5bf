"""The ``openai`` SDK examples in the README's HTTP API section run unchanged against the server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from tests.adapters.http.conftest import API_KEY, RunningApi

README = Path(__file__).resolve().parents[3] / "README.md"


def sdk_examples() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## HTTP API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def run_example(code: str, printed: io.StringIO) -> None:
    """Run the example as a script (blocking: the SDK's sync client), its output into ``printed``."""
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


async def test_the_readme_sdk_examples_work_as_written(
    api: RunningApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = sdk_examples()
    assert examples, "the README has no SDK example"
    monkeypatch.chdir(tmp_path)
    for code in examples:
        assert 'base_url="http://localhost:8080/v1", api_key="sk-test"' in code
        # Only the address and the key differ from what a reader runs against `make run`.
        runnable = code.replace("http://localhost:8080", api.base_url).replace('"sk-test"', f'"{API_KEY}"')
        printed = io.StringIO()

        await asyncio.to_thread(run_example, runnable, printed)
        output = printed.getvalue()
        assert "/image/" in output and "![" in output  # the link, and the chat's markdown
    assert len(api.fake.calls) == 4
    assert any(name.startswith("lighthouse.") for name in os.listdir(tmp_path))
