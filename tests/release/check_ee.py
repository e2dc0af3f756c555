"""Execution environment checks: what ansible-builder reads from the collection, and what it builds from it.

    python check_ee.py metadata COLLECTION_DIR
        meta/execution-environment.yml is version 1 and points at requirements.txt and bindep.txt, which
        exist; requirements.txt has boto3 and botocore with lower bounds only, and never ansible or
        ansible-core.
    python check_ee.py introspect COLLECTIONS_ROOT
        `ansible-builder introspect` over an installed copy lists boto3 and botocore from this collection.
    python check_ee.py create TARBALL WORKDIR
        `ansible-builder create` with a version 3 definition that installs this collection from TARBALL
        writes a build context: a Containerfile that installs the collections, the collection requirements
        naming the tarball, and the tarball itself. No image is built (no container engine needed).

Run with the tools venv's Python (ansible-builder is found next to it). Exit status 0 when the check passed.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import yaml

COLLECTION = "imagebuilder_ops.aws"
PYTHON_DEPENDENCIES = ("boto3", "botocore")
NEVER = ("ansible", "ansible-core", "ansible-base")
# ansible-builder runs the Galaxy stage with the build context's files copied under this directory.
IN_IMAGE_DIR = "/tmp/imagebuilder_ops_collections"


def builder():
    return os.path.join(os.path.dirname(sys.executable), "ansible-builder")


def check_metadata(collection_dir):
    errors = []
    with open(os.path.join(collection_dir, "meta", "execution-environment.yml"), encoding="utf-8") as handle:
        meta = yaml.safe_load(handle)
    if meta.get("version") != 1:
        errors.append(f"meta/execution-environment.yml: version is {meta.get('version')!r}, not 1")
    dependencies = meta.get("dependencies") or {}
    for kind, expected in (("python", "requirements.txt"), ("system", "bindep.txt")):
        if dependencies.get(kind) != expected:
            errors.append(f"meta/execution-environment.yml: dependencies.{kind} is not {expected}")
        elif not os.path.isfile(os.path.join(collection_dir, expected)):
            errors.append(f"{expected} is missing")

    requirements = {}
    with open(os.path.join(collection_dir, "requirements.txt"), encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                name = re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower()
                requirements[name] = line[len(name) :].strip()
    for name in PYTHON_DEPENDENCIES:
        spec = requirements.get(name)
        if spec is None:
            errors.append(f"requirements.txt: {name} is missing")
        elif not re.fullmatch(r">=\s*[0-9][0-9.]*", spec):
            errors.append(f"requirements.txt: {name}{spec} is not a lower bound alone (>=X.Y.Z)")
    for name in NEVER:
        if name in requirements:
            errors.append(f"requirements.txt: {name} must not be listed (the environment provides it)")
    return errors


def check_introspect(collections_root):
    result = subprocess.run(
        [builder(), "introspect", "--sanitize", collections_root], capture_output=True, text=True, check=False
    )
    print(result.stdout + result.stderr)
    if result.returncode != 0:
        return [f"ansible-builder introspect exited {result.returncode}"]
    data = yaml.safe_load(result.stdout.split("\n", 1)[1] if result.stdout.startswith("#") else result.stdout)
    ours = [line for line in data.get("python") or [] if line.endswith(f"from collection {COLLECTION}")]
    errors = []
    for name in PYTHON_DEPENDENCIES:
        if not any(re.match(rf"{name}\s*>=", line) for line in ours):
            errors.append(f"introspect does not list {name}>= from collection {COLLECTION}")
    return errors


def definition(tarball_name):
    return {
        "version": 3,
        "images": {"base_image": {"name": "registry.example.invalid/any-base-image:latest"}},
        "dependencies": {
            "ansible_core": {"package_pip": "ansible-core>=2.19.0"},
            "ansible_runner": {"package_pip": "ansible-runner"},
            "galaxy": {"collections": [{"name": f"{IN_IMAGE_DIR}/{tarball_name}", "type": "file"}]},
        },
        "additional_build_files": [{"src": tarball_name, "dest": "collections"}],
        "additional_build_steps": {"prepend_galaxy": [f"COPY _build/collections/ {IN_IMAGE_DIR}/"]},
    }


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def check_create(tarball, workdir):
    name = os.path.basename(tarball)
    if not os.path.isfile(tarball):
        return [f"no tarball at {tarball}"]
    os.makedirs(workdir, exist_ok=True)
    shutil.copy(tarball, os.path.join(workdir, name))
    with open(os.path.join(workdir, "execution-environment.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(definition(name), handle, sort_keys=False)
    context = os.path.join(workdir, "context")
    command = [builder(), "create", "--file", "execution-environment.yml", "--context", context]
    command += ["--output-filename", "Containerfile"]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    print(result.stdout + result.stderr)
    if result.returncode != 0:
        return [f"ansible-builder create exited {result.returncode}"]

    errors = []
    containerfile = os.path.join(context, "Containerfile")
    if not os.path.isfile(containerfile):
        return [f"no Containerfile in {context}"]
    with open(containerfile, encoding="utf-8") as handle:
        text = handle.read()
    for needle in (f"COPY _build/collections/ {IN_IMAGE_DIR}/", "ansible-galaxy collection install"):
        if needle not in text:
            errors.append(f"the Containerfile lacks {needle!r}")
    requirements_path = os.path.join(context, "_build", "requirements.yml")
    if not os.path.isfile(requirements_path):
        errors.append("the build context has no collection requirements (_build/requirements.yml)")
    else:
        with open(requirements_path, encoding="utf-8") as handle:
            requirements = yaml.safe_load(handle) or {}
        names = [c.get("name") for c in requirements.get("collections") or []]
        if f"{IN_IMAGE_DIR}/{name}" not in names:
            errors.append(f"_build/requirements.yml does not install {name} (it lists {names})")
    copied = os.path.join(context, "_build", "collections", name)
    if not os.path.isfile(copied) or sha256(copied) != sha256(tarball):
        errors.append(f"the build context does not hold a copy of {name}")
    return errors


def main(argv):
    checks = {"metadata": check_metadata, "introspect": check_introspect, "create": check_create}
    if len(argv) < 2 or argv[0] not in checks:
        print(__doc__)
        return 2
    errors = checks[argv[0]](*argv[1:])
    for error in errors:
        print(f"FAILED: {error}")
    if not errors:
        print(f"{argv[0]}: ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
