"""Print a pip constraints file pinning every direct dependency to its declared minimum.

Reads pyproject.toml (the runtime dependencies and every extra) so the floors CI proves
are the floors users are promised; a requirement without a lower bound is an error.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


def floors(pyproject: Path) -> dict[str, str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins: dict[str, str] = {}
    for req in requirements:
        match = _REQ.match(req)
        if match is None:
            sys.exit(f"cannot read requirement {req!r}")
        name, _extras, spec = match.groups()
        if name.lower().replace("_", "-") == project["name"]:
            continue
        low = re.search(r"(?:>=|==)\s*([0-9][^,\s;]*)", spec)
        if low is None:
            sys.exit(f"{req!r} declares no lower bound; add one (>=X) so CI can test it")
        previous = pins.get(name.lower())
        if previous is not None and previous != low.group(1):
            sys.exit(f"{name} has two different floors: {previous} and {low.group(1)}")
        pins[name.lower()] = low.group(1)
    return pins


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    for name, version in sorted(floors(root / "pyproject.toml").items()):
        print(f"{name}=={version}")
