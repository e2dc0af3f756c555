"""The venvs of tests/legs.toml (the compatibility matrix and the tools' venvs), for the Makefile.

    python3 tools/legs.py make                      the matrix as Makefile variables (included by the Makefile)
    python3 tools/legs.py python 3.13.0 3.12        the path of a working Python: the preferred version, else the
                                                    newest >= the minimum; nothing and exit 1 when there is none
    python3 tools/legs.py venv NAME                 build venv NAME, or do nothing when it is current; a leg's
                                                    amazon.aws goes into .build/LEG/ansible_collections too
    .venv/LEG/bin/python tools/legs.py check LEG    what `venv` runs in a leg's venv before it counts as built
    python3 tools/legs.py units LEG                 pytest over the leg's unit_dirs, from its staged copy

A venv is current when its stamp records the same interpreter, the same pip arguments and the same content of
every requirements file they name (followed through -r/-c lines). Anything else rebuilds it from scratch, so a venv
never carries packages from an older pin list. The interpreter of a venv is the environment variable its `python`
names (the Makefile exports PY311 and PY313).
"""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQ = "tests/requirements"
STAMP = ".stamp.json"
# Venvs are byte-compiled once when built (see build()); a venv stamped without it is rebuilt.
BYTECODE = "compileall"
AMAZON_AWS = "ansible_collections/amazon/aws/"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
# Our modules call these: a botocore whose model lacks them would fail every test in a confusing way.
OPERATIONS = (
    "GetLifecycleExecution",
    "ListLifecycleExecutions",
    "ListLifecycleExecutionResources",
    "StartResourceStateUpdate",
    "CancelLifecycleExecution",
)


def matrix():
    with open(os.path.join(ROOT, "tests", "legs.toml"), "rb") as handle:
        table = tomllib.load(handle)
    venvs = {}
    for name, leg in table["legs"].items():
        files = ["-r", leg["requirements"], "-c", leg["constraints"]]
        venvs[name] = dict(leg, pip=["ansible-core==" + leg["ansible_core"]] + files)
    for name, venv in table["venvs"].items():
        core = ["ansible-core==" + table["legs"][table["build_leg"]]["ansible_core"]] if name == "build" else []
        venvs[name] = dict(venv, pip=core + venv["pip"])
    for venv in venvs.values():
        venv["pip"] = [os.path.join(REQ, arg) if prev in ("-r", "-c") else arg for prev, arg in pairs(venv["pip"])]
    return table, venvs


def pairs(args):
    return zip([None] + args[:-1], args)


def print_make():
    table, venvs = matrix()
    legs = list(table["legs"])
    lines = [
        "LEGS := " + " ".join(legs),
        "OTHER_VENVS := " + " ".join(name for name in venvs if name not in legs),
        "SANITY_LEGS := " + " ".join(table["sanity_legs"]),
        "BUILD_LEG := " + table["build_leg"],
        "DRILL_LEG := " + table["drill_leg"],
    ]
    for name, venv in venvs.items():
        lines.append("PYTHON_%s := $(%s)" % (name, venv["python"]))
    for name in legs:
        lines.append("ENDPOINT_LEG_%s := %s" % (name, venvs[name].get("endpoint_leg", name)))
    print("# Made by tools/legs.py from tests/legs.toml: edit that file.\n" + "\n".join(lines))


def find_python(preferred, minimum):
    """A pyenv version is run, not only looked for: pyenv's shims on PATH exist but exit 127 unless selected."""
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    if shutil.which("pyenv"):
        roots.insert(0, subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False).stdout.strip())
    roots = [root for root in roots if root]
    candidates = [os.path.join(root, "versions", preferred, "bin", "python3") for root in roots]
    for root in roots:
        found = glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3"))
        candidates += sorted(found, key=lambda path: version_key(path.split(os.sep)[-3]), reverse=True)
    candidates += ["python" + preferred, "python" + preferred.rsplit(".", 1)[0], "python" + minimum, "python3"]
    check = "import sys, venv, ensurepip; print(sys.executable) if sys.version_info >= %r else sys.exit(1)"
    for candidate in candidates:
        path = shutil.which(candidate)
        if not path:
            continue
        # sys.executable resolves a shim to the interpreter it runs, so a venv does not depend on pyenv's state.
        run = subprocess.run([path, "-c", check % (version_key(minimum),)], capture_output=True, text=True, check=False)
        if run.returncode == 0:
            print(run.stdout.strip())
            return 0
    return 1


