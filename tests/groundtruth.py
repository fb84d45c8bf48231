"""Test helpers on the sandbox's own rows: ground truth typed independently of fbtime's
loader, and random writes behind fbtime's back."""

import pandas as pd


def truth(sb) -> pd.DataFrame:
    """Test helpers on the sandbox's own rows: ground truth typed independently of fbtime's
    loader, and random writes behind fbtime's back."""
    raw = sb.entries().copy()
    raw["started_at"] = pd.to_datetime(raw["started_at"], utc=True)
    raw["updated_at"] = pd.to_datetime(raw["updated_at"], utc=True)
    return raw.set_index("id")


def mutate(sb, rng, n: int) -> None:
    """Random creates, updates (billed, notes, durations, dates) and deletes, not via HTTP."""
    rows = sb.entries()
    live = [int(i) for i in rows.loc[rows["active"] & rows["is_logged"], "id"]]
    stamps = list(rows["started_at"])
    for _ in range(n):
        kind = rng.choice(["create", "update", "update", "delete"])
        if kind == "create":
            sb.create_entry(started_at=rng.choice(stamps), duration=rng.randrange(60, 9000))
        elif kind == "update":
            entry = rng.choice(live)
            sb.update_entry(entry, **rng.choice([
                {"billed": rng.random() < 0.5}, {"note": f"edit {rng.random():.6f}"},
                {"duration": rng.randrange(60, 9000)}, {"started_at": rng.choice(stamps)},
            ]))  # fmt: skip
        else:
            sb.delete_entry(live.pop(rng.randrange(len(live))))


def kill_at_journal_line(child, journals, lines: int, timeout: float = 60) -> None:
    """SIGKILL ``child`` (an apply) once its journal under ``journals`` has ``lines`` lines."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        files = list(journals.glob("*.jsonl")) if journals.exists() else []
        if files and len(files[0].read_text().splitlines()) >= lines:
            break
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
