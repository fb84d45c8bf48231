"""Saved logins: where a profile's tokens are kept, privately and atomically.

Storage (:class:`TokenStore`): one *profile* per (FreshBooks app, user), named ``default``
unless you name it. A profile holds the app's client id and secret, the access and
refresh tokens, their expiry, the user's identity and business memberships and the chosen
business. It goes to the OS keyring when a real one is available (``keyring`` package);
on a headless box keyring falls back to a fail/null backend, and then to a JSON file
``<config dir>/profiles/<name>.json`` (``platformdirs.user_config_dir("fbtime")``, or
``FBTIME_CONFIG_DIR``), created with mode 0600 and replaced atomically (temp file +
``os.replace``). ``FBTIME_KEYRING=0`` forces the file, ``FBTIME_KEYRING=1`` insists on the
keyring.

Renewing the tokens of a saved profile is :mod:`fbtime.auth.profile_auth`'s job.

Tokens and the client secret never appear in logs, reprs or error messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import filelock
import platformdirs

from fbtime.config import ENV_CONFIG_DIR, ENV_KEYRING, ENV_PROFILE, check_base_url
from fbtime.errors import ConfigError
from fbtime.files import private_dir, write_private

DEFAULT_PROFILE = "default"
KEYRING_SERVICE = "fbtime"
#: Renew this long before the access token expires (at most a tenth of its lifetime).
RENEW_MARGIN = 300.0
#: Longest wait for another process's renewal before giving up.
LOCK_TIMEOUT = 60.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def config_dir() -> Path:
    """The directory holding saved profiles (``FBTIME_CONFIG_DIR`` overrides it)."""
    override = os.environ.get(ENV_CONFIG_DIR)
    return Path(override) if override else Path(platformdirs.user_config_dir("fbtime"))


def profile_name(name: str | None = None) -> str:
    """``name``, else ``FBTIME_PROFILE``, else ``"default"``; checked to be a safe file name."""
    name = name or os.environ.get(ENV_PROFILE) or DEFAULT_PROFILE
    if not _NAME.match(name):
        raise ConfigError(
            f"profile name {name!r} is not allowed: use letters, digits, '.', '_', '-' or '@'"
        )
    return name


def check_url(what: str, url: str) -> str:
    """Refuse a non-HTTP(S) URL, or plain HTTP to another machine, for an OAuth URL."""
    check_base_url(url, what=what)
    return url


@dataclass
class Profile:
    """One saved login. Secrets are kept out of the repr."""

    name: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    token_url: str
    api_url: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    lifetime: float = 43200.0
    identity_id: int | None = None
    email: str | None = None
    business_id: int | None = None
    businesses: list[dict[str, Any]] = field(default_factory=list)

    def expiring(self, now: float, margin: float = RENEW_MARGIN) -> bool:
        """True once the access token is within ``margin`` (capped) of its expiry."""
        return now >= self.expires_at - min(margin, self.lifetime / 10)

    def chosen_business(self) -> int:
        """The business to use: the saved choice, or the only membership.

        Raises:
            ConfigError: the user belongs to several businesses (or none) and none was chosen.
        """
        if self.business_id is not None:
            return self.business_id
        if len(self.businesses) == 1:
            return int(self.businesses[0]["id"])
        if not self.businesses:
            raise ConfigError(
                f"the FreshBooks user of profile {self.name!r} belongs to no business; "
                "ask the business owner for access, then run `fbtime whoami`"
            )
        listing = "; ".join(f"{b['name']} (id {b['id']})" for b in self.businesses)
        raise ConfigError(
            f"the FreshBooks user of profile {self.name!r} belongs to {len(self.businesses)} "
            f"businesses: {listing}. Choose one with `fbtime use BUSINESS_ID"
            f"{'' if self.name == DEFAULT_PROFILE else ' --profile ' + self.name}`, or pass "
            "business_id=... to fbtime.Client (or set FRESHBOOKS_BUSINESS_ID)"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _real_keyring() -> Any:
    """The keyring backend if a real one is available, else None (fail/null backends)."""
    wanted = os.environ.get(ENV_KEYRING, "").strip().lower()
    if wanted in ("0", "false", "no", "off"):
        return None
    backend = None
    try:
        import keyring

        backend = keyring.get_keyring()
        if backend.priority <= 0 or type(backend).__module__.startswith(
            ("keyring.backends.fail", "keyring.backends.null")
        ):
            backend = None
    except Exception:  # a broken keyring install must not stop fbtime: use the file
        backend = None
    if backend is None and wanted in ("1", "true", "yes", "on"):
        raise ConfigError(
            f"{ENV_KEYRING}={wanted} but no OS keyring is available here; unset it to keep "
            "tokens in a private file instead"
        )
    return backend


class TokenStore:
    """Saved profiles: the OS keyring when real, else private JSON files.

    Args:
        directory: where profile files and lock files live (default :func:`config_dir`).
        use_keyring: True/False to force a backend; None picks the keyring when it is real.
    """

    def __init__(self, directory: str | Path | None = None, *, use_keyring: bool | None = None):
        self.directory = Path(directory) if directory else config_dir()
        self._keyring = None if use_keyring is False else _real_keyring()
        if use_keyring and self._keyring is None:
            raise ConfigError("no OS keyring is available here; use the file backend")

    @property
    def backend(self) -> str:
        """``"keyring"`` or ``"file"``: where :meth:`save` writes."""
        return "keyring" if self._keyring is not None else "file"

    def __repr__(self) -> str:
        return f"TokenStore({str(self.directory)!r}, backend={self.backend!r})"

    def path(self, name: str) -> Path:
        """The file a profile is kept in (file backend)."""
        return self.directory / "profiles" / f"{profile_name(name)}.json"

    def lock(self, name: str) -> filelock.FileLock:
        """The cross-process lock held while a profile's tokens are renewed or rewritten."""
        path = self.path(name).with_suffix(".lock")
        private_dir(path.parent)
        return filelock.FileLock(path, timeout=LOCK_TIMEOUT, mode=0o600)

    def load(self, name: str) -> Profile | None:
        """The saved profile, or None if there is none."""
        name = profile_name(name)
        if self._keyring is not None:
            try:
                text = self._keyring.get_password(KEYRING_SERVICE, name)
            except Exception as exc:
                raise ConfigError(
                    f"could not read profile {name!r} from the keyring: {exc}"
                ) from None
            if text:
                return Profile.from_json(text)
        try:
            return Profile.from_json(self.path(name).read_text())
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"the saved profile {self.path(name)} is damaged ({type(exc).__name__}); "
                f"run `fbtime login --profile {name}` to sign in again"
            ) from None

    def save(self, profile: Profile) -> None:
        """Write a profile atomically (keyring entry, or a 0600 file replaced in one step)."""
        name = profile_name(profile.name)
        if self._keyring is not None:
            try:
                self._keyring.set_password(KEYRING_SERVICE, name, profile.to_json())
            except Exception as exc:
                raise ConfigError(
                    f"could not save profile {name!r} in the keyring: {exc}"
                ) from None
            self.path(name).unlink(missing_ok=True)
            return
        write_private(self.path(name), profile.to_json())

    def delete(self, name: str) -> None:
        """Forget a profile (both backends)."""
        name = profile_name(name)
        if self._keyring is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete_password(KEYRING_SERVICE, name)
        self.path(name).unlink(missing_ok=True)

    def update(self, name: str, **changes: Any) -> Profile:
        """Change some fields of a saved profile under its lock (never clobbers a renewal)."""
        with self.locked(name):
            current = self.load(name)
            if current is None:
                raise ConfigError(f"no saved login named {name!r}: run `fbtime login`")
            updated = replace(current, **changes)
            self.save(updated)
            return updated

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        lock = self.lock(name)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise ConfigError(
                f"another fbtime process has held the lock {lock.lock_file} for over "
                f"{LOCK_TIMEOUT:g} s; if none is running, delete that file"
            ) from None
        try:
            yield
        finally:
            lock.release()
