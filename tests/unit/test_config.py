"""Settings come from arguments or the environment, and are refused when unsafe."""

import pytest

from fbtime.config import Settings, check_base_url
from fbtime.errors import ConfigError

TOKEN = "tok-very-secret-123"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL"):
        monkeypatch.delenv(name, raising=False)


def test_missing_token_says_how_to_configure():
    with pytest.raises(ConfigError, match="FRESHBOOKS_ACCESS_TOKEN"):
        Settings.from_env(business_id=1)


def test_missing_business_id_says_how_to_configure():
    with pytest.raises(ConfigError, match="FRESHBOOKS_BUSINESS_ID"):
        Settings.from_env(token=TOKEN)


def test_environment_fills_what_arguments_leave_out(monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", "123")
    monkeypatch.setenv("FRESHBOOKS_API_URL", "http://127.0.0.1:9999/")
    settings = Settings.from_env()
    assert (settings.business_id, settings.base_url) == (123, "http://127.0.0.1:9999")


def test_business_id_must_be_a_number():
    with pytest.raises(ConfigError, match="business_id must be a whole number"):
        Settings.from_env(token=TOKEN, business_id="abc-uuid")


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.5:8080", "ftp://x"])
def test_plain_http_to_another_host_is_refused(url):
    with pytest.raises(ConfigError):
        check_base_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost", "http://[::1]:80"])
def test_plain_http_to_this_machine_is_allowed(url):
    assert check_base_url(url) == url


def test_repr_never_shows_the_token():
    settings = Settings.from_env(token=TOKEN, business_id=1)
    assert TOKEN not in repr(settings)
