"""Which token, business and API a connection uses: one rule, decided here and only here.

    arguments  >  environment variables  >  the saved login (``fbtime login``)

* **Token.** ``token=`` wins. A profile named in the arguments comes next. Then
  ``FRESHBOOKS_ACCESS_TOKEN``. Then the saved profile (``FBTIME_PROFILE``, else
  ``default``), if there is one.
* **Business.** ``business_id=``, then ``FRESHBOOKS_BUSINESS_ID``, then the profile's
  chosen business (or its only one).
* **API.** ``base_url=``, then ``FRESHBOOKS_API_URL``, then the profile's API, then
  FreshBooks'. A saved login's token goes only to the API its profile was made for: with
  a profile token, a ``FRESHBOOKS_API_URL`` pointing elsewhere is refused unless
  ``base_url=`` or ``token=`` is given explicitly, so an environment variable alone can
  never send a saved token to another host.

:class:`fbtime.Client` and :func:`fbtime.whoami` both call :func:`resolve`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from fbtime.auth.profile_auth import ProfileAuth, saved_login
from fbtime.config import (
    DEFAULT_BASE_URL,
    ENV_API_URL,
    ENV_BUSINESS_ID,
    ENV_TOKEN,
    HOW_TO_CONFIGURE,
    check_base_url,
    check_business_id,
    check_token,
    origin,
)
from fbtime.errors import ConfigError


@dataclass(frozen=True)
class Credentials:
    """Where requests go and what authenticates them.

    Attributes:
        base_url: the API root (checked: https, or http to this machine).
        business_id: the business (None only when not needed, as for ``whoami``).
        token: a bare access token (from an argument or the environment).
        auth: a saved login, renewed as it expires (when no bare token is used).
        source: where the token came from, for messages ("argument", "environment",
            "profile 'default'").
    """

    base_url: str
    business_id: int | None
    token: str | None = field(default=None, repr=False)
    auth: ProfileAuth | None = None
    source: str = "argument"

    def bearer(self) -> str:
        """The access token to send now (a saved login's is renewed first if expiring)."""
        if self.auth is not None:
            return self.auth.token()
        assert self.token is not None
        return self.token


def resolve(
    *,
    token: str | None = None,
    business_id: int | str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    need_business: bool = True,
) -> Credentials:
    """Apply the precedence rule (module docstring) and check every value.

    Raises:
        ConfigError: no token, no business (when needed), a malformed value, an unsafe
            URL, or a saved login pointed at another API by ``FRESHBOOKS_API_URL``.
    """
    env_token = os.environ.get(ENV_TOKEN) or None
    env_business = os.environ.get(ENV_BUSINESS_ID) or None
    env_url = os.environ.get(ENV_API_URL) or None
    auth: ProfileAuth | None = None
    if token is not None:
        source = "argument"
    elif profile is None and env_token is not None:
        token, source = env_token, "environment"
    else:
        auth = saved_login(profile)
        if auth is None:
            raise ConfigError(f"no FreshBooks access token: {HOW_TO_CONFIGURE}")
        source = f"profile {auth.profile.name!r}"
    if token is not None:
        token = check_token(token)
        url = check_base_url(base_url or env_url or DEFAULT_BASE_URL)
    else:
        assert auth is not None
        home = check_base_url(auth.api_url, what=f"the API URL of {source}")
        url = check_base_url(base_url) if base_url else home
        if base_url is None and env_url is not None:
            asked = check_base_url(env_url, what=ENV_API_URL)
            if origin(asked) != origin(home):
                raise ConfigError(
                    f"{ENV_API_URL} points at {asked}, but the saved login ({source}) was made "
                    f"for {home}; its token is only sent there. Unset {ENV_API_URL}, pass "
                    "base_url=... explicitly, or give a token made for that API"
                )
    chosen: int | None = None
    if business_id is not None and business_id != "":
        chosen = check_business_id(business_id)
    elif env_business is not None:
        chosen = check_business_id(env_business)
    elif need_business:
        if auth is None:
            raise ConfigError(f"no FreshBooks business id: {HOW_TO_CONFIGURE}")
        chosen = check_business_id(auth.profile.chosen_business())
    return Credentials(url, chosen, token, auth, source)
