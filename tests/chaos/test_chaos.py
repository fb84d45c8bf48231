"""Chaos: loads, bulk applies (killed and resumed), undo, sync and revalidated reloads
under seeded faults.

Each test runs 20 seeds and records one row per run; the table is printed at the end of
the session and written to tests/chaos/RESULTS.md.
"""

import json
import logging
import os
import random
import subprocess
import sys

import pandas as pd
import pytest
from chaos import CHUNKS, client_options, faults_for, frame_run, leaked, record, seeds
from groundtruth import kill_at_journal_line, mutate

import fbtime


def client_for(sb, **kw):
    return fbtime.Client(
        token=sb.token, business_id=sb.business_id, base_url=sb.url, **{**client_options(), **kw}
    )


def rows_of(sb) -> dict:
    records = json.loads(sb.entries().drop(columns="updated_at").to_json(orient="records"))
    return {r["id"]: r for r in records}


CHUNK = pytest.mark.parametrize("chunk", range(CHUNKS))
pytestmark = pytest.mark.slow  # 20 seeded runs a test, killed processes among them


@CHUNK
def test_a_full_load_under_faults_equals_the_ground_truth(tmp_path, caplog, chunk):
    caplog.set_level(logging.DEBUG, logger="fbtime")
    runs = []
    with fbtime.Sandbox(entries=1000, seed=99) as sb:
        truth = fbtime.load_time_entries(
            sb.client(cache=False), team=True, per_page=50, progress=False
        )
        for seed in seeds(chunk):
            cache = tmp_path / f"cache-{seed}"
            sb.faults = faults_for(seed, restart_within=25)
            sb.reset_stats()
            frame = fbtime.load_time_entries(
                client_for(sb, cache=cache), team=True, per_page=50, progress=False
            )
            injected = dict(sb.faults.injected)
            sb.faults = None
            secrets = leaked([sb.token], cache, texts=(caplog.text,))
            runs.append(
                frame_run(
                    seed, sum(sb.stats().values()), injected, frame, truth, secrets, ordered=True
                )
            )
    record("load", chunk, runs)
    assert all(r["ok"] for r in runs), [r for r in runs if not r["ok"]]
    assert sum(sum(r["faults"].values()) for r in runs) >= 10


APPLY = (
    "import sys, fbtime; from fbtime.bulk import UpdatePlan; "
    "p = UpdatePlan.load(sys.argv[1]); "
    "c = fbtime.Client(timeout=0.4, retries=8, cache=False); "
    "p.apply(c, confirm=len(p), max_changes=len(p), journal=sys.argv[2], workers=2, "
    "progress=False)"
)


