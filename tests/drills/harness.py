"""What the drills and the benchmarks share: the local endpoint, an isolated Ansible environment, measured runs.

The endpoint runs in this process (library mode), so its request log and fault rules are read and set directly.
Every command runs as a child whose wall time, CPU time and peak memory are measured with os.wait4.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "local_endpoint"))

from imagebuilder_endpoint import LocalEndpoint  # noqa: E402  pylint: disable=wrong-import-position

INFO = "imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info"
ACTION = "imagebuilder_ops.aws.imagebuilder_lifecycle_execution"
REGION = "us-east-1"
ACCOUNT = "123456789012"

# Long and odd on purpose: Ansible masks no_log values wherever they appear, and a distinctive value lets a
# drill prove that it never leaks into output.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAZZFAKEDRILLSIMAGEBUILDEROPS7Q",
    "AWS_SECRET_ACCESS_KEY": "zzFakeSecret/ImagebuilderOps+DrillsAndBenchmarksOnly/k4Rw9Xv2Lm4Nb8Tk3Hs6",
}


def execution_id(prefix, number):
    """A well-formed lifecycle execution id: prefix is 8 hex digits."""
    return f"lce-{prefix}-0000-4000-a000-{number:012x}"


def policy_arn(name):
    return f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:lifecycle-policy/{name}"


def image_arn(name, build=1):
    return f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/{name}/1.0.0/{build}"


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tool(name):
    """An Ansible command from the running interpreter's venv first, then from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def ansible_env(collections_path, workdir, extra=None):
    """The environment for ansible commands: our collections only, fake credentials, nothing from the user's AWS."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "ANSIBLE_COLLECTIONS_PATH": str(Path(collections_path).resolve()),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "true",
            "ANSIBLE_HOME": str(Path(workdir) / "ansible_home"),
            "ANSIBLE_LOCAL_TEMP": str(Path(workdir) / "ansible_tmp"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Run:
    """One finished command: exit code, output, wall seconds, CPU seconds (user + system), peak RSS in KiB."""

    rc: int
    stdout: str
    stderr: str
    wall: float
    cpu: float
    maxrss_kib: int
    started: float
    ended: float
    timed_out: bool


def run(cmd, env=None, timeout=300.0, cwd=None):
    """Run ``cmd`` to completion, measured. A command past ``timeout`` is killed (its own process group only)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started_wall = time.time()
        started = time.monotonic()
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        expired = threading.Event()

        def kill():
            expired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            rc=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            maxrss_kib=usage.ru_maxrss,
            started=started_wall,
            ended=started_wall + wall,
            timed_out=expired.is_set(),
        )


def adhoc_result(result):
    """The module result of ``ansible localhost -m ...`` with the default callback: the JSON after '=>'."""
    text = result.stdout
    marker = text.find("=> {")
    if marker < 0:
        return None
    try:
        return json.loads(text[marker + 3 :])
    except ValueError:
        return None


def adhoc(collections_path, workdir, module, args, timeout=300.0, env_extra=None, extra_cmd=()):
    """``ansible localhost -m module -a JSON-args``, measured; returns (Run, module result or None)."""
    cmd = [tool("ansible"), "localhost", "-m", module, "-a", json.dumps(args), *extra_cmd]
    result = run(cmd, ansible_env(collections_path, workdir, env_extra), timeout=timeout)
    return result, adhoc_result(result)


def check_installed(collections_path):
    """None when both collections are installed under collections_path, else why not."""
    root = Path(collections_path) / "ansible_collections"
    for needed in ("imagebuilder_ops/aws", "amazon/aws"):
        if not (root / needed).is_dir():
            return f"{root / needed} is missing: build and install the collection first (make build)"
    return None


def start_endpoint(scenario):
    return LocalEndpoint(scenario).start()
