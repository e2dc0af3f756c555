"""Put tools/get_pip_standin.py where ansible-test looks for its cached get-pip bootstrap script.

Run it with the Python of a venv holding ansible-core: the pip version is read from that ansible-test's own
source (``default_packages`` of ``python_requirements.py``), so a new ansible-core needs no edit here.

    .venv/core219/bin/python tools/install_get_pip.py 3.11
"""

import argparse
import importlib.util
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "get_pip_standin.py")
CACHE_DIR = os.path.expanduser("~/.ansible/test/cache")
MARKER = "imagebuilder_ops get-pip stand-in"


def wanted_pip_versions():
    """The pip that this interpreter's ansible-test bootstraps into its venvs.

    ansible-test has no public way to say it, and its function that does is private, so the version is read as text
    from the file that holds it (``default_packages = dict(pip='24.2')``), never imported. No such text is an error
    that names the file, rather than a stand-in under the wrong name.
    """
    package = os.path.dirname(importlib.util.find_spec("ansible_test").origin)
    source = os.path.join(package, "_internal", "python_requirements.py")
    with open(source, encoding="utf-8") as handle:
        versions = sorted(set(re.findall(r"\bpip='([0-9][0-9.]*)'", handle.read())))
    if not versions:
        raise SystemExit(f"get-pip: no pip version found in {source}: tools/install_get_pip.py needs updating")
    return versions


def install(pip_version):
    target = os.path.join(CACHE_DIR, "get_pip_%s.py" % pip_version.replace(".", "_"))
    if os.path.exists(target):
        with open(target, encoding="utf-8", errors="replace") as handle:
            current = handle.read()
        with open(STANDIN, encoding="utf-8") as handle:
            if current == handle.read():
                return "%s: stand-in already in place" % target
        if MARKER not in current:
            # A genuine get-pip.py someone downloaded works as well as ours: keep it.
            return "%s: genuine get-pip script found, left alone" % target
    os.makedirs(CACHE_DIR, exist_ok=True)
    shutil.copyfile(STANDIN, target + ".tmp")
    os.replace(target + ".tmp", target)
    return "%s: stand-in installed (pip %s)" % (target, pip_version)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python_versions", nargs="*", metavar="X.Y", help="ignored: one pip serves every Python")
    parser.parse_args()
    for pip_version in wanted_pip_versions():
        print("get-pip: " + install(pip_version))


if __name__ == "__main__":
    sys.exit(main())
