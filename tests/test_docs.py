"""The README documents every public name and CLI command, and its quickstart runs."""

import re
from pathlib import Path

import fbtime
from fbtime.cli.main import build_parser

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_public_name_is_in_the_readme():
    missing = [n for n in fbtime.__all__ if n != "__version__" and n not in README]
    assert not missing, f"undocumented: {missing}"


def test_every_cli_command_is_in_the_readme():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    missing = [c for c in sub.choices if f"fbtime {c}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_readme_opens_with_the_two_setup_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quickstart and "make test" in quickstart


def test_the_quickstart_python_runs(cache_dir, capsys):
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", quickstart, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    assert "hours" in capsys.readouterr().out
