"""Check that the collection tarball ships the collection and none of the development clutter.

    python3 tools/check_tarball.py dist/imagebuilder_ops-aws-1.0.0.tar.gz

galaxy.yml's build_ignore decides what is left out; this catches a pattern that stops matching
(or a new kind of clutter) before a release does.
"""

import fnmatch
import sys
import tarfile

REQUIRED = ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "plugins/modules")

# Anything under these, or matching these names, has no place in a release.
FORBIDDEN = (
    ".build/*",
    ".cache/*",
    ".ci/*",
    ".git/*",
    ".pytest_cache/*",
    ".venv/*",
    "benchmarks/*",
    "dist/*",
    "tests/integration/inventory",
    "tests/integration/integration_config.yml",
    "tests/local_endpoint/*",
    "tests/output/*",
    "tools/*",
    "Makefile",
    "*/__pycache__/*",
    "*.pyc",
    "*.tar.gz",
    "*.whl",
)


def main(path):
    with tarfile.open(path) as archive:
        names = [member.name.removeprefix("./") for member in archive.getmembers()]
    problems = []
    for required in REQUIRED:
        if required not in names:
            problems.append("missing " + required)
    for name in names:
        for pattern in FORBIDDEN:
            if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(name + "/", pattern):
                problems.append("should not ship: %s (matches %s)" % (name, pattern))
                break
    if problems:
        print("%s: FAILED" % path)
        for problem in problems:
            print("  " + problem)
        return 1
    print("%s: %d entries, no development files" % (path, len(names)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
