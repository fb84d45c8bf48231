"""The mapping file: what the export's unmatched names are in FreshBooks, filled in by a
person and passed back (``mapping=``, ``--mapping``).

A JSON object with one list per kind of name; each item is ``{"file": <the export's
name>, "to": <a FreshBooks name, an id, false to leave its rows out, or null>}`` (a
project also names its row's ``"client"``, since project names repeat across clients).
:class:`~fbtime.UnmatchedNamesError` carries one to fill (:func:`template`); a file read
back is untrusted and checked item by item.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fbtime.errors import ImportFileError
from fbtime.files import FileTooLarge, read_limited, write_private
from fbtime.text import for_terminal

MAPPING_FORMAT = "fbtime-import-mapping"
MAPPING_VERSION = 1
#: Sections of a mapping file, in the order names are matched.
KINDS = ("teammates", "clients", "projects", "services")
MAX_MAPPING_BYTES = 4 * 2**20


def same(name: object) -> str:
    """A name as compared: NFC, spaces collapsed (``"Café  Co "`` == ``"Café Co"``)."""
    return " ".join(unicodedata.normalize("NFC", str(name)).split())


def empty_mapping() -> dict[str, Any]:
    return {"format": MAPPING_FORMAT, "version": MAPPING_VERSION, **{k: [] for k in KINDS}}


def read_mapping(source: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """A mapping (file path or dict) checked item by item; ``None`` is an empty one.

    Raises:
        ImportFileError: not a mapping, or an item with a wrong key or value.
    """
    if source is None:
        return empty_mapping()
    where = "mapping"
    if isinstance(source, str | Path):
        where = str(source)
        try:
            data = json.loads(read_limited(source, MAX_MAPPING_BYTES))
        except FileNotFoundError:
            raise ImportFileError(f"no mapping file at {for_terminal(where)}") from None
        except FileTooLarge:
            raise ImportFileError(
                f"{for_terminal(where)} is larger than {MAX_MAPPING_BYTES:,} bytes: "
                "not a mapping fbtime wrote"
            ) from None
        except (OSError, ValueError, RecursionError) as exc:
            reason = getattr(exc, "strerror", None) or "not JSON"
            raise ImportFileError(
                f"cannot read mapping {for_terminal(where)}: {for_terminal(reason)}"
            ) from None
    else:
        data = source
    if not isinstance(data, Mapping) or data.get("format", MAPPING_FORMAT) != MAPPING_FORMAT:
        raise ImportFileError(f"{for_terminal(where)} is not an fbtime import mapping")
    extra = sorted(map(str, set(data) - {"format", "version", *KINDS}))
    if extra:
        raise ImportFileError(
            f"{for_terminal(where)} has unknown key(s) {for_terminal(extra)}; "
            f"sections are {', '.join(KINDS)}"
        )
    out = empty_mapping()
    for kind in KINDS:
        items = data.get(kind, [])
        if not isinstance(items, list):
            raise ImportFileError(f"{for_terminal(where)}: {kind} must be a list")
        for i, item in enumerate(items):
            out[kind].append(_item(item, f"{for_terminal(where)}: {kind}[{i}]", kind))
    return out


def _item(item: Any, where: str, kind: str) -> dict[str, Any]:
    keys = {"file", "to", "client"} if kind == "projects" else {"file", "to"}
    if not isinstance(item, Mapping) or set(item) - keys or "file" not in item:
        raise ImportFileError(f"{where} must be an object with {', '.join(sorted(keys))}")
    name, to, client = item["file"], item.get("to"), item.get("client")
    if not isinstance(name, str):
        raise ImportFileError(f"{where}: file must be the name as the export writes it")
    if client is not None and not isinstance(client, str):
        raise ImportFileError(f"{where}: client must be the export's client name or null")
    if not (to is None or to is False or isinstance(to, str) or is_id(to)):
        raise ImportFileError(
            f"{where}: to must be a FreshBooks name, an id, false (leave the rows out) "
            f"or null, got {for_terminal(repr(to))}"
        )
    return {"file": name, **({"client": client} if kind == "projects" else {}), "to": to}


def is_id(value: Any) -> bool:
    """A positive 64-bit id (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def save_mapping(mapping: Mapping[str, Any], path: str | Path) -> Path:
    """Write a mapping (a template to fill, say) as JSON, private and atomically."""
    checked = read_mapping(mapping)
    return write_private(path, json.dumps(checked, indent=1, ensure_ascii=False) + "\n")


def template(mapping: dict[str, Any], unmatched: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: [dict(i) for i in v] if k in KINDS else v for k, v in mapping.items()}
    for u in unmatched:
        key = (same(u["file"]), same(u.get("client") or ""))
        items = out[u["kind"]]
        items[:] = [i for i in items if (same(i["file"]), same(i.get("client") or "")) != key]
        extra = {"client": u.get("client")} if u["kind"] == "projects" else {}
        items.append({"file": u["file"], **extra, "to": None})
    return out
