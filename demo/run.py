"""Show imagebuilder_ops.aws at work, with no AWS account: `make demo` runs this.

    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.demo.run \
        --collections-path .build/core219/installed [-- ANSIBLE-PLAYBOOK-ARGS]

Serves tests/local_endpoint/scenarios/demo.json from a local Image Builder and EC2 endpoint on a free port, runs
demo/demo.yml against it with ansible-playbook (fake credentials, nothing from the user's AWS configuration), then
stops the endpoint. Fails when ansible-playbook fails or prints a warning: the demo is what a new user sees first.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import endpoint_environment
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool

PLAYBOOK = Path(__file__).resolve().parent / "demo.yml"
# Ansible's warnings and deprecation warnings, as its display starts them.
WARNING = re.compile(r"^\[(WARNING|DEPRECATION WARNING)\]")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--collections-path",
        required=True,
        type=Path,
        help="directory holding ansible_collections/ with imagebuilder_ops.aws and amazon.aws installed",
    )
    parser.add_argument("ansible_args", nargs="*", help="extra ansible-playbook arguments, after --")
    args = parser.parse_args(argv)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ib-demo-") as workdir, local_endpoint("demo") as endpoint:
        print(f"demo: local Image Builder endpoint at {endpoint.url} serving the demo scenario", flush=True)
        # The modules find the endpoint as botocore's configuration says, as they would any other: the preview's EC2
        # calls too (its EC2 clients take no endpoint_url).
        endpoints = endpoint_environment(endpoint.url)
        env = isolated_env(args.collections_path, workdir, dict(endpoints, ANSIBLE_CALLBACK_RESULT_FORMAT="yaml"))
        cmd = [tool("ansible-playbook"), str(PLAYBOOK), "-e", f"imagebuilder_endpoint_url={endpoint.url}"]
        with subprocess.Popen(
            cmd + args.ansible_args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as playbook:
            warnings = 0
            for line in playbook.stdout:
                print(line, end="", flush=True)
                warnings += bool(WARNING.match(line))
        code = playbook.returncode
        calls = endpoint.requests()
    if code == 0 and warnings:
        outcome, code = f"FAILED ({warnings} warning lines)", 1
    else:
        outcome = "done" if code == 0 else f"FAILED (ansible-playbook exit {code})"
    print(
        f"demo: {outcome} in {time.monotonic() - started:.1f}s; the endpoint answered {len(calls)} API calls"
        " and is stopped",
        flush=True,
    )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
