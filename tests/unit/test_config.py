"""Settings: defaults that work with nothing configured, and errors that name the variable."""

import json
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
        ({"proxy_url": "proxy.internal:3128"}, "WEBHOOKD_PROXY_URL: must be http://"),
        ({"proxy_url": "https://proxy.internal:3128"}, "WEBHOOKD_PROXY_URL: must be http://"),
    ],
)
def test_bad_settings_name_the_variable(overrides: dict[str, Any], names: str) -> None:
    with pytest.raises(ValidationError) as caught:
        config.Settings(**overrides)  # text, as the environment gives it
    assert names in config.describe(caught.value)


EXAMPLE_CATALOG = Path(__file__).parents[2] / "examples" / "event-catalog.yaml"


def test_the_event_catalog_is_read_from_yaml_or_json(tmp_path: Path) -> None:
    from_yaml = config.Settings(event_catalog=str(EXAMPLE_CATALOG)).catalog
    assert "verification.completed" in from_yaml
    [completed] = [t for t in from_yaml.types() if t.name == "verification.completed"]
    assert completed.example == {
        "runId": "run_42",
        "verified": 1200,
        "amount": 250.5,
        "currency": "EUR",
    }
    as_json = tmp_path / "catalog.json"
    document = {
        t.name: {"description": t.description, "schema": t.schema} for t in from_yaml.types()
    }
    as_json.write_text(json.dumps(document))
    from_json = config.Settings(event_catalog=str(as_json)).catalog
    assert dict(from_json) == dict(from_yaml)
    assert from_json.violation("verification.completed", {"runId": "r"}) is not None
    assert config.Settings().catalog.violation("verification.completed", {"runId": 1}) is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.json", "{", "is not valid JSON"),
        ("c.yaml", "a: [", "is not valid YAML"),
        ("c.yaml", "- a\n- b\n", "must be an object"),
        ("c.json", '{"t.x": {"schema": {"type": 1}}}', "schema is not a valid JSON Schema"),
        ("missing.json", None, "cannot read"),
    ],
)
def test_a_bad_event_catalog_names_the_variable(
    tmp_path: Path, name: str, text: str | None, message: str
) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        config.Settings(event_catalog=str(path))
    described = config.describe(caught.value)
    assert described.startswith("WEBHOOKD_EVENT_CATALOG: ")
    assert message in described


def test_event_types_and_an_event_catalog_are_one_or_the_other() -> None:
    with pytest.raises(ValidationError) as caught:
        config.Settings(event_types="a.b", event_catalog=str(EXAMPLE_CATALOG))
    assert "only one of WEBHOOKD_EVENT_TYPES" in config.describe(caught.value)


def test_the_egress_proxy_settings(tmp_path: Path) -> None:
    settings = config.Settings(
        proxy_url="http://egress:pa%3Ass@proxy.internal:3128",
        no_proxy="internal.example.com, .corp",
    )
    proxy = settings.proxy
    assert proxy is not None
    assert proxy.url == "http://proxy.internal:3128"  # shown in errors: no credentials
    assert proxy.authorization == "Basic ZWdyZXNzOnBhOnNz"  # egress:pa:ss
    assert proxy.no_proxy == ("internal.example.com", ".corp")
    assert not proxy.used_for("api.corp")
    assert proxy.used_for("example.com")
    assert "pa%3Ass" not in repr(settings)
    assert config.Settings().proxy is None
