# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Commands run to completion and measured (os.wait4: wall, CPU, peak RSS), background ones stopped with what they
started, and ``ansible localhost -m`` runs."""

import dataclasses
import json
import os
import signal
import subprocess
import tempfile
import threading
import time

from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool


@dataclasses.dataclass
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


def stop_group(process, how=signal.SIGINT, grace=10):
    """Stop a process started with start_new_session and what it started: ``how`` (SIGINT as Ctrl-C, SIGKILL as a
    crash), then SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, how)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


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


def adhoc(collections_path, workdir, module, args, timeout=300.0, env_extra=None):
    """``ansible localhost -m module -a JSON-args`` in the isolated environment, measured: (Run, result or None)."""
    cmd = [tool("ansible"), "localhost", "-m", module, "-a", json.dumps(args)]
    result = run(cmd, isolated_env(collections_path, workdir, env_extra), timeout=timeout)
    return result, adhoc_result(result)
