"""The bad-input catalogue: each wrong input gets a typed error naming the problem, before
any request is sent and before anything is written."""

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

import fbtime
from fbtime.bulk import UpdatePlan
from fbtime.cli import main


@dataclass
class World:
    sb: Any
    tmp: Any
    monkeypatch: Any
    inputs: set = field(default_factory=set)  # files the case itself wrote as its input

    @property
    def client(self):
        return fbtime.Client(
            token=self.sb.token, business_id=self.sb.business_id, base_url=self.sb.url, cache=False
        )

    def load(self, **kw):
        return fbtime.load_time_entries(self.client, progress=False, **kw)

    def frame(self):
        rows = self.sb.entries().drop(columns="updated_at").head(5).to_dict("records")
        from fbtime.frame import records_to_frame

        frame = records_to_frame(rows)
        frame.attrs["fbtime"] = {"business_id": self.sb.business_id}
        return frame

    def plan_file(self, edit=None, text=None):
        path = self.tmp / "plan.json"
        self.inputs.add(path)
        if text is not None:
            path.write_text(text)
            return path
        data = self.frame().fbtime.update(note="x").to_dict()
        if edit:
            edit(data)
        path.write_text(json.dumps(data))
        return path

    def journal_file(self, text):
        path = self.tmp / "run.jsonl"
        self.inputs.add(path)
        path.write_text(text)
        return path

    def env(self, **values):
        for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL"):
            self.monkeypatch.delenv(name, raising=False)
        for name, value in values.items():
            self.monkeypatch.setenv(name, value)


def cli(w, *argv):
    """Run the CLI against the sandbox; return its exit code (bad input exits 2)."""
    w.env(
        FRESHBOOKS_ACCESS_TOKEN=w.sb.token,
        FRESHBOOKS_BUSINESS_ID=str(w.sb.business_id),
        FRESHBOOKS_API_URL=w.sb.url,
        FBTIME_CACHE_DIR=str(w.tmp / "cache"),
    )
    code = main(list(argv))
    if code != 2:
        raise AssertionError(f"exit code {code}, expected 2")
    raise fbtime.QueryError("exit 2")  # the message was printed; the catalogue checks stderr


