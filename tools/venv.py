"""Create a virtual environment from pinned requirements, or do nothing when it is already current.

    python3 tools/venv.py --python PYTHON --dir .venv/core219 [--check SCRIPT] -- PIP_INSTALL_ARGS...

The venv is current when its stamp file records the same interpreter, the same pip arguments and
the same content of every requirements file those arguments name (followed through -r/-c). Anything
else rebuilds it from scratch, so a venv never carries packages from an older pin list.
"""

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

STAMP = ".stamp.json"
# Venvs are byte-compiled once when built (see build()); a venv stamped without it is rebuilt.
BYTECODE = "compileall"


def requirement_files(pip_args):
    """Yield every requirements/constraints file named by the pip arguments, recursively."""
    pending = [pip_args[i + 1] for i, arg in enumerate(pip_args[:-1]) if arg in ("-r", "-c")]
    seen = []
    while pending:
        path = os.path.normpath(pending.pop())
        if path in seen:
            continue
        seen.append(path)
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                words = line.split()
                if len(words) == 2 and words[0] in ("-r", "-c"):
                    pending.append(os.path.join(os.path.dirname(path), words[1]))
    return sorted(seen)


def wanted_stamp(python, pip_args):
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.executable, sys.version.split()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    files = {}
    for path in requirement_files(pip_args):
        with open(path, "rb") as handle:
            files[path] = hashlib.sha256(handle.read()).hexdigest()
    return {"python": version, "pip_args": pip_args, "files": files, "bytecode": BYTECODE}


def read_stamp(venv_dir):
    try:
        with open(os.path.join(venv_dir, STAMP), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def build(python, venv_dir, pip_args, check):
    shutil.rmtree(venv_dir, ignore_errors=True)
    subprocess.run([python, "-m", "venv", venv_dir], check=True)
    venv_python = os.path.join(venv_dir, "bin", "python")
    pip = [venv_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    subprocess.run(pip + pip_args, check=True)
    # Byte-compile everything once, on every core. Python would otherwise compile what it imports on first
    # use and cache it, but not where PYTHONDONTWRITEBYTECODE is set (as on CI's machines): there every
    # ansible-playbook, module run and linter would compile ansible-core and botocore from source, which
    # tripled the cost of a task. compileall writes the .pyc files whatever that variable says.
    # Not checked: a package may ship a file for another Python that does not compile; it is never imported.
    subprocess.run([venv_python, "-m", "compileall", "-q", "-j0", venv_dir], check=False, stdout=subprocess.DEVNULL)
    if check:
        subprocess.run([venv_python] + shlex.split(check), check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="interpreter that creates the venv")
    parser.add_argument("--dir", required=True, help="venv directory")
    parser.add_argument("--check", help="'SCRIPT ARGS' run with the venv's Python before the venv counts as built")
    parser.add_argument("pip_args", nargs="+", help="arguments for pip install (after --)")
    args = parser.parse_args()

    try:
        wanted = wanted_stamp(args.python, args.pip_args)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit("venv %s: interpreter %s does not run: %s" % (args.dir, args.python, exc))
    if read_stamp(args.dir) == wanted:
        print("venv %s: up to date" % args.dir)
        return 0

    started = time.monotonic()
    print("venv %s: building with %s" % (args.dir, wanted["python"]), flush=True)
    try:
        build(args.python, args.dir, args.pip_args, args.check)
    except subprocess.CalledProcessError as exc:
        sys.exit("venv %s: failed: %s" % (args.dir, exc))
    with open(os.path.join(args.dir, STAMP), "w", encoding="utf-8") as handle:
        json.dump(wanted, handle, indent=1, sort_keys=True)
    print("venv %s: built in %.0f s" % (args.dir, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
