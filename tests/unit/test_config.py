"""Settings come from arguments, the environment or a saved login (one rule), and are
refused when unsafe."""

import pytest

from fbtime.auth.connection import resolve
from fbtime.config import Settings, check_base_url
from fbtime.errors import ConfigError

TOKEN = "tok-very-secret-123"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FBTIME_CONFIG_DIR", str(tmp_path / "config"))  # no saved login
    monkeypatch.setenv("FBTIME_KEYRING", "0")


def test_missing_token_says_how_to_configure():
    with pytest.raises(ConfigError, match="FRESHBOOKS_ACCESS_TOKEN"):
        resolve(business_id=1)


def test_missing_business_id_says_how_to_configure():
    with pytest.raises(ConfigError, match="FRESHBOOKS_BUSINESS_ID"):
        resolve(token=TOKEN)


def test_environment_fills_what_arguments_leave_out(monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", "123")
    monkeypatch.setenv("FRESHBOOKS_API_URL", "http://127.0.0.1:9999/")
    connection = resolve()
    assert (connection.business_id, connection.base_url) == (123, "http://127.0.0.1:9999")
    assert connection.source == "environment"


def test_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", "env-token")
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", "123")
    connection = resolve(token=TOKEN, business_id=7, base_url="https://api.example.com/")
    assert (connection.token, connection.business_id) == (TOKEN, 7)
    assert connection.base_url == "https://api.example.com"


def test_business_id_must_be_a_number():
    with pytest.raises(ConfigError, match="business_id must be a whole number"):
        resolve(token=TOKEN, business_id="abc-uuid")


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.5:8080", "ftp://x"])
def test_plain_http_to_another_host_is_refused(url):
    with pytest.raises(ConfigError):
        check_base_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost", "http://[::1]:80"])
def test_plain_http_to_this_machine_is_allowed(url):
    assert check_base_url(url) == url


def test_repr_never_shows_the_token():
    settings = Settings(token=TOKEN, business_id=1)
    assert TOKEN not in repr(settings)
    assert TOKEN not in repr(resolve(token=TOKEN, business_id=1))
