from pathlib import Path

import pytest

from server.settings import Environment, SettingsError, load_settings


def test_settings_default_to_production_and_refuse_placeholder_secret() -> None:
    with pytest.raises(SettingsError, match="STORYARN_SECRET_KEY"):
        load_settings({})


def test_settings_development_runs_without_any_variable() -> None:
    settings = load_settings({"STORYARN_ENV": "development"})
    assert settings.env is Environment.DEVELOPMENT
    assert settings.data_dir == Path("var")
    assert settings.ws_per_message_deflate is False


def test_settings_parse_typed_values() -> None:
    settings = load_settings(
        {
            "STORYARN_ENV": "test",
            "STORYARN_SECRET_KEY": "k" * 40,
            "STORYARN_PORT": "9001",
            "STORYARN_ROOM_GRACE_SECONDS": "0.5",
            "STORYARN_WS_PER_MESSAGE_DEFLATE": "true",
            "STORYARN_DB_STATEMENT_TIMEOUT_MS": "2500",
        }
    )
    assert (settings.port, settings.room_grace_seconds) == (9001, 0.5)
    assert settings.db_statement_timeout_ms == 2500
    assert settings.ws_per_message_deflate is True


@pytest.mark.parametrize(
    "env",
    [
        {"STORYARN_ENV": "staging"},
        {"STORYARN_ENV": "development", "STORYARN_PORT": "eighty"},
        {"STORYARN_ENV": "development", "STORYARN_MAX_FRAME_BYTES": "0"},
        {"STORYARN_ENV": "development", "STORYARN_KEEPALIVE_SECONDS": "45"},
        {"STORYARN_ENV": "development", "STORYARN_WS_PER_MESSAGE_DEFLATE": "maybe"},
        {"STORYARN_ENV": "development", "STORYARN_DB_STATEMENT_TIMEOUT_MS": "-1"},
    ],
)
def test_settings_refuse_malformed_values(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(env)


def test_settings_secret_is_not_in_repr() -> None:
    secret = "s" * 40
    settings = load_settings({"STORYARN_ENV": "test", "STORYARN_SECRET_KEY": secret})
    assert secret not in repr(settings)


def test_settings_memory_store_is_refused_in_production() -> None:
    env = {"STORYARN_SECRET_KEY": "k" * 40, "STORYARN_STORE": "memory"}
    with pytest.raises(SettingsError, match="STORYARN_STORE"):
        load_settings(env)
    assert load_settings({**env, "STORYARN_ENV": "test"}).store == "memory"


def test_settings_database_url_is_read_without_prefix() -> None:
    settings = load_settings({"STORYARN_ENV": "development", "DATABASE_URL": "postgres://x/y"})
    assert settings.database_url == "postgres://x/y"