def version_key(version):
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def requirement_files(pip_args):
    """Every requirements/constraints file named by the pip arguments, recursively."""
    pending = [arg for prev, arg in pairs(pip_args) if prev in ("-r", "-c")]
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
    command = [python, "-c", "import sys; print(sys.executable, sys.version.split()[0])"]
    version = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()
    files = {}
    for path in requirement_files(pip_args):
        with open(path, "rb") as handle:
            files[path] = hashlib.sha256(handle.read()).hexdigest()
    return {"python": version, "pip_args": pip_args, "files": files, "bytecode": BYTECODE}


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
        subprocess.run([venv_python] + check, check=True)


def venv(name):
    table, venvs = matrix()
    if name not in venvs:
        sys.exit("venv %s: not in tests/legs.toml (%s)" % (name, ", ".join(venvs)))
    spec, venv_dir = venvs[name], os.path.join(".venv", name)
    variable = spec["python"]
    python = os.environ.get(variable, "none")
    if python == "none":
        sys.exit("venv %s: no Python >= 3.12 found for %s: set %s=/path/to/python3" % (name, variable, variable))
    try:
        wanted = wanted_stamp(python, spec["pip"])
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit("venv %s: interpreter %s does not run: %s" % (venv_dir, python, exc))
    leg = name in table["legs"]
    check = [os.path.join("tools", "legs.py"), "check", name] if leg else spec.get("check")
    if read_json(os.path.join(venv_dir, STAMP)) == wanted:
        print("venv %s: up to date" % venv_dir)
    else:
        started = time.monotonic()
        print("venv %s: building with %s" % (venv_dir, wanted["python"]), flush=True)
        try:
            build(python, venv_dir, spec["pip"], check)
        except subprocess.CalledProcessError as exc:
            sys.exit("venv %s: failed: %s" % (venv_dir, exc))
        with open(os.path.join(venv_dir, STAMP), "w", encoding="utf-8") as handle:
            json.dump(wanted, handle, indent=1, sort_keys=True)
        print("venv %s: built in %.0f s" % (venv_dir, time.monotonic() - started))
    if leg:
        place_amazon_aws(os.path.join(venv_dir, "bin", "python"), spec["ansible"], os.path.join(".build", name))
    return 0


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def place_amazon_aws(python, ansible, leg_build):
    """amazon.aws from the `ansible` package's wheel (there is no Galaxy), at LEG_BUILD/ansible_collections.

    Only that collection is unzipped: seconds, instead of a minute and 550 MB for the whole package. pip runs with
    the leg's Python so that it picks the wheel that Python can use. The copy is used in place: the wheel omits
    files its FILES.json lists, so it cannot be re-tarred for ansible-galaxy."""
    wanted, stamp = "ansible==%s" % ansible, os.path.join(leg_build, "amazon.aws.stamp")
    target = os.path.join(leg_build, AMAZON_AWS)
    if os.path.isfile(os.path.join(target, "MANIFEST.json")) and os.path.isfile(stamp):
        with open(stamp, encoding="utf-8") as handle:
            if handle.read().strip() == wanted:
                print("amazon.aws: up to date in %s (from %s)" % (leg_build, wanted))
                return
    cache = os.path.join(".cache", "wheels")
    pattern = os.path.join(cache, "ansible-%s-py3-none-any.whl" % ansible)
    if not glob.glob(pattern):
        # Downloaded beside the cache and moved in whole: legs built side by side may want the same wheel.
        os.makedirs(cache, exist_ok=True)
        scratch = tempfile.mkdtemp(dir=cache, prefix=".download-")
        try:
            download = ["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
            subprocess.run([python] + download + ["--only-binary=:all:", "--dest", scratch, wanted], check=True)
            for wheel in glob.glob(os.path.join(scratch, "*.whl")):
                os.replace(wheel, os.path.join(cache, os.path.basename(wheel)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if not glob.glob(pattern):
        sys.exit("amazon.aws: pip did not leave %s" % pattern)
    scratch = target.rstrip("/") + ".new"
    shutil.rmtree(scratch, ignore_errors=True)
    with zipfile.ZipFile(glob.glob(pattern)[0]) as archive:
        archive.extractall(scratch, [member for member in archive.namelist() if member.startswith(AMAZON_AWS)])
    shutil.rmtree(target, ignore_errors=True)
    os.replace(os.path.join(scratch, AMAZON_AWS), target)
    shutil.rmtree(scratch)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(wanted + "\n")
    version = read_json(os.path.join(target, "MANIFEST.json"))["collection_info"]["version"]
    print("amazon.aws: %s placed in %s (from %s)" % (version, leg_build, wanted))


def pins(path, follow):
    """{canonical name: (name, version)} of the `name==version` lines of PATH and of the files it names with
    FOLLOW (-r for requirements: a -c line there only constrains, so it is not followed)."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            words = line.split()
            if len(words) == 2 and words[0] == follow:
                found.update(pins(os.path.join(os.path.dirname(path), words[1]), follow))
            elif PIN.match(line.strip()):
                name, version = PIN.match(line.strip()).groups()
                found[re.sub(r"[-_.]+", "-", name).lower()] = (name, version)
    return found


def check(name):
    """Every pin of the leg's requirements is installed at exactly that version, and every installed package its
    constraints pin matches: so the floor really runs boto3 and botocore 1.35.0, and no leg runs another boto than
    it names. Its botocore's model has the operations our modules call."""
    from importlib import metadata

    import botocore.session

    def installed(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    leg = matrix()[1][name]
    requirements, constraints = os.path.join(REQ, leg["requirements"]), os.path.join(REQ, leg["constraints"])
    required = pins(requirements, "-r")
    required["ansible-core"] = ("ansible-core", leg["ansible_core"])
    problems = []
    for package, version in required.values():
        if installed(package) != version:
            problems.append("%s is %s, expected %s" % (package, installed(package) or "not installed", version))
    for key, (package, version) in pins(constraints, "-c").items():
        if key not in required and installed(package) not in (None, version):
            problems.append("%s is %s, %s pins %s" % (package, installed(package), constraints, version))
    model = botocore.session.get_session().get_service_model("imagebuilder")
    missing = sorted(set(OPERATIONS) - set(model.operation_names))
    if missing:
        problems.append("botocore %s imagebuilder model lacks %s" % (installed("botocore"), ", ".join(missing)))
    if problems:
        sys.exit("leg check failed: " + "; ".join(problems))
    versions = (sys.version.split()[0],) + tuple(installed(name) for name in ("ansible-core", "boto3", "botocore"))
    print("leg check: python %s, ansible-core %s, boto3 %s, botocore %s (imagebuilder model is new enough)" % versions)
    return 0


def units(name):
    """From the staged copy with PYTHONPATH at its ansible_collections parent, so that tests import
    ansible_collections.imagebuilder_ops.aws... and amazon.aws exactly as Ansible lays them out."""
    leg = matrix()[1][name]
    stage = os.path.join(ROOT, ".build", name, "ansible_collections", "imagebuilder_ops", "aws")
    dirs = [path for path in leg["unit_dirs"] if os.path.isdir(os.path.join(stage, path))]
    for path in sorted(set(leg["unit_dirs"]) - set(dirs)):
        print("!!! NOTE: %s does not exist: not tested" % path)
    python = os.path.join(ROOT, ".venv", name, "bin", "python")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".build", name))
    # No cache: the staged copy is thrown away anyway.
    code = subprocess.call([python, "-m", "pytest", "-p", "no:cacheprovider"] + dirs, cwd=stage, env=env) if dirs else 5
    if code == 5:
        # pytest's exit 5 (nothing collected) would look like a pass to a skim.
        print("!!! FAILED: no tests collected in %s" % " ".join(leg["unit_dirs"]))
    return code


def main(argv):
    commands = {"make": print_make, "python": find_python, "venv": venv, "check": check, "units": units}
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    return commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
