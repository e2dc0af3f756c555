"""The built collection tarball holds what users need and nothing else.

    python check_tarball.py TARBALL

Lists every member; fails on tests output, virtualenvs, caches, bytecode, build or dist directories, runner
artifacts, nested tarballs and VCS data, on a member outside the collection, on a missing essential file,
and when the tarball is larger than MAX_BYTES. Exit status 0 when the tarball is clean.
"""

import os
import re
import sys
import tarfile

MAX_BYTES = 300 * 1024
MAX_MEMBERS = 300
REQUIRED = (
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "COPYING",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "requirements.txt",
    "bindep.txt",
    "plugins/modules/imagebuilder_lifecycle_execution_info.py",
    "docs/docsite/extra-docs.yml",
    "docs/docsite/links.yml",
)
FORBIDDEN = [
    (r"(^|/)tests/output(/|$)", "ansible-test output"),
    (r"(^|/)\.?venv[^/]*(/|$)", "a virtualenv"),
    (r"(^|/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.tox|\.cache)(/|$)", "a cache"),
    (r"\.py[co]$", "bytecode"),
    (r"(^|/)\.(build|ansible|git)(/|$)", "build, Ansible or git state"),
    (r"^dist(/|$)", "built artifacts"),
    (r"(^|/)artifacts/.*(job_events|command)", "ansible-runner artifacts"),
    (r"\.(tar\.gz|tgz|whl|zip)$", "a nested archive"),
    (r"^tests/integration/(inventory|integration_config\.yml)$", "generated integration settings"),
]


def main(argv):
    if len(argv) != 1:
        print(__doc__)
        return 2
    tarball = argv[0]
    problems = []
    with tarfile.open(tarball, "r:gz") as archive:
        members = archive.getmembers()
    names = [m.name[2:] if m.name.startswith("./") else m.name for m in members]
    for member, name in zip(members, names):
        print(f"{member.size:>9}  {name}")
    size = os.path.getsize(tarball)
    print(f"{len(names)} members, {size} bytes compressed")

    for name in names:
        if name.startswith("/") or ".." in name.split("/"):
            problems.append(f"{name}: outside the collection")
        for pattern, what in FORBIDDEN:
            if re.search(pattern, name):
                problems.append(f"{name}: {what}")
    for required in REQUIRED:
        if required not in names:
            problems.append(f"{required} is missing")
    if size > MAX_BYTES:
        problems.append(f"{size} bytes is more than {MAX_BYTES}: something large got in")
    if len(names) > MAX_MEMBERS:
        problems.append(f"{len(names)} members is more than {MAX_MEMBERS}")

    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
