"""DATABASE_URL selects PostgreSQL, DATABASE_PATH keeps SQLite; the URL's password never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import FixedLatencyProvider, bench_settings
from bot.app import open_app
from bot.core.models import GenerationRequest, UserRef
from bot.errors import ConfigurationError
from bot.settings import load_settings
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage


def test_database_url_must_be_postgres_and_its_password_is_a_secret() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None, {"DATABASE_URL": "mysql://u:p@h/db"})
    assert caught.value.variable == "DATABASE_URL"
    settings = load_settings(None, {"DATABASE_URL": "postgresql://bot:hunter22@db.internal:6543/imagine"})
    assert settings.database_label == "PostgreSQL db.internal:6543/imagine"
    assert "hunter22" in settings.secrets
    assert "hunter22" not in repr(settings)
    assert load_settings(None, {"DATABASE_URL": " "}).database_url is None
    assert load_settings(None, {}).database_label == "SQLite data/imagine-bot.sqlite3"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_the_service_runs_and_re_rolls_on_either_backend(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    overrides = {"RATE_LIMIT_PER_DAY": "1"}
    if backend == "postgres":
        overrides["DATABASE_URL"] = request.getfixturevalue("pg_url")
    settings = bench_settings(tmp_path, **overrides)
    user = UserRef("telegram", "7", chat_id="7")
    async with open_app(settings, provider=FixedLatencyProvider(0.0)) as app:
        assert isinstance(app.storage, PostgresStorage if backend == "postgres" else SqliteStorage)
        result = await app.service.generate(GenerationRequest(user=user, text="a lighthouse 16:9"))
        quota = await app.service.quota(user)
        assert quota.used_today == 1
    async with open_app(settings, provider=FixedLatencyProvider(0.0)) as app:  # a restart, or another replica
        assert await app.storage.jobs.get(result.job_id) is not None
        assert (await app.service.quota(user)).used_today == 1
