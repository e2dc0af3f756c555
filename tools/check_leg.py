"""Check that a leg's venv holds what the leg promises, before it is marked as built.

    .venv/core219/bin/python tools/check_leg.py --ansible-core 2.19.14 \
        --requirements tests/requirements/leg.txt --constraints tests/requirements/constraints.txt

Our modules call Image Builder's lifecycle-execution API: a botocore whose model lacks those
operations would make every test fail in a confusing way, so catch it here with a clear message.
Every `name==version` pin of the leg's requirements (followed through -r lines) must be installed at
exactly that version, and every installed package its constraints pin must match: so the floor leg
proves it really runs boto3 and botocore 1.35.0, and no leg silently runs another boto than it names.
"""

import argparse
import os
import re
import sys
from importlib import metadata

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")

OPERATIONS = (
    "GetLifecycleExecution",
    "ListLifecycleExecutions",
    "ListLifecycleExecutionResources",
    "StartResourceStateUpdate",
    "CancelLifecycleExecution",
)


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path, follow):
    """{canonical name: (name, version)} of the `name==version` lines of PATH and of the files it names with
    FOLLOW (-r for requirements: a -c line there only constrains, so it is not followed)."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            words = line.split()
            if len(words) == 2 and words[0] == follow:
                found.update(pins(os.path.join(os.path.dirname(path), words[1]), follow))
                continue
            match = PIN.match(line.strip())
            if match:
                found[canonical(match.group(1))] = match.groups()
    return found


def installed_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def pin_problems(requirements, constraints):
    problems = []
    required = {}
    for path in requirements:
        required.update(pins(path, "-r"))
    for name, version in required.values():
        found = installed_version(name)
        if found != version:
            problems.append("%s is %s, expected %s" % (name, found or "not installed", version))
    for path in constraints:
        for key, (name, version) in pins(path, "-c").items():
            found = installed_version(name)
            if key not in required and found is not None and found != version:
                problems.append("%s is %s, %s pins %s" % (name, found, path, version))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ansible-core", required=True, help="exact ansible-core version expected")
    parser.add_argument(
        "--requirements", action="append", default=[], help="requirements file whose pins must all be installed"
    )
    parser.add_argument(
        "--constraints", action="append", default=[], help="constraints file whose pins installed packages match"
    )
    args = parser.parse_args()

    import boto3
    import botocore
    import botocore.session

    import ansible

    problems = []
    if ansible.__version__ != args.ansible_core:
        problems.append("ansible-core is %s, expected %s" % (ansible.__version__, args.ansible_core))
    problems.extend(pin_problems(args.requirements, args.constraints))
    model = botocore.session.get_session().get_service_model("imagebuilder")
    missing = sorted(set(OPERATIONS) - set(model.operation_names))
    if missing:
        problems.append("botocore %s imagebuilder model lacks %s" % (botocore.__version__, ", ".join(missing)))
    if problems:
        sys.exit("leg check failed: " + "; ".join(problems))
    print(
        "leg check: python %s, ansible-core %s, boto3 %s, botocore %s (imagebuilder model has %d operations needed)"
        % (sys.version.split()[0], ansible.__version__, boto3.__version__, botocore.__version__, len(OPERATIONS))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
