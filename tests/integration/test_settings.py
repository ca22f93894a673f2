"""Settings: one typed object, documented in one README table and in .env.example, strict in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from service import create_app
from service.config import ConfigurationError, Settings, load_settings
from service.domain.checkpoint import SigningKey

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k4Jd9-Qz_Lm2Vb7Xw0Rt5Yp8Ns3Hc6Ga1Fe"
OTHER_STRONG = "Zq8_Wm3Kd6Rf1Tb9Yx4Lp7Vn2Jc5Hs0Ga-Ee"
AUDIT_KEY = SigningKey.generate("settings-test").text()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the shell running the tests; the app's database is a file nobody opens."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unused.sqlite3'}")


def readme_settings() -> list[str]:
    """The first column of the table under the README's "Configuration" heading."""
    tokens = MarkdownIt().enable("table").parse((ROOT / "README.md").read_text())
    heading = next(
        i
        for i, token in enumerate(tokens)
        if token.type == "inline" and token.content == "Configuration"
    )
    start = next(i for i in range(heading, len(tokens)) if tokens[i].type == "tbody_open")
    end = next(i for i in range(start, len(tokens)) if tokens[i].type == "tbody_close")
    names = []
    for i in range(start, end):
        if tokens[i].type == "tr_open":
            first_cell = tokens[i + 2].content  # tr_open, td_open, inline
            match = re.fullmatch(r"`([A-Z_]+)`", first_cell)
            assert match, f"a row of the README's settings table names no setting: {first_cell!r}"
            names.append(match.group(1))
    return names


def env_example_settings() -> list[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return [line.split("=", 1)[0] for line in lines if line.strip() and not line.startswith("#")]


def test_the_readme_table_lists_exactly_the_settings() -> None:
    assert readme_settings() == list(Settings.model_fields)


def test_env_example_lists_exactly_the_settings_blank() -> None:
    assert env_example_settings() == list(Settings.model_fields)
    assert all(
        line.endswith("=")
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line
    )


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_every_setting_reaches_the_app_config_under_its_name() -> None:
    config = create_app().config
    assert set(Settings.model_fields) <= set(config)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("CDS_FHIR_MAX_PAGES", "7", 7),
        ("CDS_FHIR_TOTAL_TIMEOUT", "2.5", 2.5),
        ("LOGIN_LOCKOUT_MINUTES", "60", 60),
        ("SESSION_COOKIE_SECURE", "1", True),
        ("SESSION_COOKIE_SECURE", "false", False),
        ("LOG_LEVEL", "warning", "WARNING"),
        ("WEB_RATE_LIMIT", "5 per hour", "5 per hour"),
        ("METRICS_TOKEN", "abc", "abc"),
        ("PATIENT_REF_KEY", "xyz", "xyz"),
    ],
)
def test_a_setting_is_read_from_its_variable_with_its_type(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str, expected: object
) -> None:
    monkeypatch.setenv(name, raw)
    assert create_app().config[name] == expected


def test_an_empty_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_FHIR_MAX_PAGES", "")
    monkeypatch.setenv("LOG_LEVEL", "")
    config = create_app().config
    assert config["CDS_FHIR_MAX_PAGES"] == 20 and config["LOG_LEVEL"] == "INFO"


def test_without_a_database_url_the_embedded_default_is_sqlite_in_the_instance_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{Path(app.instance_path) / 'alerts.sqlite3'}"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CDS_FHIR_MAX_PAGES", "0"),
        ("CDS_FHIR_MAX_BYTES", "-5"),
        ("CDS_FHIR_CONNECT_TIMEOUT", "soon"),
        ("SERVICE_ENV", "staging"),
        ("LOG_LEVEL", "LOUD"),
        ("SESSION_COOKIE_SECURE", "perhaps"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str
) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigurationError, match=f"^the service cannot start: {name}: "):
        create_app()


def test_the_message_never_repeats_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "hunter2-hunter2")
    monkeypatch.setenv("PATIENT_REF_KEY", STRONG)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    monkeypatch.setenv("SERVICE_ENV", "development")
    assert "hunter2" not in repr(load_settings())


@pytest.mark.parametrize(
    ("secret_key", "patient_ref_key", "reason"),
    [
        (None, STRONG, "SECRET_KEY is not set"),
        (STRONG, None, "PATIENT_REF_KEY is not set"),
        ("changeme", STRONG, "SECRET_KEY is shorter than 32 characters"),
        (STRONG, "a" * 40, "PATIENT_REF_KEY repeats too few characters"),
        ("0123456789" * 4, STRONG, None),
        (STRONG, STRONG, "PATIENT_REF_KEY must differ from SECRET_KEY"),
        (None, None, "SECRET_KEY is not set; PATIENT_REF_KEY is not set"),
    ],
)
def test_production_refuses_to_start_with_a_missing_or_weak_key(
    monkeypatch: pytest.MonkeyPatch,
    secret_key: str | None,
    patient_ref_key: str | None,
    reason: str | None,
) -> None:
    monkeypatch.setenv("SERVICE_ENV", "production")
    monkeypatch.setenv("AUDIT_SIGNING_KEY", AUDIT_KEY)
    for name, key in (("SECRET_KEY", secret_key), ("PATIENT_REF_KEY", patient_ref_key)):
        if key is not None:
            monkeypatch.setenv(name, key)
    if reason is None:
        create_app()
        return
    with pytest.raises(ConfigurationError, match=re.escape(reason)):
        create_app()


def test_production_starts_with_strong_distinct_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SERVICE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("PATIENT_REF_KEY", OTHER_STRONG)
    (tmp_path / "signing.key").write_text(AUDIT_KEY)
    monkeypatch.setenv("AUDIT_SIGNING_KEY_FILE", str(tmp_path / "signing.key"))
    config = create_app().config
    assert config["SECRET_KEY"] == STRONG and config["PATIENT_REF_KEY"] == OTHER_STRONG
    assert config["AUDIT_SIGNING_KEY_FILE"] == str(tmp_path / "signing.key")


@pytest.mark.parametrize(
    ("key_file", "reason"),
    [
        (None, "AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE must be set"),
        ("missing.key", "AUDIT_SIGNING_KEY_FILE names no file"),
    ],
)
def test_production_refuses_to_start_without_the_checkpoints_signing_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_file: str | None, reason: str
) -> None:
    monkeypatch.setenv("SERVICE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("PATIENT_REF_KEY", OTHER_STRONG)
    if key_file is not None:
        monkeypatch.setenv("AUDIT_SIGNING_KEY_FILE", str(tmp_path / key_file))
    with pytest.raises(ConfigurationError, match=re.escape(reason)):
        create_app()


def test_development_starts_without_keys_and_keeps_a_generated_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = create_app(), create_app()
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
