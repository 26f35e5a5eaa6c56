"""Check the built sdist and wheel: LICENSE shipped, no CI/benchmark files, namespaces intact.

Usage: python .ci/check_dist.py DIST_DIR   (after `python -m build --outdir DIST_DIR`).
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path


def main(dist: Path) -> int:
    problems: list[str] = []
    wheels = list(dist.glob("*.whl"))
    sdists = list(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        sys.exit(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        problems.append("wheel: no LICENSE under .dist-info/licenses/")
    for init in ("llama_index/__init__.py", "llama_index/llms/__init__.py"):
        if init in names:
            problems.append(f"wheel: {init} would shadow LlamaIndex's namespace package")
    for required in (
        "vertex_openai/py.typed",
        "langchain_vertex_openai/__init__.py",
        "llama_index_vertex_openai/__init__.py",
        "llama_index/llms/vertex_openai/__init__.py",
    ):
        if required not in names:
            problems.append(f"wheel: missing {required}")
    with tarfile.open(sdists[0]) as sdist:
        members = [m.split("/", 1)[1] for m in sdist.getnames() if "/" in m]
    if "LICENSE" not in members:
        problems.append("sdist: no LICENSE")
    for member in members:
        if member.startswith((".ci/", "benchmarks/", ".github/")) or member.endswith(
            (".png", ".jpg", ".svg")
        ):
            problems.append(f"sdist: should not contain {member}")
    for problem in problems:
        print(problem)
    print(f"{wheels[0].name}: {len(names)} files; {sdists[0].name}: {len(members)} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
