"""Real browsers on real servers: JupyterLab 4 and Voila serve copies of the notebooks, and
Playwright drives Debian's chromium (never a downloaded browser).

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and the ``browser`` extra
(``pip install -e '.[dev,browser]'``); ``.ci/run`` installs both. Without them the tests
are skipped with the reason, unless FBTIME_REQUIRE_BROWSER=1 (set by CI) makes them fail.
Each server runs in a temp dir of its own, on copies of the notebooks, with its own
Jupyter config, data, settings and kernel, so what the notebooks write (exports,
journals) stays there. Screenshots go to ``test-artifacts/browser/`` (an ignored folder).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: JupyterLab settings for a test: every cell in the page (no windowing), no news fetched.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    for module in ("playwright", "jupyterlab", "voila"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is missing (pip install -e '.[dev,browser]')"
    return None


def require_browser() -> None:
    """Skip (or, with FBTIME_REQUIRE_BROWSER=1, fail) when the browser test cannot run."""
    reason = _missing()
    if reason:
        if os.environ.get("FBTIME_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A server process of the test's own, its URL, and the folder it serves."""

    url: str
    folder: Path
    process: subprocess.Popen
    log: Path
    token: str = ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def isolated_env(work: Path) -> dict[str, str]:
    """The environment of a server and its kernels: no real credentials, nothing shared."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRESHBOOKS_", "JUPYTER"))}
    env.pop("FBTIME_ALLOW_WRITES", None)
    kernel = work / "data" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (fbtime test)",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    settings = work / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env |= {
        "FBTIME_CACHE_DIR": str(work / "cache"),
        "JUPYTER_CONFIG_DIR": str(work / "config"),
        "JUPYTER_DATA_DIR": str(work / "data"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        "IPYTHONDIR": str(work / "ipython"),
    }
    return env


def start(command: list[str], work: Path, probe: str, **fields: str) -> Server:
    """Start ``command`` in ``work`` and wait until ``probe`` answers 200."""
    log = work / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=work, env=isolated_env(work), stdout=out, stderr=subprocess.STDOUT
        )
    url = probe.split("api/status")[0] if "api/status" in probe else probe
    server = Server(url=url, folder=work / "notebooks", process=process, log=log, **fields)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{command[2]} did not start:\n{log.read_text()}")
        time.sleep(0.3)


def copy_notebooks(work: Path) -> Path:
    folder = work / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns(".*", "exports", "journals"))
    return folder
