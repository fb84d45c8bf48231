"""Load-speed benchmark: fbtime against the official FreshBooks SDK, on the sandbox.

The sandbox answers every request after ``LATENCY`` seconds (a network round trip) and
lives in this process; each scenario runs in a fresh child process, so its peak RSS is
its own. Request counts come from the sandbox's counters.

Scenarios, at 20,000 and 200,000 entries (``team=True``, 100 per page):

(a) ``freshbooks-sdk``: the paging loop a user writes today, then ``pandas.DataFrame``.
(b) fbtime cold at its defaults: adaptive concurrency, a cache directory (the frame is
    kept as a snapshot for the next load).
(b') the same with the cache off (no snapshot written).
(b4), (b8), (b16), (b32): cold with a fixed number of workers (the cap is 32).
(r0) a revalidated reload, nothing changed: ``updated_since`` and a count check.
(r1) a revalidated reload after 1% of entries changed outside fbtime (straight in the
    sandbox's store, as the web app would); compared with a fresh full load.
(c) the reload served from the cache with no request (``accept_stale=``).
(d) ``fbtime.sync`` after 1% changed (the full first sync is set-up, not timed).
(L) a cold load under a limit the sandbox publishes (``X-RateLimit-*``, ``LIMIT`` requests
    a second): its time against the floor the limit allows, and its answers of 429.

Also measured: frame building alone, ``json`` against ``orjson`` on the same pages, and
the ideal cold load ``pages x latency / workers + frame building``. Then the accessor
benchmark (``bench/accessor.py``, 1,000,000 rows, ``with_rates`` included) and the widgets
(``bench/widgets.py``: the explorer at 30,000 entries, the review totals at 2,000 changes).
Everything goes to the terminal and to ``bench/RESULTS.md``, with the machine's load
average (other work shares its CPUs).

Run: ``python bench/run.py`` (or ``make bench``); ``--sizes 2000`` for a quick look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

LATENCY = 0.02
SIZES = (20_000, 200_000)
PER_PAGE = 100
CHANGED = 0.01
#: The published limit of scenario (L), requests per second: below what fbtime reaches
#: unlimited here, so the limit (not the latency) sets the pace.
LIMIT = 100
FIXED = (4, 8, 16, 32)


# -- child side: one scenario, one process ------------------------------------------------
def _rss_mb() -> float:
    """Peak RSS of this process so far (VmHWM: getrusage's maxrss survives exec on Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _child(config: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    import fbtime

    token = os.environ["FBTIME_BENCH_TOKEN"]
    scenario = config["scenario"]
    base = _current_rss_mb()
    out: dict[str, Any] = {}
    started = time.perf_counter()
    if scenario == "sdk":
        os.environ["FRESHBOOKS_API_URL"] = config["url"]
        from freshbooks import Client as FreshBooksClient
        from freshbooks import FilterBuilder, PaginateBuilder

        base = _current_rss_mb()
        started = time.perf_counter()
        sdk = FreshBooksClient(client_id="x", access_token=token)
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            result = sdk.time_entries.list(
                config["business_id"],
                builders=[PaginateBuilder(page, PER_PAGE), FilterBuilder().boolean("team", True)],
            )
            rows.extend(entry.data for entry in result)
            if page >= result.pages.pages:
                break
            page += 1
        frame = pd.DataFrame(rows)
    elif scenario in ("cold", "revalidate", "stale"):
        client = fbtime.Client(
            token=token,
            business_id=config["business_id"],
            base_url=config["url"],
            cache=config["cache"],
            workers=config.get("workers"),
        )
        told = _Count429()
        if config.get("count_429"):  # DEBUG records cost a little: only where they count
            logging.getLogger("fbtime").addHandler(told)
            logging.getLogger("fbtime").setLevel(logging.DEBUG)
        stale = 900 if scenario == "stale" else None
        frame = fbtime.load_time_entries(
            client, team=True, per_page=PER_PAGE, progress=False, accept_stale=stale
        )
        seconds = time.perf_counter() - started
        out.update(
            source=frame.attrs["fbtime"]["source"],
            workers_final=client.concurrency.limit,
            workers_peak=client.concurrency.peak,
            answers_429=told.count,
            held=client.limiter.held,
        )
        if config.get("compare"):
            frame.attrs = {}
            frame.to_parquet(config["compare"])
        started = time.perf_counter() - seconds
    elif scenario == "sync":
        client = fbtime.Client(
            token=token, business_id=config["business_id"], base_url=config["url"], cache=False
        )
        report = fbtime.sync(config["snapshot"], client=client, team=True)
        out["report"] = {"full": report.full, "pages": report.pages, "new": report.new,
                         "changed": report.changed, "deleted": report.deleted}  # fmt: skip
        frame = pd.read_parquet(config["snapshot"])
    elif scenario == "build":
        return _build_child(config, token)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    out.update(
        seconds=time.perf_counter() - started,
        rows=len(frame),
        peak_rss_mb=_rss_mb(),
        base_rss_mb=base,
        frame_mb=frame.memory_usage(deep=True).sum() / 2**20,
    )
    return out


class _Count429(logging.Handler):
    """Counts the client's own DEBUG lines for answers of 429 ("GET url -> 429 in ...")."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        self.count += len(args) > 2 and args[2] == 429


def _build_child(config: dict[str, Any], token: str) -> dict[str, Any]:
    """Frame building alone, and json against orjson, on the pages of a real load."""
    import gc

    import orjson
    import requests

    from fbtime.frame import chunks_to_frame, page_chunk

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    url = f"{config['url']}/timetracking/business/{config['business_id']}/time_entries"
    pages, number = [], 1
    while True:
        body = session.get(url, params={"team": "true", "page": number, "per_page": PER_PAGE})
        pages.append(body.content)
        if number >= orjson.loads(body.content)["meta"]["pages"]:
            break
        number += 1
    best: dict[str, float] = {}
    for _ in range(3):
        for name, loads in (("json", json.loads), ("orjson", orjson.loads)):
            gc.collect()
            started = time.perf_counter()
            for page in pages:
                loads(page)["time_entries"]
            best[name] = min(best.get(name, 1e9), time.perf_counter() - started)
        gc.collect()
        started = time.perf_counter()
        chunks_to_frame([page_chunk(orjson.loads(p)["time_entries"]) for p in pages])
        best["build"] = min(best.get("build", 1e9), time.perf_counter() - started)
    return {"pages": len(pages), "json_s": best["json"], "orjson_s": best["orjson"],
            "build_s": best["build"]}  # fmt: skip


# -- parent side ---------------------------------------------------------------------------
def _spawn(config: dict[str, Any], token: str) -> dict[str, Any]:
    env = {**os.environ, "FBTIME_BENCH_TOKEN": token}
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(config)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scenario {config['scenario']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_size(entries: int) -> dict[str, Any]:
    import pandas as pd
    from pandas.testing import assert_frame_equal

    import fbtime

    print(f"\n== {entries:,} entries, {LATENCY * 1000:.0f} ms per request ==", flush=True)
    built = time.perf_counter()
    # the bench's own settings, not the live defaults: no rate limit (it measures speed; the
    # limit is its own row), and one-level meta totals (live nests them per day: 9 MB a
    # page at 200,000 entries, 0.75 s to parse, which would measure the meta, not fbtime)
    sb = fbtime.Sandbox(
        entries=entries, seed=1, latency=LATENCY, rate_limit=None, meta_totals="flat"
    ).start()
    print(f"sandbox built in {time.perf_counter() - built:.1f} s", flush=True)
    results: dict[str, Any] = {"entries": entries, "scenarios": {}, "load": []}

    def run(label: str, scenario: str, **extra: Any) -> dict[str, Any]:
        sb.reset_stats()
        results["load"].append(os.getloadavg()[0])
        row = _spawn({"scenario": scenario, **common, **extra}, sb.token)
        row["requests"] = sum(sb.stats().values())
        results["scenarios"][label] = row
        print(f"({label}) {scenario}: {row['seconds']:.2f} s, {row['requests']} requests"
              + (f", {row['source']}" if "source" in row else ""), flush=True)  # fmt: skip
        return row

    def same_as_a_full_load(row: dict[str, Any], path: Path) -> None:
        latency, sb.latency = sb.latency, 0
        fresh = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
        sb.latency = latency
        fresh.attrs = {}
        try:
            assert_frame_equal(fbtime.as_time_entries(pd.read_parquet(path)), fresh)
            row["same_frame"] = True
        except AssertionError as exc:
            row["same_frame"] = False
            print(f"differs from a full load: {exc}", flush=True)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            common = {"url": sb.url, "business_id": sb.business_id}
            cache = str(Path(tmp) / "cache")
            run("a", "sdk")
            run("b", "cold", cache=cache)
            run("b0", "cold", cache=False)
            for n in FIXED:
                run(f"b{n}", "cold", cache=str(Path(tmp) / f"cache{n}"), workers=n)
            run("c", "stale", cache=cache)
            compare = str(Path(tmp) / "compare.parquet")
            same_as_a_full_load(run("r0", "revalidate", cache=cache, compare=compare), compare)
            rows = sb.entries()
            live = [int(i) for i in rows.loc[rows["active"] & rows["is_logged"], "id"]]
            rng = random.Random(entries)
            for entry in rng.sample(live, int(len(live) * CHANGED)):
                sb.update_entry(entry, note=f"changed {rng.random():.6f}")
            same_as_a_full_load(run("r1", "revalidate", cache=cache, compare=compare), compare)
            sb.set_rate_limit(LIMIT, per=1.0, rolling=False)  # as measured before
            try:
                run("L", "cold", cache=False, count_429=True)
            finally:
                sb.set_rate_limit(None)
            # (d): full first sync as set-up (no latency), then 1% changes, then timed sync
            snapshot = str(Path(tmp) / "entries.parquet")
            sb.latency = 0
            fbtime.sync(snapshot, client=sb.client(cache=False), team=True)
            live = [int(i) for i in pd.read_parquet(snapshot).index]
            for entry in rng.sample(live, int(len(live) * CHANGED)):
                sb.update_entry(entry, note=f"changed {rng.random():.6f}")
            sb.latency = LATENCY
            same_as_a_full_load(run("d", "sync", snapshot=snapshot), snapshot)
            results["build"] = _spawn({"scenario": "build", **common}, sb.token)
    finally:
        sb.stop()
    return results


NAMES = {
    "a": "(a) freshbooks-sdk loop + DataFrame",
    "b": "(b) fbtime cold, defaults (adaptive)",
    "b0": "(b') fbtime cold, cache off",
    **{f"b{n}": f"(b{n}) fbtime cold, {n} workers" for n in FIXED},
    "c": "(c) reload from cache, `accept_stale` (0 requests)",
    "r0": "(r0) revalidated reload, nothing changed",
    "r1": "(r1) revalidated reload, 1% changed",
    "d": "(d) fbtime sync, 1% changed",
    "L": f"(L) fbtime cold under a published limit of {LIMIT}/s",
}


def _ideal(res: dict[str, Any], workers: float) -> float:
    return res["build"]["pages"] * LATENCY / workers + res["build"]["build_s"]


def _table(all_results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| entries | scenario | wall s | requests | rows/s | peak RSS MB | load RSS MB "
        "| frame MB | vs (a) | vs (b) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for res in all_results:
        a, b = res["scenarios"]["a"]["seconds"], res["scenarios"]["b"]["seconds"]
        for label, row in res["scenarios"].items():
            lines.append(
                f"| {res['entries']:,} | {NAMES[label]} | {row['seconds']:.2f} "
                f"| {row['requests']:,} | {row['rows'] / row['seconds']:,.0f} "
                f"| {row['peak_rss_mb']:.0f} | {row['peak_rss_mb'] - row['base_rss_mb']:.0f} "
                f"| {row['frame_mb']:.1f} | {a / row['seconds']:.1f}x | {b / row['seconds']:.1f}x |"
            )
    return lines


def _targets(all_results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| entries | (b) vs (a) | (r0) requests | (r1) requests | (r0), (r1) equal a full "
        "load | (r0) vs (b) | (r1) vs (b) | (L) 429s | (L) s | floor s | (L) / floor "
        "| (b) load RSS / frame |",
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for res in all_results:
        s = res["scenarios"]
        a, b, limited = s["a"], s["b"], s["L"]
        floor = limited["requests"] / LIMIT
        lines.append(
            f"| {res['entries']:,} | {a['seconds'] / b['seconds']:.1f}x "
            f"| {s['r0']['requests']} | {s['r1']['requests']} "
            f"| {s['r0']['same_frame'] and s['r1']['same_frame']} "
            f"| {b['seconds'] / s['r0']['seconds']:.0f}x "
            f"| {b['seconds'] / s['r1']['seconds']:.0f}x "
            f"| {limited['answers_429']} | {limited['seconds']:.2f} | {floor:.2f} "
            f"| {limited['seconds'] / floor:.2f} "
            f"| {(b['peak_rss_mb'] - b['base_rss_mb']) / b['frame_mb']:.2f}x |"
        )
    lines += [
        "",
        "| entries | frame building s | json.loads s | orjson.loads s | orjson speed-up |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for res in all_results:
        build = res["build"]
        lines.append(
            f"| {res['entries']:,} | {build['build_s']:.2f} | {build['json_s']:.2f} "
            f"| {build['orjson_s']:.2f} | {build['json_s'] / build['orjson_s']:.1f}x |"
        )
    return lines


def _workers(all_results: list[dict[str, Any]]) -> list[str]:
    """Concurrency against time: the fixed counts, the adaptive default, and the ideal."""
    lines = [
        "| entries | workers | wall s | ideal s | wall / ideal | vs (a) | gain over half as many |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for res in all_results:
        s = res["scenarios"]
        previous = None
        for n in FIXED:
            row = s[f"b{n}"]
            gain = f"{previous / row['seconds']:.2f}x" if previous else "-"
            lines.append(
                f"| {res['entries']:,} | {n} fixed | {row['seconds']:.2f} | {_ideal(res, n):.2f} "
                f"| {row['seconds'] / _ideal(res, n):.2f} "
                f"| {s['a']['seconds'] / row['seconds']:.1f}x | {gain} |"
            )
            previous = row["seconds"]
        b = s["b"]
        lines.append(
            f"| {res['entries']:,} | adaptive (settled at {b['workers_final']}, peak "
            f"{b['workers_peak']}) | {b['seconds']:.2f} | {_ideal(res, b['workers_final']):.2f} "
            f"| {b['seconds'] / _ideal(res, b['workers_final']):.2f} "
            f"| {s['a']['seconds'] / b['seconds']:.1f}x | - |"
        )
    return lines


def write_results(all_results: list[dict[str, Any]], accessor_md: str | None) -> str:
    import fbtime

    loads = [x for res in all_results for x in res["load"]]
    header = [
        "# fbtime benchmark results",
        "",
        f"Generated by `python bench/run.py` on {dt.date.today().isoformat()} "
        f"(Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, fbtime {fbtime.__version__}). Sandbox on 127.0.0.1 with "
        f"{LATENCY * 1000:.0f} ms added to every request; `team=True`, {PER_PAGE} per page. "
        "Each scenario ran in a fresh process: peak RSS is its own, *load RSS* is the peak "
        "minus the RSS before loading; *frame MB* is `memory_usage(deep=True)` of the "
        "resulting frame. Requests are the sandbox's counts. The sandbox (a Python server) "
        "and the client share the machine's CPUs with other work: the 1-minute load average "
        f"was {min(loads):.1f} to {max(loads):.1f} when the scenarios started.",
        "",
        "## Loading time entries",
        "",
        *_table(all_results),
        "",
        "## Targets",
        "",
        "Targets: (b) at least 5x faster than (a); (r0) at most 2 requests and (r1) at most "
        "3 when the changes fit one page (1% of 200,000 entries is 2,000 changed rows: 20 "
        "pages of `updated_since` at most 100 rows each, plus the count), both equal to a "
        f"full load and at least 20x faster than (b) at 200,000 entries; (L) 0 answers of "
        f"429 and within 1.2x of the floor, the time {LIMIT} requests a second allow for its "
        "requests; load RSS within 3x of the frame. A cold load sends one request more than "
        "the pages: the `updated_since` check that catches writes made while paging.",
        "",
        *_targets(all_results),
        "",
        "## Workers, and the caps (16 adaptive, 32 fixed)",
        "",
        "Ideal = pages x latency / workers + frame building (measured alone above). "
        "Adaptive concurrency starts at 4 and doubles while throughput keeps up (to 16 at "
        "most), then holds latency within 1.5x of the lowest seen; *gain over half as many* "
        "is what doubling the fixed count bought.",
        "",
        *_workers(all_results),
        "",
    ]
    text = "\n".join(header)
    if accessor_md:
        text += "\n" + accessor_md
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--accessor-rows", type=int, default=1_000_000)
    parser.add_argument("--no-accessor", action="store_true", help="skip bench/accessor.py")
    parser.add_argument("--no-widgets", action="store_true", help="skip bench/widgets.py")
    parser.add_argument("--no-plans", action="store_true", help="skip bench/plans.py")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    started = time.perf_counter()
    all_results = [bench_size(n) for n in args.sizes]
    print()
    print("\n".join(_table(all_results)))
    print()
    print("\n".join(_targets(all_results)))
    print()
    print("\n".join(_workers(all_results)))
    accessor_md = None
    if not args.no_accessor:
        import accessor

        print(f"\n== accessor on {args.accessor_rows:,} rows ==", flush=True)
        accessor_md = accessor.write_markdown(accessor.main(args.accessor_rows))
    if not args.no_widgets:
        import widgets

        print("\n== widgets ==", flush=True)
        widgets_md = widgets.main()
        accessor_md = f"{accessor_md or ''}\n{widgets_md}"
    if not args.no_plans:
        import plans

        print("\n== plans ==", flush=True)
        accessor_md = f"{accessor_md or ''}\n{plans.main(write=False)}"
    text = write_results(all_results, accessor_md)
    if args.out.exists():  # bench/imports.py's section (9 minutes at the limit) is kept
        import imports

        kept = imports.section_of(args.out.read_text())
        text = imports.replace_section(text, kept) if kept else text
    args.out.write_text(text)
    print(f"\nwrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
