"""The layers stay visible: who may import whom, read from the source (tests/imports.py).

api/ and auth/ are the HTTP and sign-in layers and know nothing of pandas; argparse lives
in cli/ only; arrows run one way; no runtime import cycle; no private name crosses a
module boundary; the public API is exactly the pinned list.
"""

import inspect
import subprocess
import sys

import pytest
from imports import LAYERS, ROOT, SANDBOX, cycles, graph, internal, layer_of, modules

import fbtime
import fbtime.errors

IMPORTS = graph()
HEAVY = ("pandas", "numpy", "pyarrow")
#: Function-local imports are allowed only to keep heavy or separate worlds off the import
#: path: matplotlib (plots), ipywidgets (widgets) and the sandbox (a server of its own).
LAZY_TARGETS = ("fbtime.plots", "fbtime.widgets", SANDBOX)


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)  # raises KeyError naming a module that fits no layer


def test_there_is_no_runtime_import_cycle():
    assert cycles(IMPORTS) == []


def test_runtime_imports_only_point_down_the_layers():
    wrong = [
        f"{i.source}:{i.line} ({LAYERS[layer_of(i.source)][0]}) -> {i.target}"
        for i in internal(IMPORTS)
        if i.kind == "runtime"
        and layer_of(i.source) is not None
        and layer_of(i.target) is not None
        and layer_of(i.target) > layer_of(i.source)
    ]
    assert wrong == []


def test_the_sandbox_and_the_library_meet_only_lazily_or_at_the_top():
    top = [i for i, (label, _) in enumerate(LAYERS) if label in ("apps", "cli", "package")]
    wrong = []
    for imp in internal(IMPORTS):
        if imp.kind != "runtime":
            continue
        into_sandbox = _in(imp.target, SANDBOX) and not _in(imp.source, SANDBOX)
        out_of_sandbox = _in(imp.source, SANDBOX) and not _in(imp.target, SANDBOX)
        if (into_sandbox and layer_of(imp.source) not in top) or out_of_sandbox:
            wrong.append(f"{imp.source}:{imp.line} -> {imp.target}")
    assert wrong == []


def test_function_local_imports_only_keep_heavy_parts_off_the_import_path():
    wrong = [
        f"{i.source}:{i.line} -> {i.target}"
        for i in internal(IMPORTS)
        if i.kind == "lazy"
        and not _in(i.source, SANDBOX)
        and not (_in(i.target, *LAZY_TARGETS) and "#" in i.text)
    ]
    assert wrong == [], "import at module level, or say why it is lazy in a comment"


def test_only_the_cli_uses_argparse_or_imports_the_cli():
    wrong = [
        f"{i.source}:{i.line} -> {i.target}"
        for i in IMPORTS
        if (i.target == "argparse" or _in(i.target, "fbtime.cli"))
        and not _in(i.source, "fbtime.cli", "fbtime.__main__")
    ]
    assert wrong == []


@pytest.mark.parametrize("layer", ["fbtime.api", "fbtime.auth"])
def test_http_and_sign_in_layers_import_no_pandas_and_nothing_above(layer):
    mine = [i for i in IMPORTS if _in(i.source, layer) and i.kind != "typing"]
    heavy = [f"{i.source}:{i.line} {i.target}" for i in mine if _in(i.target, *HEAVY)]
    ceiling = layer_of(layer)
    above = [
        f"{i.source}:{i.line} -> {i.target}"
        for i in internal(mine)
        if layer_of(i.target) is None or layer_of(i.target) > ceiling
    ]
    assert heavy == [] and above == []


def test_no_private_name_is_imported_from_another_module():
    wrong = [
        f"{i.source}:{i.line} imports {name} from {i.target}"
        for i in internal(IMPORTS)
        for name in i.names
        if name.startswith("_") and not name.startswith("__")
    ]
    wrong += [f"{i.source}:{i.line} imports {i.target}" for i in internal(IMPORTS)
              if any(p.startswith("_") and not p.startswith("__") and p != "_version"
                     for p in i.target.split(".")[1:])]  # fmt: skip
    assert wrong == []


def test_the_http_layer_runs_without_pandas_in_a_fresh_interpreter():
    # fbtime/__init__ registers the accessor (pandas); the layer's own modules must not
    # need it, so they run with pandas made unimportable
    code = "\n".join(
        [
            "import sys, types",
            "sys.modules['pandas'] = sys.modules['numpy'] = sys.modules['pyarrow'] = None",
            f"pkg = types.ModuleType('fbtime'); pkg.__path__ = [{str(ROOT)!r}]",
            "sys.modules['fbtime'] = pkg",
            "import fbtime.api.client, fbtime.api.reference, fbtime.auth.oauth",
            "import fbtime.auth.identity, fbtime.auth.connection",
            "print('ok')",
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


PUBLIC = [
    "APIError",
    "AlreadyAppliedError",
    "ApplyInterrupted",
    "ApplyResult",
    "AuthError",
    "BulkError",
    "Client",
    "ConfigError",
    "ConfirmationError",
    "FBTimeError",
    "ImportFileError",
    "InconsistentPagesError",
    "JournalLockedError",
    "LoginError",
    "NotFoundError",
    "PartialApplyError",
    "PlanError",
    "QueryError",
    "RateLimitError",
    "Rates",
    "Sandbox",
    "SchemaError",
    "ServerError",
    "SyncError",
    "SyncFiltersError",
    "SyncReport",
    "TransportError",
    "UnexpectedAnswerError",
    "UnmatchedNamesError",
    "UpdatePlan",
    "ValidationError",
    "__version__",
    "as_time_entries",
    "connect",
    "import_time",
    "load_clients",
    "load_projects",
    "load_rates",
    "load_services",
    "load_team",
    "load_time_entries",
    "login",
    "plan_create",
    "read_journal",
    "resume",
    "sync",
    "undo",
    "whoami",
]


def test_the_public_api_is_exactly_the_pinned_sorted_list():
    assert fbtime.__all__ == PUBLIC == sorted(PUBLIC)
    assert all(hasattr(fbtime, name) for name in PUBLIC)


def test_every_error_class_is_exported():
    errors = {
        name
        for name, obj in inspect.getmembers(fbtime.errors, inspect.isclass)
        if issubclass(obj, fbtime.errors.FBTimeError) and obj.__module__ == "fbtime.errors"
    }
    assert errors - set(fbtime.__all__) == set()
