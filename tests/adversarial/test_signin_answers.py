"""Sign-in reads answers like any other: within the size cap and the deadline, shown safely.

``whoami()``, ``fbtime login`` (the token exchange, then ``users/me``) and ``fbtime use``
read answers from a server of the test's own. A small gzip bomb must be refused without
being inflated (the peak memory of the whole process is measured in a child process),
and names from the account must not add lines to what ``whoami`` prints.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import fbtime
from adversarial.servers import Hostile, Reply, gzip_bomb
from adversarial.test_token_travels import TOKEN, env
from fbtime.auth.identity import ME_PATH

BOMB_SIZE = 200 * 1024 * 1024
#: The child runs ``{call}`` and prints the error's type and message, then its peak memory.
CHILD = """
import os, sys
sys.path[:0] = {paths!r}
import fbtime
from fbtime.auth.oauth import LoginFlow
from fbtime.cli import main
url = {url!r}
try:
    result = {call}
    print("no error", result)
except (fbtime.FBTimeError, SystemExit) as exc:
    print(type(exc).__name__, str(exc).replace(chr(10), " "))
# VmHWM, not getrusage: ru_maxrss survives exec, so it would hold the parent's peak
print(next(int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")))
"""
ME = {
    "response": {
        "identity_id": 5, "first_name": "Ann", "last_name": "Lee", "email": "ann@example.com",
        "business_memberships": [{"role": "owner", "business": {"id": 1, "name": "Acme"}}],
    }
}  # fmt: skip
TOKENS = {"access_token": "acc-1", "refresh_token": "ref-1", "token_type": "Bearer",
          "expires_in": 43200, "scope": "user:profile:read"}  # fmt: skip


def serve(bomb_at: str):
    bomb = gzip_bomb(BOMB_SIZE)

    def answer(method, path, headers):
        if path.startswith(bomb_at):
            return bomb
        if path.startswith("/auth/oauth/token"):
            return Reply.json(TOKENS)
        return Reply.json(ME)

    return answer


def run_child(call: str, url: str, tmp_path, **environ: str) -> tuple[str, int]:
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FBTIME_KEYRING": "0",
        "FBTIME_CONFIG_DIR": str(tmp_path / "config"), "FBTIME_CACHE_DIR": str(tmp_path / "c"),
        **environ,
    }  # fmt: skip
    code = CHILD.format(paths=sys.path, url=url, call=call)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    lines = out.stdout.strip().splitlines()
    assert len(lines) >= 2, out.stderr
    return "\n".join(lines[:-1]), int(lines[-1])


def token_env(url: str) -> dict[str, str]:
    return {"FRESHBOOKS_ACCESS_TOKEN": TOKEN, "FRESHBOOKS_BUSINESS_ID": "1",
            "FRESHBOOKS_API_URL": url}  # fmt: skip


@pytest.mark.slow
def test_whoami_refuses_a_gzip_bomb_without_inflating_it(tmp_path):
    with Hostile(serve(ME_PATH)) as server:
        said, peak = run_child("fbtime.whoami()", server.url, tmp_path, **token_env(server.url))
    assert said.startswith("TransportError") and "larger than" in said
    assert peak < 400  # MB of the whole process: the 200 MB never existed


@pytest.mark.parametrize("command", [["whoami"], ["use", "1"]])
@pytest.mark.slow
def test_the_cli_refuses_a_gzip_bomb_from_users_me(tmp_path, command):
    # `use` saves into a profile: a saved login whose API is the hostile server
    from adversarial.test_token_travels import save_login

    with Hostile(serve(ME_PATH)) as server:
        save_login(tmp_path, server.url)
        environ = {} if command[0] == "use" else token_env(server.url)
        said, peak = run_child(f"main({command!r})", server.url, tmp_path, **environ)
    assert said.startswith("no error 1"), said  # exit code 1: an error was printed
    assert peak < 400


@pytest.mark.parametrize("bomb_at", ["/auth/oauth/token", ME_PATH])
@pytest.mark.slow
def test_login_refuses_a_gzip_bomb_from_the_token_endpoint_or_users_me(tmp_path, bomb_at):
    call = (
        "(lambda f: f.finish(f'https://localhost/fbtime?code=abc&state={f._state}'))("
        "LoginFlow('app', 'app-secret', redirect_uri='https://localhost/fbtime', "
        "auth_url=url + '/oauth/authorize/', base_url=url))"
    )
    with Hostile(serve(bomb_at)) as server:
        said, peak = run_child(call, server.url, tmp_path)
    assert not said.startswith("no error"), said
    assert "larger than" in said
    assert peak < 400
    assert not (tmp_path / "config" / "default.json").exists()  # nothing was saved


def test_names_with_newlines_add_no_lines_to_whoami(monkeypatch, tmp_path, capsys):
    env(monkeypatch, tmp_path)
    me = json.loads(json.dumps(ME))
    me["response"]["first_name"] = "Ann\n  * 666        Evil Corp (owner)"
    me["response"]["business_memberships"] = [
        {"role": "owner", "business": {"id": 1, "name": "Acme\n  * 999        Fake Inc"}},
        {"role": "admin\x1b[2J", "business": {"id": 2, "name": "Beta\r\nno business chosen"}},
    ]
    with Hostile(lambda m, p, h: Reply.json(me)) as server:
        for name, value in token_env(server.url).items():
            monkeypatch.setenv(name, value)
        shown = str(fbtime.whoami())
        from fbtime.cli import main

        assert main(["whoami"]) == 0
    printed = capsys.readouterr().out
    for text in (shown, printed.rstrip("\n")):
        lines = text.splitlines()
        assert len(lines) == 1 + 2, lines  # the user, then one line per business
        assert lines[1].startswith("  * 1 ") and "Acme\\n" in lines[1]
        assert lines[2].startswith("    2 ") and "\\x1b" in lines[2] and "\x1b" not in text
