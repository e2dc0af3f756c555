"""Serve the local Image Builder and EC2 endpoint in the foreground, for trying the collection by hand.

    .venv/core219/bin/python tools/endpoint.py --scenario tests/local_endpoint/scenarios/demo.json [--port 0] \
        [--collections-path .build/core219/installed --venv .venv/core219]

`make endpoint` runs this. It starts tests/local_endpoint/imagebuilder_endpoint.py with this Python (whose botocore
model the endpoint keeps), says what the scenario holds and prints the environment to export in another shell: the
Image Builder, EC2, Auto Scaling and Recycle Bin endpoint URLs (botocore's AWS_ENDPOINT_URL_<SERVICE> variables,
which the modules, the preview's other clients and the event source all read), dummy credentials and the scenario's
region. Ctrl-C (or SIGTERM) stops the endpoint, which closes its port; the exit status is then 0. The walk-through:
docs/docsite/rst/try_it_locally.rst.
"""

import argparse
import json
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

ENDPOINT = Path(__file__).resolve().parents[1] / "tests" / "local_endpoint" / "imagebuilder_endpoint.py"
# Dummy credentials: the endpoint accepts any SigV4 signature and never logs it. Say so in the values themselves.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-endpoint-dummy-key", "AWS_SECRET_ACCESS_KEY": "local-endpoint-dummy"}
# What a shell may hold that would change who calls or how: a profile would clash with the keys above, a real session
# token would go with them.
TO_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def summary(scenario):
    """One sentence on what the scenario serves: its policies, images, AMIs per region and executions."""
    policies = [p for p in scenario.get("policies", []) if "name" in p]
    images = scenario.get("images", [])
    amis = [r for image in images for r in image.get("resources", []) if r["resourceId"].startswith("ami-")]
    regions = sorted({ami.get("region", scenario.get("region", "us-east-1")) for ami in amis})
    executions = scenario.get("executions", [])
    return (
        f"{len(policies)} lifecycle polic{'y' if len(policies) == 1 else 'ies'}"
        f" ({', '.join(p['name'] for p in policies) or 'none'}), {len(images)} image build versions with"
        f" {len(amis)} AMIs in {', '.join(regions) or 'no region'}, {len(executions)} lifecycle executions"
    )


def port_is_free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def environment(url, region):
    lines = [f"unset {' '.join(TO_UNSET)}"]
    # tests/support/endpoint.py SERVICES (not importable here: this runs from the source tree, not a staged copy).
    lines += [f"export AWS_ENDPOINT_URL_{service}={url}" for service in ("IMAGEBUILDER", "EC2", "AUTO_SCALING", "RBIN")]
    lines.append("export " + " ".join(f"{name}={value}" for name, value in DUMMY_CREDENTIALS.items()))
    # amazon.aws reads AWS_REGION; boto3 itself (the event source's client, the AWS CLI) only AWS_DEFAULT_REGION.
    lines.append(f"export AWS_REGION={region} AWS_DEFAULT_REGION={region}")
    return lines


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", required=True, type=Path, help="a scenario file (tests/local_endpoint/scenarios)")
    parser.add_argument("--port", type=int, default=0, help="the loopback port (default 0: a free one)")
    parser.add_argument("--collections-path", type=Path, help="imagebuilder_ops.aws and amazon.aws installed there")
    parser.add_argument("--venv", type=Path, help="the venv whose Ansible uses --collections-path")
    args = parser.parse_args(argv)
    scenario = json.loads(args.scenario.read_text(encoding="utf-8"))
    if args.port and not port_is_free(args.port):
        print(f"port {args.port} of 127.0.0.1 is in use: choose another (make endpoint ENDPOINT_PORT=...)")
        return 1

    command = [sys.executable, str(ENDPOINT), "--scenario", str(args.scenario), "--port", str(args.port)]
    endpoint = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # pylint: disable=consider-using-with
    # Ctrl-C reaches the endpoint too (the same process group), which stops on SIGINT by itself: here it is ignored,
    # so that this process waits for the endpoint to close its port and then says so. SIGTERM is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: endpoint.send_signal(signal.SIGTERM))
    line = endpoint.stdout.readline().strip()
    if not line.startswith("listening on "):
        endpoint.terminate()
        print(f"the endpoint did not start (exit {endpoint.wait()}): {line or 'no output'}", file=sys.stderr)
        return 1
    url = line.removeprefix("listening on ")
    print(f"Local Image Builder and EC2 endpoint at {url}, serving {args.scenario}:")
    print(f"  {summary(scenario)}.")
    print("In another shell, export:")
    print()
    print("\n".join(environment(url, scenario.get("region", "us-east-1"))))
    if args.collections_path and args.venv:
        print()
        print("and, to use the Ansible and the collection this checkout built (or install your own: see the guide):")
        print()
        print(f"export PATH={shlex.quote(str(args.venv.resolve() / 'bin'))}:$PATH", end=" ")
        print(f"ANSIBLE_COLLECTIONS_PATH={shlex.quote(str(args.collections_path.resolve()))}")
    print()
    print("Walk-through: docs/docsite/rst/try_it_locally.rst. Ctrl-C stops the endpoint.", flush=True)
    code = endpoint.wait()
    print(f"endpoint stopped{'' if code == 0 else f' (exit {code})'}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
