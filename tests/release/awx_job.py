"""Run the collection the way AWX runs a job, and check what the job recorded.

AWX hands ansible-runner a private data directory: the project, an inventory, ``env/extravars``,
``env/settings`` and ``env/envvars``, where its AWS credential type puts AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and, with a token, both AWS_SECURITY_TOKEN and AWS_SESSION_TOKEN. This builds one
such directory under a temporary directory, runs tests/release/awx_project/lifecycle_report.yml against the
local Image Builder endpoint, and checks that the job succeeded, that its events hold the lifecycle
executions, and that no credential shows in its stdout or events. The credentials are the shared fake ones
(tests/support), and the endpoint runs in this process.

Runner artifacts record the whole environment, secrets included, so the temporary directory is always deleted.

Run with the tools venv's Python (it has ansible-runner, ansible-core and boto3), as a module of a staged copy:
    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.tests.release.awx_job \
        --collections-root .build/core221/installed
Exit status 0 when every check passed.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from datetime import timedelta

from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_CREDENTIALS
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SESSION_TOKEN

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = "lifecycle_report.yml"
IDENT = "awx-job"

FINISHED_ID = "lce-00000000-0000-4000-8000-000000000001"
RUNNING_ID = "lce-00000000-0000-4000-8000-000000000002"
POLICY_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"


# What AWX's AWS credential type injects: the key pair and, with a token, the token under both names.
CREDENTIALS = dict(FAKE_CREDENTIALS, AWS_SECURITY_TOKEN=FAKE_SESSION_TOKEN)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(data if isinstance(data, str) else json.dumps(data, indent=2))


def private_data_dir(root, collections_root, endpoint_url, credentials):
    pdd = os.path.join(root, "pdd")
    shutil.copytree(os.path.join(HERE, "awx_project"), os.path.join(pdd, "project"))
    envvars = dict(credentials, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_FORCE_COLOR="0")
    write(os.path.join(pdd, "env", "envvars"), envvars)
    write(
        os.path.join(pdd, "env", "extravars"),
        {
            "imagebuilder_endpoint_url": endpoint_url,
            "finished_execution_id": FINISHED_ID,
            "running_execution_id": RUNNING_ID,
            "lifecycle_policy_arn": POLICY_ARN,
        },
    )
    write(os.path.join(pdd, "env", "settings"), {"job_timeout": 300, "idle_timeout": 120, "pexpect_timeout": 5})
    write(
        os.path.join(pdd, "inventory", "hosts"),
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n",
    )
    return pdd


def runner_environment(root, collections_root):
    """The job's process environment: no credentials, so that only env/envvars can supply them."""
    home = os.path.join(root, "home")
    os.makedirs(home)
    # Should the endpoint_url module default ever be lost, calls must go to a closed local port, never to AWS.
    extra = {"HOME": home, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    return isolated_env(collections_root, root, extra, credentials=False)


def load_events(artifacts):
    events = []
    for path in glob.glob(os.path.join(artifacts, "job_events", "*.json")):
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    return sorted(events, key=lambda e: e.get("counter", 0))


def task_results(events):
    return {
        e["event_data"].get("task"): e["event_data"].get("res", {}) for e in events if e.get("event") == "runner_on_ok"
    }


def check_job(pdd, runner_stdout, credentials, calls):
    """A list of failures; empty when the job looks as it should."""
    failures = []
    artifacts = os.path.join(pdd, "artifacts", IDENT)
    status = open(os.path.join(artifacts, "status"), encoding="utf-8").read().strip()
    if status != "successful":
        failures.append(f"job status is {status!r}, not 'successful'")

    events = load_events(artifacts)
    results = task_results(events)
    finished = results.get("Read a finished lifecycle execution", {}).get("lifecycle_execution", {})
    if finished.get("lifecycle_execution_id") != FINISHED_ID or finished.get("state", {}).get("status") != "SUCCESS":
        failures.append(f"no runner_on_ok event holds {FINISHED_ID} with status SUCCESS (got {finished!r})")
    # The scenario gives the start relative to its load ("-P4D"), ending 4 min 12 s later, in whole seconds.
    try:
        took = datetime.fromisoformat(finished["end_time"]) - datetime.fromisoformat(finished["start_time"])
    except (KeyError, TypeError, ValueError) as e:
        failures.append(f"start_time and end_time are not ISO 8601 ({e}): {finished!r}")
    else:
        if took != timedelta(minutes=4, seconds=12):
            failures.append(f"the execution took {took}, not the scenario's 0:04:12: {finished!r}")
    waited = results.get("Wait for a running lifecycle execution to finish", {}).get("lifecycle_execution", {})
    if waited.get("state", {}).get("status") != "SUCCESS" or not waited.get("resources"):
        failures.append(f"the wait's event does not hold a SUCCESS execution with resources (got {waited!r})")
    listed = results.get("List the executions of the lifecycle policy", {}).get("lifecycle_executions", [])
    if FINISHED_ID not in [e.get("lifecycle_execution_id") for e in listed]:
        failures.append(f"the listing's event does not hold {FINISHED_ID}")
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    if not stats or stats[-1]["event_data"].get("failures"):
        failures.append("no playbook_on_stats event, or it counts failures")

    if len(calls) < 4:
        failures.append(f"the local endpoint saw {len(calls)} API calls, expected the job's calls (>= 4)")

    # The job output AWX stores and shows: runner's stdout, its stdout artifact and every event.
    outputs = {"ansible-runner stdout": runner_stdout}
    with open(os.path.join(artifacts, "stdout"), encoding="utf-8") as handle:
        outputs["artifacts stdout"] = handle.read()
    outputs["job events"] = json.dumps(events)
    for where, text in outputs.items():
        for name, value in credentials.items():
            if value in text:
                failures.append(f"{name} appears in the {where}")
    # Positive control: the scan must be able to see a secret where one is known to be.
    with open(os.path.join(pdd, "env", "envvars"), encoding="utf-8") as handle:
        if credentials["AWS_SECRET_ACCESS_KEY"] not in handle.read():
            failures.append("positive control failed: the secret is not even in env/envvars")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections-root", required=True, help="directory holding ansible_collections/")
    parser.add_argument(
        "--scenario", default="demo", help="a scenario of tests/local_endpoint/scenarios (default demo)"
    )
    args = parser.parse_args(argv)
    # A step timeout sends SIGTERM: still stop the endpoint and delete the secrets-bearing directory.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    collections_root = os.path.abspath(args.collections_root)

    root = tempfile.mkdtemp(prefix="ibops-awx-job-")
    try:
        with local_endpoint(args.scenario) as endpoint:
            pdd = private_data_dir(root, collections_root, endpoint.url, CREDENTIALS)
            command = [tool("ansible-runner"), "run", pdd, "-p", PLAYBOOK, "--ident", IDENT]
            started = time.monotonic()
            job = subprocess.run(
                command,
                env=runner_environment(root, collections_root),
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            calls = endpoint.requests()
        print(f"ansible-runner exited {job.returncode} after {time.monotonic() - started:.1f} s")
        failures = [] if job.returncode == 0 else [f"ansible-runner exited {job.returncode}"]
        failures += check_job(pdd, job.stdout + job.stderr, CREDENTIALS, calls)
        if failures:
            # The job's own output helps, but only once we know it holds no credential.
            if not any("appears in" in f for f in failures):
                print(job.stdout[-6000:])
            for failure in failures:
                print(f"FAILED: {failure}")
            return 1
        print("job successful; its events hold the executions; no credential in its stdout or events")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