def _apply_killed(sb, plan, tmp_path, seed):
    """Apply ``plan`` in a child process and SIGKILL it at a random journal line."""
    path = plan.save(tmp_path / f"plan-{seed}.json")
    journals = tmp_path / f"journals-{seed}"
    env = {
        **os.environ,
        "FRESHBOOKS_ACCESS_TOKEN": sb.token,
        "FRESHBOOKS_BUSINESS_ID": str(sb.business_id),
        "FRESHBOOKS_API_URL": sb.url,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", APPLY, str(path), str(journals)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_after = random.Random(seed).randint(2, 2 * len(plan))
    kill_at_journal_line(child, journals, kill_after)
    # Requests the dead process already sent may still be running on the server (a slow
    # answer); let them land before resuming, as a person restarting a script would.
    sb.wait_idle()
    return next(journals.glob("*.jsonl"))


def _until_ok(run, attempts=3):
    """Run (resume/apply) again while rows failed: what a user would do."""
    for attempt in range(1, attempts + 1):
        result = run()
        if result.ok:
            return result, attempt
    return result, attempts


@CHUNK
def test_apply_killed_then_resumed_and_undone_under_faults(tmp_path, chunk):
    apply_runs, undo_runs = [], []
    for seed in seeds(chunk):
        with fbtime.Sandbox(entries=120, seed=seed) as sb:
            df = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
            plan = df.fbtime.unbilled().fbtime.mark_billed()
            plan = plan.select(plan.ids[:40])
            before = rows_of(sb)
            sb.faults = faults_for(seed, restart_within=60)
            journal = _apply_killed(sb, plan, tmp_path, seed)
            result, _ = _until_ok(
                lambda j=journal: fbtime.resume(j, client_for(sb, cache=False), progress=False)
            )
            after = rows_of(sb)
            writes = sb.entry_writes()
            lost = sum(1 for i in plan.ids if writes[i] == 0 or not after[i]["billed"])
            doubled = sum(1 for i in plan.ids if writes[i] > 1)
            strays = {
                (i, k)
                for i in before
                for k in before[i]
                if before[i][k] != after[i][k] and not (i in plan.ids and k == "billed")
            }
            secrets = leaked([sb.token], journal)
            apply_runs.append(
                {
                    "seed": seed,
                    "requests": sum(sb.stats().values()),
                    "faults": dict(sb.faults.injected),
                    "lost": lost,
                    "doubled": doubled,
                    "leaked": len(secrets),
                    "ok": result.ok and not lost and not doubled and not strays and not secrets,
                }
            )
            # A request the client gave up on (timed out) may still run on the server a
            # moment later; a person undoes minutes later, so wait that moment out here.
            sb.wait_idle()
            sb.reset_stats()
            sb.faults = faults_for(seed + 1000, restart_within=60)
            undo_plan, undo_dir = fbtime.undo(journal), tmp_path / f"undo-{seed}"
            undone, _ = _until_ok(
                lambda p=undo_plan, d=undo_dir: p.apply(
                    client_for(sb, cache=False), confirm=True, journal=d, progress=False
                )
            )
            sb.wait_idle()
            restored = rows_of(sb)
            differ = sum(1 for i in before if before[i] != restored[i])
            undo_runs.append(
                {
                    "seed": seed,
                    "requests": sum(sb.stats().values()),
                    "faults": dict(sb.faults.injected),
                    "lost": differ,
                    "doubled": 0,
                    "leaked": len(leaked([sb.token], undo_dir)),
                    "ok": undone.ok and differ == 0,
                }
            )
            sb.faults = None
    record("apply", chunk, apply_runs)
    record("undo", chunk, undo_runs)
    assert all(r["ok"] for r in apply_runs), [r for r in apply_runs if not r["ok"]]
    assert all(r["ok"] for r in undo_runs), [r for r in undo_runs if not r["ok"]]


@CHUNK
def test_incremental_sync_under_faults_equals_a_full_reload(tmp_path, chunk):
    runs = []
    path = tmp_path / "team.parquet"
    with fbtime.Sandbox(entries=800, seed=5) as sb:
        fbtime.sync(
            path, client=sb.client(cache=False), team=True, include_deleted=True, per_page=20
        )
        for seed in seeds(chunk):
            rng = random.Random(seed)
            mutate(sb, rng, 12)
            sb.faults = faults_for(seed, restart_within=4, scale=3)
            sb.reset_stats()
            fbtime.sync(
                path,
                client=client_for(sb, cache=False),
                team=True,
                include_deleted=True,
                per_page=20,
            )
            injected = dict(sb.faults.injected)
            sb.faults = None
            snapshot = fbtime.as_time_entries(pd.read_parquet(path))
            full = fbtime.load_time_entries(
                sb.client(cache=False), team=True, include_deleted=True, progress=False
            )
            full.attrs = {}
            secrets = leaked([sb.token], tmp_path)
            runs.append(
                frame_run(seed, sum(sb.stats().values()), injected, snapshot, full, secrets)
            )
    record("sync", chunk, runs)
    assert all(r["ok"] for r in runs), [r for r in runs if not r["ok"]]


@CHUNK
def test_a_revalidated_reload_under_faults_equals_a_full_reload(tmp_path, chunk):
    runs = []
    cache = tmp_path / "cache"
    with fbtime.Sandbox(entries=800, seed=7) as sb:
        options = {"team": True, "per_page": 50, "progress": False}
        fbtime.load_time_entries(client_for(sb, cache=cache), **options)  # fills the snapshot
        for seed in seeds(chunk):
            mutate(sb, random.Random(seed), 12)  # as the web app would: no request, no stamp
            sb.faults = faults_for(seed, restart_within=4, scale=3)
            sb.reset_stats()
            frame = fbtime.load_time_entries(client_for(sb, cache=cache), **options)
            injected, sent = dict(sb.faults.injected), sum(sb.stats().values())
            sb.faults = None
            truth = fbtime.load_time_entries(sb.client(cache=False), **options)
            secrets = leaked([sb.token], cache)
            runs.append(frame_run(seed, sent, injected, frame, truth, secrets, ordered=True))
    record("revalidate", chunk, runs)
    assert all(r["ok"] for r in runs), [r for r in runs if not r["ok"]]
