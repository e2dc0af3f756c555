"""Check that the collection tarball ships what users need and none of the development clutter.

    python3 tools/check_tarball.py [--list] dist/imagebuilder_ops-aws-1.0.0.tar.gz

galaxy.yml's build_ignore decides what is left out; this catches a pattern that stops matching (or a new kind of
clutter) before a release does. Fails on a missing essential file; on a member outside the collection; on
development files (anything build_ignore names), test output, virtualenvs, caches, bytecode, build or VCS state,
runner artifacts, generated test settings and nested archives, wherever they are; and on a tarball larger than
MAX_BYTES or with more than MAX_MEMBERS members. --list prints every member first. Used by `make tarball` and the
release checks. Exit status 0 when the tarball is clean, 1 when it is not, 2 on a usage error.
"""

import argparse
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
    "requirements.txt",
    "bindep.txt",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "plugins/modules",
    "plugins/modules/imagebuilder_lifecycle_execution_info.py",
    "plugins/modules/imagebuilder_lifecycle_execution.py",
    "docs/docsite/extra-docs.yml",
    "docs/docsite/links.yml",
)
# (regular expression over a member's path, what such a member is)
FORBIDDEN = (
    # What build_ignore leaves out of the collection's own tree.
    (
        r"^(\.ci|benchmarks|demo|tools|tests/drills|tests/eda|tests/release|tests/local_endpoint)(/|$)",
        "a development directory",
    ),
    (r"^(Makefile|\.flake8|pyproject\.toml|changelogs/\.plugin-cache\.yaml)$", "a development file"),
    (r"^dist(/|$)", "built artifacts"),
    # What a run leaves behind, wherever it is.
    (r"(^|/)tests/output(/|$)", "ansible-test output"),
    (r"^tests/integration/(inventory|integration_config\.yml|cloud-config-[^/]*\.ini)$", "generated test settings"),
    (r"(^|/)\.?venv[^/]*(/|$)", "a virtualenv"),
    (r"(^|/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.tox|\.cache)(/|$)", "a cache"),
    (r"\.py[co]$", "bytecode"),
    (r"(^|/)\.(build|ansible|git)(/|$)", "build, Ansible or git state"),
    (r"(^|/)artifacts/.*(job_events|command)", "ansible-runner artifacts"),
    (r"\.(tar\.gz|tgz|whl|zip)$", "a nested archive"),
)


def problems_of(names, size):
    problems = [f"{required} is missing" for required in REQUIRED if required not in names]
    for name in names:
        if name.startswith("/") or ".." in name.split("/"):
            problems.append(f"{name}: outside the collection")
        for pattern, what in FORBIDDEN:
            if re.search(pattern, name):
                problems.append(f"{name}: {what}, should not ship")
                break
    if size > MAX_BYTES:
        problems.append(f"{size} bytes is more than {MAX_BYTES}: something large got in")
    if len(names) > MAX_MEMBERS:
        problems.append(f"{len(names)} members is more than {MAX_MEMBERS}")
    return problems


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every member with its size first")
    parser.add_argument("tarball")
    args = parser.parse_args(argv)
    with tarfile.open(args.tarball, "r:gz") as archive:
        members = archive.getmembers()
    names = [member.name.removeprefix("./") for member in members]
    if args.list:
        for member, name in zip(members, names):
            print(f"{member.size:>9}  {name}")
    size = os.path.getsize(args.tarball)
    problems = problems_of(names, size)
    if problems:
        print(f"{args.tarball}: FAILED")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"{args.tarball}: {len(names)} members, {size} bytes compressed, no development files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
