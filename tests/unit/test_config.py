"""Settings: defaults that work with nothing configured, and errors that name the variable."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from webhookd import config


def test_first_load_generates_dev_secrets_and_keeps_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    first = config.load(database_url=url, jwt_secret=None)
    second = config.load(database_url=url)
    assert first.dev_secrets_file == tmp_path / "w.db.secrets.json"
    assert first.jwt_secret is not None
    assert second.jwt_secret is not None
    assert first.jwt_secret.get_secret_value() == second.jwt_secret.get_secret_value()
    assert first.ingest_key == second.ingest_key
    assert (tmp_path / "w.db.secrets.json").stat().st_mode & 0o777 == 0o600


def test_configured_secrets_win_and_make_no_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    key = "4G0ALG35WNl3Yg5Z8b2ZXsQ9B0U0c2Eq2lq9W6Zt3vA="
    settings = config.load(database_url=url, jwt_secret="k" * 32, ingest_key="i", secret_key=key)
    assert settings.dev_secrets_file is None
    assert not (tmp_path / "w.db.secrets.json").exists()


def test_damaged_secrets_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "w.db.secrets.json").write_text("{}")
    with pytest.raises(ValueError, match="delete it"):
        config.load(database_url=f"sqlite:///{tmp_path / 'w.db'}")


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"jwt_secret": "short"}, "WEBHOOKD_JWT_SECRET: must be at least 32 bytes"),
        ({"retry_schedule": "soon"}, "WEBHOOKD_RETRY_SCHEDULE"),
        ({"database_url": "mysql://x"}, "WEBHOOKD_DATABASE_URL"),
        ({"event_types": " , "}, "WEBHOOKD_EVENT_TYPES"),
        ({"jwt_secret": "k" * 32, "jwks_url": "https://idp/jwks"}, "only one of"),
    ],
)
def test_bad_settings_name_the_variable(overrides: dict[str, Any], names: str) -> None:
    with pytest.raises(ValidationError) as caught:
        config.Settings(**overrides)  # text, as the environment gives it
    assert names in config.describe(caught.value)
