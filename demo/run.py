"""Show imagebuilder_ops.aws at work, with no AWS account: `make demo` runs this.

    python demo/run.py --collections-path .build/core219/installed

Serves tests/local_endpoint/scenarios/demo.json from a local Image Builder endpoint on a free port, runs
demo/demo.yml against it with ansible-playbook, then stops the endpoint.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "tests" / "local_endpoint" / "scenarios" / "demo.json"
PLAYBOOK = ROOT / "demo" / "demo.yml"

sys.path.insert(0, str(ROOT / "tests" / "local_endpoint"))
from imagebuilder_endpoint import LocalEndpoint  # noqa: E402  pylint: disable=wrong-import-position


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

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "ANSIBLE_COLLECTIONS_PATH": str(args.collections_path.resolve()),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    started = time.monotonic()
    with LocalEndpoint(str(SCENARIO)) as endpoint:
        print(f"demo: local Image Builder endpoint at {endpoint.url} serving {SCENARIO.relative_to(ROOT)}", flush=True)
        cmd = ["ansible-playbook", str(PLAYBOOK), "-e", f"imagebuilder_endpoint_url={endpoint.url}", *args.ansible_args]
        code = subprocess.call(cmd, env=env, cwd=str(ROOT), stdin=subprocess.DEVNULL)
        calls = endpoint.requests()
    print(
        f"demo: {'done' if code == 0 else f'FAILED (ansible-playbook exit {code})'} in "
        f"{time.monotonic() - started:.1f}s; the endpoint answered {len(calls)} API calls and is stopped",
        flush=True,
    )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
