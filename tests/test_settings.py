from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigurationError
from bot.settings import DEFAULT_FLUX_MODEL, load_settings


def test_accounts_from_numbered_pairs_with_gaps_and_the_single_pair() -> None:
    settings = load_settings(
        None,
        {
            "CF_API_TOKEN_1": "tok-one",
            "ACCOUNT_1": "id-one",
            "CF_API_TOKEN_7": "tok-seven",
            "ACCOUNT_7": "id-seven",
            "CF_ACCOUNT_ID": "id-single",
            "CF_API_TOKEN": "tok-single",
        },
    )
    assert [(a.index, a.account_id) for a in settings.accounts] == [
        (0, "id-single"),
        (1, "id-one"),
        (7, "id-seven"),
    ]
    assert "tok-seven" not in repr(settings.accounts)
    assert settings.flux_model == DEFAULT_FLUX_MODEL


def test_lists_and_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_IDS=telegram:1, 2\nRATE_LIMIT_PER_DAY=9\nDISCORD_GUILD_IDS=123,456\n")
    settings = load_settings(env_file, {"RATE_LIMIT_PER_DAY": "4"})
    assert settings.admin_ids == ["telegram:1", "2"]
    assert settings.rate_limit_per_day == 4  # the environment wins over the file
    assert settings.discord_guild_ids == ["123", "456"]


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"RATE_LIMIT_PER_DAY": "lots"}, "RATE_LIMIT_PER_DAY"),
        ({"CF_API_TOKEN_2": "tok"}, "ACCOUNT_2"),
        ({"ACCOUNT_3": "id"}, "CF_API_TOKEN_3"),
        ({"CF_ACCOUNT_ID": "id"}, "CF_API_TOKEN"),
        ({"ACCOUNT_STRATEGY": "random"}, "ACCOUNT_STRATEGY"),
        ({"CF_API_BASE_URL": "api.cloudflare.com"}, "CF_API_BASE_URL"),
        ({"DISCORD_GUILD_IDS": "abc"}, "DISCORD_GUILD_IDS"),
        ({"FLUX_NUM_STEPS": "0"}, "FLUX_NUM_STEPS"),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None, environ)
    assert caught.value.variable == variable


def test_api_keys_as_pairs_bare_keys_and_the_seeds_single_keys() -> None:
    settings = load_settings(
        None,
        {
            "API_KEYS": "demo=sk-demo-123, sk-bare-456, sk-base64-pad==",
            "API_KEY": "sk-worker-789",
            "API_MASTER_KEY": "sk-master-000",
        },
    )
    assert settings.api_credentials == {
        "demo": "sk-demo-123",
        "key2": "sk-bare-456",
        "key3": "sk-base64-pad==",
        "api_key": "sk-worker-789",
        "master": "sk-master-000",
    }
    for key in settings.api_credentials.values():
        assert key in settings.secrets  # redacted in every log line
    assert "demo" not in settings.secrets
    assert settings.http_enabled


def test_the_http_side_is_off_without_a_key_or_port_and_port_honours_paas_port() -> None:
    assert not load_settings(None, {}).http_enabled
    paas = load_settings(None, {"PORT": "8080"})
    assert paas.http_enabled and paas.http_listen_port == 8080
    both = load_settings(None, {"PORT": "8080", "HTTP_PORT": "9000"})
    assert both.http_listen_port == 9000
    with pytest.raises(ConfigurationError) as error:
        load_settings(None, {"PUBLIC_BASE_URL": "example.com"})
    assert error.value.variable == "PUBLIC_BASE_URL"
