"""What an attacker does to fbtime's files: edit a saved plan (and recompute its hash),
append, drop, reorder or forge journal lines (and recompute the chain).

The hash and the chain are computed here from their definition, not with fbtime's code,
so the tests also pin the file format.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def plan_hash(data: dict) -> str:
    """sha256 of the plan's canonical JSON (sorted keys, no spaces, ASCII), hash left out."""
    body = {k: v for k, v in data.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def edit_plan(path: Path, edit, *, rehash: bool = True) -> Path:
    """Apply ``edit(data)`` to a saved plan; recompute its hash unless told not to."""
    data = json.loads(path.read_text())
    edit(data)
    if rehash and isinstance(data, dict):
        data["sha256"] = plan_hash(data)
    path.write_text(json.dumps(data))  # ASCII escapes: a lone surrogate survives
    return path


def lines(path: Path) -> list:
    """A journal's lines, parsed."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_lines(path: Path, records: list, *, chain: bool = True) -> Path:
    """Write journal records, each chained to the one before it (``prev``) if ``chain``."""
    out, prev = [], None
    for record in records:
        if chain and isinstance(record, dict):
            record = {**record, "prev": prev}
        line = json.dumps(record, ensure_ascii=False)
        out.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    path.write_text("".join(line + "\n" for line in out))
    return path


def snapshot_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes (to assert nothing was written)."""
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def cli_env(monkeypatch, sb, tmp_path) -> None:
    """Point the real CLI at the sandbox (its own cache folder under tmp_path)."""
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))


def child_env(sb, tmp_path) -> dict[str, str]:
    """The environment of a CLI child process pointed at the sandbox."""
    return {
        **os.environ,
        "FRESHBOOKS_ACCESS_TOKEN": sb.token,
        "FRESHBOOKS_BUSINESS_ID": str(sb.business_id),
        "FRESHBOOKS_API_URL": sb.url,
        "FBTIME_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
