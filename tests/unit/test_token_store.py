"""The token store: backend choice, private atomic files, business choice, no secrets shown."""

from __future__ import annotations

import logging
import os

import keyring
import pytest
from keyring.backend import KeyringBackend

import fbtime.auth.profile_auth  # noqa: F401  (installs the requests-oauthlib log filter)
from fbtime.auth.tokens import Profile, TokenStore, check_url, profile_name
from fbtime.errors import ConfigError

SECRETS = ("access-SECRET-1", "refresh-SECRET-2", "client-SECRET-3")


def make_profile(name: str = "default", **kw) -> Profile:
    values = dict(
        name=name, client_id="app-1", client_secret=SECRETS[2], redirect_uri="https://localhost/x",
        token_url="https://api.freshbooks.com/auth/oauth/token",
        api_url="https://api.freshbooks.com", access_token=SECRETS[0], refresh_token=SECRETS[1],
        expires_at=1_000_000.0, identity_id=7,
        businesses=[{"id": 11, "name": "Acme"}, {"id": 12, "name": "Globex"}],
    )  # fmt: skip
    values.update(kw)
    return Profile(**values)


class MemoryKeyring(KeyringBackend):
    """A real (in-memory) keyring backend, so no test touches the machine's keyring."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


# keyring registers every backend class for auto-selection; this one is only set by hand
KeyringBackend._classes.discard(MemoryKeyring)


@pytest.fixture
def config(monkeypatch, tmp_path):
    monkeypatch.setenv("FBTIME_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("FBTIME_KEYRING", raising=False)
    monkeypatch.delenv("FBTIME_PROFILE", raising=False)
    return tmp_path


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_file_backend_writes_a_private_file_atomically(config, monkeypatch):
    monkeypatch.setenv("FBTIME_KEYRING", "0")
    old_umask = os.umask(0)  # even a permissive umask must not widen the file
    try:
        store = TokenStore()
        store.save(make_profile())
        store.save(make_profile(access_token="access-SECRET-4"))
    finally:
        os.umask(old_umask)
    path = config / "profiles" / "default.json"
    assert store.backend == "file" and store.path("default") == path
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in path.parent.iterdir()) == ["default.json"]  # no temp left
    assert store.load("default").access_token == "access-SECRET-4"


def test_a_failed_write_leaves_the_old_profile_intact(config, monkeypatch):
    store = TokenStore(use_keyring=False)
    store.save(make_profile())

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.save(make_profile(refresh_token="refresh-SECRET-5"))
    monkeypatch.undo()
    assert store.load("default").refresh_token == SECRETS[1]
    assert [p.name for p in store.path("default").parent.iterdir()] == ["default.json"]


def test_headless_keyring_falls_back_to_the_file(config):
    # this machine's keyring resolves to the fail backend, which is not a real keyring
    assert keyring.get_keyring().priority <= 0
    assert TokenStore().backend == "file"


def test_keyring_is_used_when_real(config, memory_keyring):
    store = TokenStore()
    assert store.backend == "keyring"
    store.save(make_profile("work"))
    assert not store.path("work").exists()
    assert store.load("work").refresh_token == SECRETS[1]
    assert "refresh-SECRET-2" in memory_keyring.items[("fbtime", "work")]
    store.delete("work")
    assert store.load("work") is None


def test_keyring_setting_forces_or_refuses(config, monkeypatch, memory_keyring):
    monkeypatch.setenv("FBTIME_KEYRING", "0")
    assert TokenStore().backend == "file"
    monkeypatch.setenv("FBTIME_KEYRING", "1")
    assert TokenStore().backend == "keyring"
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(ConfigError, match="no OS keyring"):
        TokenStore()


def test_a_damaged_profile_says_to_sign_in_again(config):
    store = TokenStore(use_keyring=False)
    store.path("default").parent.mkdir(parents=True)
    store.path("default").write_text("{not json")
    with pytest.raises(ConfigError, match=r"damaged.*fbtime login --profile default"):
        store.load("default")


@pytest.mark.parametrize("bad", ["../evil", "a/b", "", ".hidden", "x" * 65])
def test_profile_names_must_be_safe_file_names(config, bad):
    with pytest.raises(ConfigError, match="profile name"):
        profile_name(bad or " ")


def test_profile_name_defaults_to_the_environment(config, monkeypatch):
    assert profile_name() == "default"
    monkeypatch.setenv("FBTIME_PROFILE", "client-b")
    assert profile_name() == "client-b"


def test_business_choice():
    assert make_profile(business_id=12).chosen_business() == 12
    assert make_profile(businesses=[{"id": 11, "name": "Acme"}]).chosen_business() == 11
    with pytest.raises(ConfigError) as err:
        make_profile(name="work").chosen_business()
    message = str(err.value)
    assert "Acme (id 11)" in message and "Globex (id 12)" in message
    assert "fbtime use BUSINESS_ID --profile work" in message
    with pytest.raises(ConfigError, match="belongs to no business"):
        make_profile(businesses=[]).chosen_business()


def test_refresh_margin_is_capped_by_the_token_lifetime():
    long = make_profile(expires_at=10_000.0, lifetime=43200.0)
    assert not long.expiring(9_699.0) and long.expiring(9_700.0)  # 5 minutes early
    short = make_profile(expires_at=100.0, lifetime=2.0)
    assert not short.expiring(99.7) and short.expiring(99.8)  # a tenth of its life


def test_reprs_never_show_secrets(config):
    store = TokenStore(use_keyring=False)
    shown = repr(make_profile()) + repr(store)
    assert not any(secret in shown for secret in SECRETS)


@pytest.mark.parametrize(
    "url", ["http://auth.example.com/oauth/authorize/", "ftp://127.0.0.1/x", "nonsense"]
)
def test_oauth_urls_must_be_https_unless_on_this_machine(url):
    with pytest.raises(ConfigError, match="token URL"):
        check_url("token URL", url)
    assert check_url("token URL", "http://127.0.0.1:8765/auth/oauth/token")


def test_requests_oauthlib_debug_logs_are_dropped(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("requests_oauthlib.oauth2_session").debug("Obtained token %s", SECRETS[0])
    logging.getLogger("requests_oauthlib.oauth2_session").warning("a warning stays")
    assert SECRETS[0] not in caplog.text and "a warning stays" in caplog.text
