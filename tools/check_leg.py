"""Check that a leg's venv holds what the leg promises, before it is marked as built.

    .venv/core219/bin/python tools/check_leg.py --ansible-core 2.19.14

Our modules call Image Builder's lifecycle-execution API: a botocore whose model lacks those
operations would make every test fail in a confusing way, so catch it here with a clear message.
"""

import argparse
import sys

OPERATIONS = (
    "GetLifecycleExecution",
    "ListLifecycleExecutions",
    "ListLifecycleExecutionResources",
    "StartResourceStateUpdate",
    "CancelLifecycleExecution",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ansible-core", required=True, help="exact ansible-core version expected")
    args = parser.parse_args()

    import boto3
    import botocore
    import botocore.session

    import ansible

    problems = []
    if ansible.__version__ != args.ansible_core:
        problems.append("ansible-core is %s, expected %s" % (ansible.__version__, args.ansible_core))
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
