"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test creates each sanity virtual environment without pip, then runs
``python get_pip_<version>.py <pip install args>`` to bootstrap it. The real script comes from
a host these machines cannot reach; ansible-test first looks in ``~/.ansible/test/cache/``, so
``tools/install_get_pip.py`` copies this file there under the names ansible-test expects.

Like the real get-pip.py, it runs ``pip install`` from a pip wheel on ``sys.path`` without
installing that wheel first. The wheel is the one bundled with the interpreter's own
``ensurepip`` (no download), and ``pip install pip==X.Y`` then fetches the requested pip from
the package index.
"""

import glob
import os
import sys

# Lets install_get_pip.py recognise a copy of this file and leave a genuine get-pip.py alone.
STANDIN_MARKER = "imagebuilder_ops get-pip stand-in"

# get-pip.py options that pip itself does not understand: pip alone never installs these.
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def bundled_pip_wheel():
    """Return the path of the pip wheel that ships inside the interpreter's ensurepip."""
    import ensurepip

    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    wheels = sorted(glob.glob(os.path.join(bundled, "pip-*.whl")))
    if not wheels:
        raise SystemExit("get-pip stand-in: no pip wheel bundled with ensurepip in %s" % bundled)
    return wheels[-1]


def main(argv):
    args = [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]
    sys.path.insert(0, bundled_pip_wheel())
    from pip._internal.cli.main import main as pip_main

    return pip_main(["install", "--upgrade", "--force-reinstall"] + args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
