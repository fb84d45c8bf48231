"""Shared pieces of the chaos suite: the fault profile, secret scans and the results table."""

from __future__ import annotations

import json
import random
from pathlib import Path

from fbtime.sandbox.faults import KINDS, Faults

RESULTS_DIR = Path(__file__).parent / ".results"
RESULTS_MD = Path(__file__).parent / "RESULTS.md"
SEEDS = range(1, 21)
CHUNKS = 4  # seeds are split so pytest-xdist runs the chunks side by side


def seeds(chunk: int) -> list[int]:
    return list(SEEDS)[chunk::CHUNKS]


SCENARIOS = {
    "load": "(a) full load under faults equals the ground-truth frame",
    "apply": "(b) bulk apply under faults, SIGKILL, resume: every planned entry changed once",
    "undo": "(c) undo under faults restores every field of every entry",
    "sync": "(d) incremental sync under faults equals a full reload",
    "revalidate": "(e) a revalidated reload after outside writes, under faults, equals a full load",
}


def faults_for(seed: int, *, restart_within: int = 40, scale: float = 1.0) -> Faults:
    """The seeded fault profile every scenario runs under (``scale`` multiplies the rates,
    for scenarios that send few requests)."""
    rng = random.Random(seed)
    return Faults(
        seed=seed,
        error_rate=0.04 * scale,
        burst_rate=0.01 * scale,
        burst_length=(1, 2),
        retry_after=1,
        drop_rate=0.03 * scale,
        slow_rate=0.01 * scale,
        slow_seconds=0.6,
        truncate_rate=0.03 * scale,
        restart_after=rng.randint(3, restart_within),
    )


def client_options() -> dict:
    """Client settings under chaos: a short timeout (slow answers must time out)."""
    return {"timeout": 0.4, "retries": 8}


def leaked(secrets: list[str], *places: Path, texts: tuple[str, ...] = ()) -> list[str]:
    """Files under ``places`` (and texts) that contain any of ``secrets``."""
    found = []
    for place in places:
        files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
        for path in files:
            data = path.read_bytes()
            found += [str(path) for s in secrets if s.encode() in data]
    found += ["text" for t in texts for s in secrets if s in t]
    return found


def frame_run(seed, requests, faults, got, expected, secrets, *, ordered=False) -> dict:
    """One results row for a frame that must equal ``expected`` (in order, if ``ordered``)."""
    ids = got.index.tolist()
    lost = len(set(expected.index) - set(ids))
    doubled = len(ids) - len(set(ids))
    same = got.equals(expected) if ordered else got.sort_index().equals(expected.sort_index())
    return {"seed": seed, "requests": requests, "faults": faults, "lost": lost,
            "doubled": doubled, "leaked": len(secrets),
            "ok": same and not lost and not doubled and not secrets}  # fmt: skip


def record(scenario: str, chunk: int, rows: list[dict]) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{scenario}-{chunk}.json").write_text(json.dumps(rows, indent=1))


def start_session() -> None:
    """Forget the runs of an earlier session (called once, before any chaos test)."""
    for path in RESULTS_DIR.glob("*.json") if RESULTS_DIR.exists() else []:
        path.unlink()


def complete() -> bool:
    """True when every scenario ran every seed this session (only then is RESULTS.md
    rewritten, so running a subset never leaves a partial table behind)."""
    seen = {
        scenario: sum(len(json.loads(p.read_text())) for p in RESULTS_DIR.glob(f"{scenario}-*"))
        for scenario in SCENARIOS
    }
    return all(n == len(SEEDS) for n in seen.values())


def table() -> str | None:
    """The markdown results table from the runs recorded this session, or None."""
    if not RESULTS_DIR.exists():
        return None
    lines = [
        "# Chaos suite results",
        "",
        "Written by `make test` (tests/chaos). Each run is one seed of the fault profile in",
        "`tests/chaos/chaos.py`: 4% 5xx (JSON or HTML), 1% 429 bursts with `Retry-After`,",
        "3% dropped connections (half after the server did the work), 1% answers slower",
        "than the client's 0.4 s timeout, 3% truncated JSON bodies, and one server restart",
        "at a random request. Sync and revalidation send few requests, so they run at three",
        "times these rates.",
        "",
    ]
    done = False
    for scenario, title in SCENARIOS.items():
        parts = sorted(RESULTS_DIR.glob(f"{scenario}-*.json"))
        if not parts:
            continue
        done = True
        rows = sorted(
            (r for p in parts for r in json.loads(p.read_text())), key=lambda r: r["seed"]
        )
        lines += [
            f"## {title}",
            "",
            "| seed | requests | " + " | ".join(KINDS) + " | lost | doubled | leaked | result |",
            "|" + "---:|" * (len(KINDS) + 5) + "---|",
        ]
        for r in rows:
            faults = " | ".join(str(r["faults"].get(k, 0)) for k in KINDS)
            lines.append(
                f"| {r['seed']} | {r['requests']} | {faults} | {r['lost']} | {r['doubled']} "
                f"| {r['leaked']} | {'ok' if r['ok'] else 'FAILED'} |"
            )
        total = sum(sum(r["faults"].values()) for r in rows)
        good = sum(r["ok"] for r in rows)
        lines += ["", f"{good} of {len(rows)} runs ok; {total} faults injected.", ""]
    return "\n".join(lines) if done else None
