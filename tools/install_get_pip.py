"""Put tools/get_pip_standin.py where ansible-test looks for its cached get-pip bootstrap script.

Run it with the Python of a venv holding ansible-core: the pip version comes from that
ansible-test's own source (``get_venv_packages``), so a new ansible-core needs no edit here.

    .venv/core219/bin/python tools/install_get_pip.py 3.11
"""

import argparse
import os
import shutil
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "get_pip_standin.py")
CACHE_DIR = os.path.expanduser("~/.ansible/test/cache")
MARKER = "imagebuilder_ops get-pip stand-in"


def wanted_pip_versions(python_versions):
    """Ask this interpreter's ansible-test which pip it bootstraps into venvs of these Pythons."""
    from ansible_test._internal.python_requirements import get_venv_packages

    return sorted({get_venv_packages(types.SimpleNamespace(version=v))["pip"] for v in python_versions})


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
    parser.add_argument("python_versions", nargs="+", metavar="X.Y", help="Python versions ansible-test will use")
    args = parser.parse_args()
    for pip_version in wanted_pip_versions(args.python_versions):
        print("get-pip: " + install(pip_version))


if __name__ == "__main__":
    sys.exit(main())
