"""Run the integration targets through real ansible-playbook against the local Image Builder endpoint.

    python tests/integration/run.py --collections-path .build/core219/installed [--leg core219]
        [--target NAME ...] [--jobs N] [--endpoint-python PYTHON] [-- -v]

Runs every target under tests/integration/targets (or those named with --target), each as the role of its own
generated playbook whose module_defaults point the action group at a local endpoint of its own
(tests/local_endpoint/imagebuilder_endpoint.py with the integration scenario on a free port), so targets cannot
see each other's changes. With --jobs N, N targets run side by side, each one's output printed whole when it
ends; with 1 (the default) the output streams. Every target runs even after one failed; each endpoint is stopped
whatever happens, and the exit code is the first failure's.
ansible-playbook is taken from the bin/ of the Python running this script (then PATH), and so are the modules'
Python and botocore. The endpoint runs with that Python too, unless --endpoint-python names another: it stands for
the real service, whose model is the newest, so a leg on an old botocore (the floor leg) runs it with a Python
whose botocore is the newest we pin.
With --real it starts no endpoint and leaves credentials and region to the usual AWS environment
(see tests/integration/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "tests" / "integration" / "targets"
ENDPOINT_SCRIPT = ROOT / "tests" / "local_endpoint" / "imagebuilder_endpoint.py"
DEFAULT_SCENARIO = ROOT / "tests" / "local_endpoint" / "scenarios" / "integration.json"

# Fake, and long and odd on purpose: Ansible masks no_log values wherever they appear in output, so a short
# common word would blank out unrelated text, and a distinctive one lets us prove it never leaks.
FAKE_CREDENTIALS = {
    "access_key": "AKIAZZFAKEIMAGEBUILDEROPSTESTKEY7Q",
    "secret_key": "zzFakeSecret/ImagebuilderOps+IntegrationOnly/q7Rw9Xv2Lm4Nb8Tk3Hs6Jd",
    "session_token": "zzFakeSessionToken.imagebuilder-ops.integration.Qm2Vx8Rt5Lp3Wz9Kc4Hn7Bd1Fg6",
}
ENDPOINT_START_TIMEOUT = 30.0


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leg", default="local", help="compatibility leg name, shown in the header only")
    parser.add_argument(
        "--collections-path",
        required=True,
        type=Path,
        help="directory holding ansible_collections/ with imagebuilder_ops.aws and amazon.aws installed",
    )
    parser.add_argument(
        "--target",
        action="append",
        dest="targets",
        metavar="NAME",
        help="integration target (role) to run; repeat for several (default: every target, in name order)",
    )
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="endpoint scenario file")
    parser.add_argument(
        "--endpoint-python",
        default=sys.executable,
        help="interpreter that runs the local endpoint (default: the one running this script)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="targets run side by side (default 1; a module run waits on polls and backoff much of its time)",
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="start no endpoint; use the AWS account from the environment (pass ids with -e after --)",
    )
    parser.add_argument("--region", default=None, help="region for --real (default: AWS_REGION or us-east-1)")
    parser.add_argument("ansible_args", nargs="*", help="extra ansible-playbook arguments, after --")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be 1 or more, not {args.jobs}")
    return args, args.ansible_args


class Endpoint:
    """The local endpoint as a child process, started in script mode and stopped with SIGTERM."""

    def __init__(self, scenario: Path, workdir: Path, python: str = sys.executable) -> None:
        self.scenario = scenario
        self.python = python
        self.url_file = workdir / "endpoint.url"
        self.log_file = workdir / "endpoint.log"
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> str:
        log = open(self.log_file, "wb")
        cmd = [
            self.python,
            str(ENDPOINT_SCRIPT),
            "--scenario",
            str(self.scenario),
            "--port",
            "0",
            "--url-file",
            str(self.url_file),
        ]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + ENDPOINT_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"endpoint exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.url_file.exists():
                url = self.url_file.read_text().strip()
                if url:
                    self.url = url.rstrip("/")
                    return self.url
            time.sleep(0.05)
        raise RuntimeError(f"endpoint wrote no URL within {ENDPOINT_START_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no endpoint log)"


def playbook(target: str, module_defaults: dict) -> list[dict]:
    play = {
        "name": f"Integration target {target}",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "module_defaults": {"group/imagebuilder_ops.aws.aws": module_defaults},
        "roles": [target],
    }
    return [play]


def ansible_env(collections_path: Path, real: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not real:
        # The user's own AWS settings must not leak into a run against the local endpoint: a profile in the
        # environment next to explicit keys is an error in amazon.aws, and a config file could set a region.
        for name in list(env):
            if name.startswith("AWS_"):
                del env[name]
        env["AWS_CONFIG_FILE"] = os.devnull
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path.resolve()),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_ROLES_PATH": str(TARGETS),
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": env.get("ANSIBLE_NOCOLOR", "true"),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def run_playbook(cmd: list[str], env: dict[str, str], stream: bool) -> tuple[int, str]:
    """Run ansible-playbook and keep its output for the leak check; stream it as it comes when asked."""
    proc = subprocess.Popen(
        cmd, env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    chunks = []
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        text = raw.decode("utf-8", errors="replace")
        chunks.append(text)
        if stream:
            sys.stdout.write(text)
            sys.stdout.flush()
    return proc.wait(), "".join(chunks)


def verbosity(ansible_args: list[str]) -> int:
    level = 0
    for arg in ansible_args:
        if arg == "--verbose":
            level += 1
        elif arg.startswith("-v") and set(arg[1:]) == {"v"}:
            level += len(arg) - 1
    return level


def leaked_credentials(output: str, ansible_args: list[str]) -> list[str]:
    checked = dict(FAKE_CREDENTIALS)
    if verbosity(ansible_args) >= 3:
        # amazon.aws does not mark access_key no_log (a key id is not a secret), and -vvv prints invocations.
        del checked["access_key"]
    return [name for name, value in checked.items() if value in output]


def all_targets() -> list[str]:
    return sorted(p.parent.parent.name for p in TARGETS.glob("*/tasks/main.yml"))


def run_target(target: str, args, ansible_args, workdir: Path) -> tuple[int, str]:
    """Run one target against an endpoint of its own (none with --real); returns (exit code, output)."""
    workdir.mkdir()
    stream = args.jobs == 1
    endpoint = None if args.real else Endpoint(args.scenario, workdir, args.endpoint_python)
    output = notes = ""
    try:
        extra_vars: dict[str, str] = {}
        if endpoint is None:
            region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            module_defaults = {"region": region or "us-east-1"}
        else:
            url = endpoint.start()
            module_defaults = {"endpoint_url": url, "region": "us-east-1", **FAKE_CREDENTIALS}
            extra_vars = {"imagebuilder_endpoint_url": url, "imagebuilder_endpoint_control_url": url + "/_endpoint"}
        play_file = workdir / f"{target}.yml"
        # JSON is YAML: no YAML library needed in the runner.
        play_file.write_text(json.dumps(playbook(target, module_defaults), indent=2))
        vars_file = workdir / "endpoint_vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        cmd = ["ansible-playbook", str(play_file), "-e", f"@{vars_file}", *ansible_args]
        where = f"local endpoint {endpoint.url} (scenario {args.scenario.name})" if endpoint else "the AWS account"
        header = f"run.py: leg {args.leg}: target {target}: {' '.join(cmd[:2])} ... against {where}\n"
        if stream:
            print(header, end="", flush=True)
        else:
            print(f"run.py: leg {args.leg}: target {target} started", flush=True)
            output = header
        code, played = run_playbook(cmd, ansible_env(args.collections_path, args.real), stream)
        output += played
    except (OSError, RuntimeError) as exc:
        code, notes = 2, f"run.py: {exc}\n"
    finally:
        if endpoint is not None:
            endpoint.stop()
            if endpoint.proc is not None and endpoint.proc.returncode not in (0, -signal.SIGTERM):
                notes += f"run.py: endpoint exited with {endpoint.proc.returncode}:\n{endpoint.log_tail()}\n"
    sys.stdout.write(notes if stream else output + notes)
    sys.stdout.flush()
    return code, output + notes


def main(argv: list[str]) -> int:
    args, ansible_args = parse_args(argv)
    installed = args.collections_path / "ansible_collections"
    for needed in ("imagebuilder_ops/aws", "amazon/aws"):
        if not (installed / needed).is_dir():
            print(f"run.py: {installed / needed} is missing; install the collections there first", file=sys.stderr)
            return 2
    targets = args.targets or all_targets()
    for target in targets:
        if not (TARGETS / target / "tasks" / "main.yml").is_file():
            print(f"run.py: no integration target {target!r} under {TARGETS}", file=sys.stderr)
            return 2
    if not targets:
        print(f"run.py: no integration target under {TARGETS}", file=sys.stderr)
        return 2

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ib-integration-") as tmp:

        def timed(target: str) -> tuple[str, int, float, str]:
            target_started = time.monotonic()
            code, output = run_target(target, args, ansible_args, Path(tmp) / target)
            return target, code, time.monotonic() - target_started, output

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            ran = list(pool.map(timed, targets))
    results = [(target, code, seconds) for target, code, seconds, _output in ran]
    output = "".join(target_output for *_result, target_output in ran)

    elapsed = time.monotonic() - started
    code = next((c for _target, c, _seconds in results if c != 0), 0)
    if not args.real:
        leaked = leaked_credentials(output, ansible_args)
        if leaked:
            print(f"run.py: FAILED: credential value(s) {', '.join(leaked)} appeared in the output", file=sys.stderr)
            return code or 1
        print("run.py: no fake credential value appeared in the output")
    for target, target_code, seconds in results:
        verdict = "passed" if target_code == 0 else f"FAILED (ansible-playbook exit {target_code})"
        print(f"run.py: leg {args.leg}: target {target} {verdict} in {seconds:.1f}s", flush=True)
    overall = "passed" if code == 0 else "FAILED"
    print(f"run.py: leg {args.leg}: {len(results)} target(s) {overall} in {elapsed:.1f}s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
