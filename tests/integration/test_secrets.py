"""No token or secret in anything fbtime writes or shows, across a whole workflow.

Sign in, load (cached), refresh after expiry, export, plan, save, apply, undo, sync, hit
errors, and use the CLI; then scan every byte written under the test's directories, the
DEBUG log, every repr and exception message, and the CLI's output.
"""

import logging
import stat

import pytest
from adversarial.servers import Hostile, Reply
from signin import isolated_login, sign_in

import fbtime
from fbtime.cli import main


@pytest.fixture
def sb():
    # no rate limit: the workflow sends about 700 requests, past the live 600 a minute
    with fbtime.Sandbox(entries=200, seed=31, rate_limit=None) as sandbox:
        yield sandbox


def test_a_whole_workflow_never_reveals_a_token(sb, monkeypatch, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    store = isolated_login(monkeypatch, tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # journals' default home
    shown: list[str] = []
    identity = sign_in(sb)
    first = store.load("default")
    client = fbtime.Client()
    df = fbtime.load_time_entries(client, team=True)
    sb.advance_clock(43201)  # the access token expires; fbtime refreshes it
    df = fbtime.load_time_entries(client, team=True, refresh=True)
    latest = store.load("default")
    assert latest.refresh_token != first.refresh_token

    plan = df.fbtime.unbilled().fbtime.mark_billed()
    plan.save(tmp_path / "plan.json")
    result = plan.apply(client, confirm=len(plan), max_changes=len(plan), progress=False)
    fbtime.undo(result.journal_path).apply(
        client, confirm=len(plan), max_changes=len(plan), progress=False
    )
    fbtime.sync(tmp_path / "snapshot.parquet", client=client, team=True)
    df.to_csv(tmp_path / "export.csv")
    shown += [
        repr(client),
        repr(client.settings),
        repr(plan),
        plan._repr_html_(),
        repr(result),
        repr(identity),
        str(identity),
        repr(latest),
        repr(store),
    ]

    for bad in (
        lambda: fbtime.Client(
            token=latest.access_token, business_id=1, base_url="http://api.example.com"
        ),
        lambda: fbtime.Client(
            token="x" + latest.access_token,
            business_id=sb.business_id,
            base_url=sb.url,
            cache=False,
        ).time_entries.get(1),
        lambda: client.time_entries.get(999_999_999),
    ):
        with pytest.raises(fbtime.FBTimeError) as info:
            bad()
        shown += [str(info.value), repr(info.value)]

    # redirects: one to the same origin (followed), one to another (refused, nothing sent)
    with Hostile(lambda m, p, h: Reply.json({"message": "who?"}, status=401)) as evil:
        with Hostile(forward_to(sb.url, moved_to=None)) as front:
            front.answer = forward_to(sb.url, moved_to=front.url, evil=evil.url)
            via = fbtime.Client(base_url=front.url)  # the saved login, through a front
            redirected = fbtime.load_time_entries(via, team=True, refresh=True)
            assert sorted(redirected.index) == sorted(df.index)
            with pytest.raises(fbtime.TransportError, match="redirecting to") as info:
                via.request("GET", "/elsewhere")
            shown += [str(info.value), repr(info.value), repr(via)]
            via.close()
        assert evil.requests == 0
    assert any(s.path.startswith("/moved/") for s in front.seen)  # the redirect happened

    for argv in (
        ["whoami"],
        ["cache", "info"],
        ["export", str(tmp_path / "e.parquet"), "--team"],
        ["mark-billed", "--team"],
        ["plan", "show", str(tmp_path / "plan.json")],
    ):
        assert main(argv) == 0, argv
    out = capsys.readouterr()
    shown += [out.out, out.err, caplog.text]

    secrets = {first.access_token, first.refresh_token, latest.access_token,
               latest.refresh_token, latest.client_secret, sb.token}  # fmt: skip
    text = "\n".join(shown)
    assert [s for s in secrets if s in text] == []
    store_file = store.path("default")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != store_file]
    assert any(p.suffix == ".jsonl" for p in written)  # the journals were scanned too
    assert any(p.suffix == ".sqlite" for p in written)  # and the cache
    for path in written:
        data = path.read_bytes()
        assert not [s for s in secrets if s.encode() in data], path

    private = [store_file, tmp_path / "plan.json", result.journal_path, client.cache_path]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_plain_http_to_a_remote_host_is_refused_before_anything_is_sent():
    with pytest.raises(fbtime.ConfigError, match="refusing plain HTTP"):
        fbtime.Client(token="secret-token-value", business_id=1, base_url="http://10.1.2.3")


def forward_to(target: str, *, moved_to: str | None, evil: str | None = None):
    """A front server: redirects lists to its own /moved/ (same origin) and forwards
    those to the sandbox; /elsewhere redirects to another origin."""
    import requests

    def answer(method, path, headers):
        if path.startswith("/elsewhere") and evil is not None:
            return Reply(302, {"Location": evil + "/steal"})
        if path.startswith("/moved/"):
            keep = {k: v for k, v in headers.items() if k.lower() in ("authorization", "accept")}
            got = requests.request(method, target + path[len("/moved") :], headers=keep, timeout=10)
            return Reply(
                got.status_code,
                {"Content-Type": "application/json", "Date": got.headers.get("Date", "")},
                got.content,
            )
        return Reply(302, {"Location": f"{moved_to}/moved{path}"})

    return answer
