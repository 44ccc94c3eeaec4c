"""The production recipe the docs quote is the script CI runs, and the install is reproducible.

README.md ("Running in production") and docs/deploy.md ("First start") show the commands of
docs/production-recipe.sh, which .ci/production-smoke runs on PostgreSQL and Redis: a command shown in
the docs but missing from the script (or changed in one place only) fails here. requirements.lock pins
every dependency of pyproject.toml with hashes and names no download address, and no file of the project
names a package-index host."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "docs" / "production-recipe.sh"
LOCK = ROOT / "requirements.lock"


def _normalise(line: str) -> str:
    """One command: shell defaults ("${BIND:-127.0.0.1:8000}") read as their value, no trailing
    comment, single spaces."""
    line = re.sub(r'"?\$\{\w+:-([^}]*)\}"?', r"\1", line)
    line = re.sub(r"\s+#\s.*$", "", line)
    return " ".join(line.split())


def _recipe_commands() -> str:
    return "\n".join(_normalise(line) for line in RECIPE.read_text().splitlines())


def _block_after(path: Path, marker: str) -> list[str]:
    """The command lines of the first ```sh block after `marker` in a Markdown file."""
    text = path.read_text()
    assert marker in text, f"{path.name} lost the text {marker!r}"
    block = re.search(r"```sh\n(.*?)```", text[text.index(marker) :], re.S)
    assert block, f"no sh block after {marker!r} in {path.name}"
    return [
        _normalise(line)
        for line in block.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


@pytest.mark.parametrize(
    ("doc", "marker"),
    [
        ("README.md", "It runs these commands"),
        ("docs/deploy.md", "It runs, in this order"),
    ],
)
def test_every_documented_production_command_is_in_the_recipe_ci_runs(
    doc: str, marker: str
) -> None:
    commands = _block_after(ROOT / doc, marker)
    recipe = _recipe_commands()
    missing = [command for command in commands if command not in recipe]
    assert missing == [], f"{doc} shows commands that docs/production-recipe.sh does not run"


def test_the_recipe_covers_a_first_start() -> None:
    recipe = _recipe_commands()
    for step in (
        "pip install --quiet --require-hashes -r requirements.lock",
        "pybabel compile",
        "flask --app wsgi db upgrade",
        "flask --app wsgi chapters load-structure",
        "flask --app wsgi vocabulary load",
        "users create",
        "--role ime",
        "flask --app wsgi search reindex --if-empty",
        "gunicorn --config python:network.serving --workers 2",
        "--no-control-socket",
    ):
        assert step in recipe, step


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", LOCK.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def test_the_lock_pins_every_dependency_with_hashes_and_no_address() -> None:
    text = LOCK.read_text()
    assert not re.search(r"://|--(extra-)?index-url|--find-links|--trusted-host", text)
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert entries and all("--hash=sha256:" in entry for entry in entries)

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    locked = _locked()
    unmet = []
    for spec in wanted:
        requirement = Requirement(spec)
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{spec} (locked: {version})")
    assert unmet == [], "requirements.lock is out of date: run make lock"


def test_no_file_of_the_project_names_a_package_index_host() -> None:
    hosts = ("pypi" + ".org", "files." + "pythonhosted", "registry." + "npmjs", "yarn" + "pkg.com")
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    named = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.suffix in {".mo", ".png", ".jpg", ".ico", ".woff2"}:
            continue
        text = path.read_text(errors="ignore").lower()
        named += [f"{name}: {host}" for host in hosts if host in text]
    assert named == []