Q, C, S, P, A = (
    fbtime.QueryError,
    fbtime.ConfigError,
    fbtime.SchemaError,
    fbtime.PlanError,
    AttributeError,
)
CASES = [
    # filters and dates
    ("unknown filter", lambda w: w.load(clientid=5), Q, "valid filters are"),
    (
        "start after end",
        lambda w: w.load(started_from="2026-10-05", started_to="2026-10-01"),
        Q,
        "is after started_to",
    ),
    ("unreadable date", lambda w: w.load(started_from="next tuesday"), Q, "started_from"),
    ("impossible date", lambda w: w.load(updated_since="2026-02-30"), Q, "updated_since"),
    ("number as date", lambda w: w.load(started_to=20261001), Q, "started_to must be a date"),
    ("string as bool", lambda w: w.load(billable="yes"), Q, "billable must be True or False"),
    ("string team", lambda w: w.load(team="true"), Q, "team must be True or False"),
    (
        "identity with unlogged",
        lambda w: w.load(identity_id=5, include_unlogged=True),
        Q,
        "identity_id cannot be combined",
    ),
    ("client id text", lambda w: w.load(client_id="abc"), Q, "client_id must be a whole number"),
    ("identity id float", lambda w: w.load(identity_id=2.5), Q, "identity_id"),
    ("negative client id", lambda w: w.load(client_id=-3), Q, "client_id must be positive"),
    ("per_page zero", lambda w: w.load(per_page=0), Q, "per_page"),
    ("per_page over cap", lambda w: w.load(per_page=101), Q, "the API's cap"),
    ("per_page text", lambda w: w.load(per_page="30"), Q, "per_page"),
    ("list filter typo", lambda w: list(w.client.time_entries.list(bilable=True)), Q, "'bilable'"),
    # ids and fields
    ("get text id", lambda w: w.client.time_entries.get("12x"), Q, "entry id"),
    ("get negative id", lambda w: w.client.time_entries.get(-1), Q, "entry id must be positive"),
    ("delete no id", lambda w: w.client.time_entries.delete(None), Q, "entry id"),
    (
        "update unknown field",
        lambda w: w.client.time_entries.update(5, colour="red"),
        Q,
        "writable fields are",
    ),
    (
        "update read-only field",
        lambda w: w.client.time_entries.update(5, active=True),
        Q,
        "'active'",
    ),
    (
        "update text client",
        lambda w: w.client.time_entries.update(5, client_id="abc"),
        Q,
        "client_id",
    ),
    (
        "create text duration",
        lambda w: w.client.time_entries.create(duration="1h"),
        Q,
        "duration must be whole seconds",
    ),
    (
        "create negative duration",
        lambda w: w.client.time_entries.create(duration=-5),
        Q,
        "duration",
    ),
    (
        "create bad start",
        lambda w: w.client.time_entries.create(started_at="whenever"),
        Q,
        "started_at",
    ),
    ("create text flag", lambda w: w.client.time_entries.create(billable="yes"), Q, "billable"),
    (
        "create number note",
        lambda w: w.client.time_entries.create(note=5),
        Q,
        "note must be a string",
    ),
    # config
    ("no token", lambda w: (w.env(), fbtime.Client(business_id=1)), C, "FRESHBOOKS_ACCESS_TOKEN"),
    ("no business", lambda w: (w.env(), fbtime.Client(token="t")), C, "FRESHBOOKS_BUSINESS_ID"),
    (
        "business uuid",
        lambda w: fbtime.Client(token="t", business_id="a1b2-c3"),
        C,
        "business_id must be a whole number",
    ),
    (
        "business zero in env",
        lambda w: (w.env(FRESHBOOKS_ACCESS_TOKEN="t", FRESHBOOKS_BUSINESS_ID="0"), fbtime.Client()),
        C,
        "business_id must be positive",
    ),
    (
        "plain http remote",
        lambda w: fbtime.Client(token="t", business_id=1, base_url="http://api.example.com"),
        C,
        "refusing plain HTTP",
    ),
    (
        "not a url",
        lambda w: fbtime.Client(token="t", business_id=1, base_url="ftp://x"),
        C,
        "http(s) URL",
    ),
    ("zero timeout", lambda w: fbtime.Client(token="t", business_id=1, timeout=0), C, "timeout"),
    ("no workers", lambda w: fbtime.Client(token="t", business_id=1, workers=0), C, "workers"),
    (
        "negative rate",
        lambda w: fbtime.Client(token="t", business_id=1, rate_limit=-1),
        C,
        "rate_limit",
    ),
    # frames
    ("not a frame", lambda w: fbtime.as_time_entries([1, 2]), S, "expected a pandas DataFrame"),
    (
        "frame without columns",
        lambda w: fbtime.as_time_entries(pd.DataFrame({"id": [1]})),
        S,
        "missing required time-entry columns",
    ),
    (
        "frame with text durations",
        lambda w: fbtime.as_time_entries(
            w.frame().astype({"duration": "object"}).assign(duration="an hour")
        ),
        S,
        "column 'duration' cannot be read as Int64",
    ),
    ("accessor on a plain frame", lambda w: pd.DataFrame({"a": [1]}).fbtime, A, "as_time_entries"),
    (
        "accessor on a frame missing a column",
        lambda w: w.frame().drop(columns="billed").fbtime,
        A,
        "billed",
    ),
    (
        "accessor on wrong dtypes",
        lambda w: w.frame().astype({"duration": "float64"}).fbtime,
        A,
        "duration is float64, expected Int64",
    ),
    ("unknown audit rule", lambda w: w.frame().fbtime.audit(["typo_rule"]), Q, "typo_rule"),
    ("unknown period", lambda w: w.frame().fbtime.by_period("Q"), Q, "freq must be one of"),
    # plans
    ("update plan without fields", lambda w: w.frame().fbtime.update(), P, "at least one field"),
    (
        "update plan with bad value",
        lambda w: w.frame().fbtime.update(billed="yes"),
        P,
        "billed must be True or False",
    ),
    (
        "plan frame without ids",
        lambda w: fbtime.bulk.plan_mark_billed(w.frame().reset_index(drop=True)),
        P,
        "no 'id'",
    ),
    (
        "plan for another business",
        lambda w: w.frame().fbtime.mark_billed(business_id=1),
        P,
        "loaded from business",
    ),
    (
        "apply unconfirmed",
        lambda w: w.frame().fbtime.update(note="x").apply(w.client),
        fbtime.ConfirmationError,
        "confirm=True",
    ),
    ("plan file not json", lambda w: UpdatePlan.load(w.plan_file(text="{nope")), P, "not JSON"),
    ("plan file missing", lambda w: UpdatePlan.load(w.tmp / "absent.json"), P, "no plan file"),
    (
        "plan file newer version",
        lambda w: UpdatePlan.load(w.plan_file(lambda d: d.update(version=99))),
        P,
        "plan version 99",
    ),
    (
        "plan file negative id",
        lambda w: UpdatePlan.load(w.plan_file(lambda d: d["changes"][0].update(id=-4))),
        P,
        "id must be a positive integer",
    ),
    # journals
    (
        "journal missing",
        lambda w: fbtime.resume(w.tmp / "absent.jsonl", w.client),
        P,
        "no journal file",
    ),
    (
        "journal without header",
        lambda w: fbtime.undo(w.journal_file('{"type": "outcome"}\n')),
        P,
        "no run header",
    ),
    (
        "journal damaged inside",
        lambda w: fbtime.undo(w.journal_file('{"type": "run"}\n{broken\n{"type": "end"}\n')),
        P,
        "line 2 is damaged",
    ),
    # command line (exit code 2, message on stderr)
    (
        "cli export bad id",
        lambda w: cli(w, "export", str(w.tmp / "x.csv"), "--client-id", "abc"),
        Q,
        "exit 2",
    ),
    (
        "cli export reversed dates",
        lambda w: cli(
            w,
            "export",
            str(w.tmp / "x.csv"),
            "--started-from",
            "2026-10-05",
            "--started-to",
            "2026-10-01",
        ),
        Q,
        "exit 2",
    ),
    (
        "cli plan show missing",
        lambda w: cli(w, "plan", "show", str(w.tmp / "absent.json")),
        Q,
        "exit 2",
    ),
    ("cli apply invalid plan", lambda w: cli(w, "apply", str(w.plan_file(text="[]"))), Q, "exit 2"),
    (
        "cli undo damaged journal",
        lambda w: cli(w, "undo", str(w.journal_file("x\ny\n"))),
        Q,
        "exit 2",
    ),
]


def test_the_catalogue_has_at_least_40_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize(("name", "call", "error", "text"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_anything_happens(
    sandbox, tmp_path, monkeypatch, capsys, name, call, error, text
):
    w = World(sandbox, tmp_path, monkeypatch)
    made = set(tmp_path.rglob("*"))
    sandbox.reset_stats()
    with pytest.raises(error) as info:
        call(w)
    message = str(info.value)
    assert text in message, message
    if text == "exit 2":
        assert "fbtime: error:" in capsys.readouterr().err
    assert sum(sandbox.stats().values()) == 0, "a request was sent"
    written = set(tmp_path.rglob("*")) - made - w.inputs
    assert not written, f"files were written: {written}"
    assert sandbox.token not in message
