"""Run the collection the way AWX runs a job, and check what the job recorded.

AWX hands ansible-runner a private data directory: the project, an inventory, ``env/extravars``,
``env/settings`` and ``env/envvars``, where its AWS credential type puts AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and, with a token, both AWS_SECURITY_TOKEN and AWS_SESSION_TOKEN. This builds one
such directory under a temporary directory, runs tests/release/awx_project/lifecycle_report.yml against the
local Image Builder endpoint, and checks that the job succeeded, that its events hold the lifecycle
executions, and that no credential shows in its stdout or events. The credentials are the shared fake ones
(tests/support), and the endpoint runs in this process.

Then it runs the "Is it safe?" guide's playbook (docs/docsite/rst/is_it_safe.rst, the block that starts with
``# golden_ami_policy.yml``, as written) as the guide's AWX workflow does, for two changes over the demo scenario's
web-ami images (SAFETY_CHANGES): first as the preview job (``apply_change: false``), whose set_stats data must be the
job's artifacts and equal the preview's ``safety`` summary; then as the apply job, given those artifacts as extra
variables, which must apply the change exactly when its summary shows nothing the assert refuses (otherwise the job
fails at that assert and the endpoint sees no write). A deprecate is never refused, so it must be applied; and an
apply job given an approved summary that differs from its fresh preview must fail at the assert that compares them.
The demo scenario has no Recycle Bin rule, so a delete is not recoverable and the assert refuses it.

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

from ansible_collections.imagebuilder_ops.aws.tests.release.extract_examples import code_blocks
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import endpoint_environment
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_CREDENTIALS
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SESSION_TOKEN

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = "lifecycle_report.yml"
IDENT = "awx-job"
SAFETY_GUIDE = os.path.join(HERE, "..", "..", "docs", "docsite", "rst", "is_it_safe.rst")
SAFETY_PLAYBOOK = "golden_ami_policy.yml"
# Two changes to the guide's policy, over the demo scenario's web-ami images (400, 250 and 120 days old, AMIs in two
# regions): a delete, applied only if its summary refuses nothing; and a deprecate, which the assert never refuses
# (a deprecated AMI can still be launched by its ID), so it must be applied.
WEB_AMI = {"recipes": [{"name": "web-ami", "semantic_version": "1.x.x"}]}
SAFETY_CHANGES = {
    "delete": {
        "golden_selection": WEB_AMI,
        "golden_rules": [
            {
                "action": {"type": "delete", "include_resources": {"amis": True, "snapshots": True}},
                "filter": {"type": "age", "value": 90, "unit": "days"},
            }
        ],
    },
    "deprecate": {
        "golden_selection": WEB_AMI,
        "golden_rules": [
            {
                "action": {"type": "deprecate", "include_resources": {"amis": True}},
                "filter": {"type": "age", "value": 60, "unit": "days"},
            }
        ],
    },
}
# The counts of the summary that the guide's assert refuses a change on.
REFUSED = (
    ("in_use", "disable"),
    ("in_use", "delete"),
    ("in_use_unknown", "disable"),
    ("in_use_unknown", "delete"),
    ("delete_not_recoverable",),
    ("delete_recoverable_unknown",),
    ("delete_blocked",),
)
POLICY_WRITES = ("CreateLifecyclePolicy", "UpdateLifecyclePolicy")

FINISHED_ID = "lce-00000000-0000-4000-8000-000000000001"
RUNNING_ID = "lce-00000000-0000-4000-8000-000000000002"
POLICY_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"


# What AWX's AWS credential type injects: the key pair and, with a token, the token under both names.
CREDENTIALS = dict(FAKE_CREDENTIALS, AWS_SECURITY_TOKEN=FAKE_SESSION_TOKEN)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(data if isinstance(data, str) else json.dumps(data, indent=2))


def private_data_dir(root, collections_root, extravars, envvars, name="pdd"):
    pdd = os.path.join(root, name)
    shutil.copytree(os.path.join(HERE, "awx_project"), os.path.join(pdd, "project"))
    envvars = dict(envvars, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_FORCE_COLOR="0")
    write(os.path.join(pdd, "env", "envvars"), envvars)
    write(os.path.join(pdd, "env", "extravars"), extravars)
    write(os.path.join(pdd, "env", "settings"), {"job_timeout": 300, "idle_timeout": 120, "pexpect_timeout": 5})
    write(
        os.path.join(pdd, "inventory", "hosts"),
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n",
    )
    return pdd


def runner_environment(root, collections_root):
    """The job's process environment: no credentials, so that only env/envvars can supply them."""
    home = os.path.join(root, "home")
    os.makedirs(home, exist_ok=True)
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


def guide_playbook(guide):
    """The "Is it safe?" guide's playbook, as written: the code block that starts with ``# golden_ami_policy.yml``."""
    with open(guide, encoding="utf-8") as handle:
        for _number, _kind, body, _before in code_blocks(handle.read()):
            if body.startswith(f"# {SAFETY_PLAYBOOK}\n"):
                return body + "\n"
    raise SystemExit(f"{guide} has no code block that starts with '# {SAFETY_PLAYBOOK}'")


def run_job(pdd, root, collections_root, playbook, ident):
    command = [tool("ansible-runner"), "run", pdd, "-p", playbook, "--ident", ident]
    return subprocess.run(
        command,
        env=runner_environment(root, collections_root),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def endpoint_envvars(url):
    """The job's env/envvars: the credentials AWX injects, and the local endpoint for every service it serves."""
    return dict(CREDENTIALS, **endpoint_environment(url))


def refused(safety):
    """The counts of the summary that the guide's assert refuses the change on, those that are not 0."""
    found = {}
    for path in REFUSED:
        value = safety
        for key in path:
            value = value[key]
        if value:
            found[".".join(path)] = value
    return found


def check_safety_job(pdd, ident, apply_change, writes):
    """A list of failures of one run of the guide's playbook, and what it showed."""
    artifacts = os.path.join(pdd, "artifacts", ident)
    status = open(os.path.join(artifacts, "status"), encoding="utf-8").read().strip()
    events = load_events(artifacts)
    results = task_results(events)
    previews = [res for task, res in results.items() if task and task.startswith("Preview the policy")]
    if len(previews) != 1 or "safety" not in previews[0]:
        return [f"{ident}: no runner_on_ok event of the preview holds a safety summary"], None
    preview = previews[0]
    safety = preview["safety"]
    reached = [
        child
        for resource in preview["lifecycle_policy_preview"]["resources"]
        for child in resource.get("child_resources") or []
    ]
    failures = []
    if not reached or any("in_use" not in child for child in reached):
        failures.append(f"{ident}: the preview reached no AMI, or an AMI without in_use: {reached!r}")
    failed_tasks = [e["event_data"].get("task") for e in events if e.get("event") == "runner_on_failed"]
    blocking = refused(safety)
    if blocking:
        if status != "failed" or not failed_tasks or not failed_tasks[0].startswith("Refuse unless nothing in use"):
            failures.append(
                f"{ident}: {blocking} must fail the job at the assert; status {status}, failed {failed_tasks}"
            )
        if writes:
            failures.append(f"{ident}: a refused change was written: {[w['operation'] for w in writes]}")
    elif status != "successful":
        failures.append(f"{ident}: nothing refused, yet the job is {status} (failed tasks {failed_tasks})")
    elif apply_change and not writes:
        failures.append(f"{ident}: nothing refused, yet the policy change was not applied")
    if not apply_change and writes:
        failures.append(f"{ident}: the preview job wrote: {[w['operation'] for w in writes]}")
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    artifact = (stats[-1]["event_data"].get("artifact_data") or {}) if stats else {}
    if not apply_change and (
        artifact.get("approved_safety") != safety or artifact.get("approved_summary") != preview["summary"]
    ):
        failures.append(f"{ident}: the job's artifacts {artifact!r} are not the preview's summary and safety")
    return failures, {"status": status, "refused": blocking, "amis": len(reached), "artifacts": artifact}


def run_safety_jobs(root, collections_root, guide):
    """The guide's playbook as the AWX workflow's preview job, then as its apply job, which gets the preview job's
    artifacts as extra variables, as AWX gives them to the next node: a list of failures."""
    failures = []
    playbook = guide_playbook(guide)
    for change, rules in SAFETY_CHANGES.items():
        # Each change on a fresh endpoint: one applied must not decide what the next one previews.
        with local_endpoint("demo") as endpoint:
            failures += safety_workflow(root, collections_root, playbook, endpoint, change, rules)
    return failures


def safety_workflow(root, collections_root, playbook, endpoint, change, rules):
    """One change through the workflow's two jobs: the preview job, then the apply job with its artifacts."""
    failures = []
    artifacts = {}
    for ident, apply_change in ((f"awx-preview-job-{change}", False), (f"awx-apply-job-{change}", True)):
        extravars = dict(rules, apply_change=apply_change, **artifacts)
        pdd = private_data_dir(root, collections_root, extravars, endpoint_envvars(endpoint.url), name=ident)
        write(os.path.join(pdd, "project", SAFETY_PLAYBOOK), playbook)
        before = len(endpoint.requests())
        job = run_job(pdd, root, collections_root, SAFETY_PLAYBOOK, ident)
        calls = endpoint.requests()[before:]
        writes = [call for call in calls if call["operation"] in POLICY_WRITES]
        found, shown = check_safety_job(pdd, ident, apply_change, writes)
        produced = (shown or {}).pop("artifacts", {})
        artifacts = artifacts or produced
        if change == "deprecate" and apply_change and not writes:
            found.append(f"{ident}: a change that only deprecates was not applied")
        print(f"{ident}: {shown}; {len(calls)} calls to the endpoint")
        failures += found
        with open(os.path.join(pdd, "artifacts", ident, "stdout"), encoding="utf-8") as handle:
            output = handle.read()
        failures += [f"{ident}: {name} appears in its output" for name, v in CREDENTIALS.items() if v in output]
        if found and not any("appears in" in f for f in failures):
            print(job.stdout[-4000:])
    if change == "deprecate" and artifacts:
        failures += changed_since_approval(root, collections_root, playbook, endpoint, rules, artifacts)
    return failures


def changed_since_approval(root, collections_root, playbook, endpoint, rules, artifacts):
    """The apply job of an approval whose summary is not the fresh preview's must fail at that assert."""
    ident = "awx-apply-job-changed"
    approved = dict(artifacts, approved_summary=dict(artifacts["approved_summary"], deprecate=0))
    pdd = private_data_dir(root, collections_root, dict(rules, **approved), endpoint_envvars(endpoint.url), name=ident)
    write(os.path.join(pdd, "project", SAFETY_PLAYBOOK), playbook)
    run_job(pdd, root, collections_root, SAFETY_PLAYBOOK, ident)
    events = load_events(os.path.join(pdd, "artifacts", ident))
    failed = [e["event_data"].get("task") for e in events if e.get("event") == "runner_on_failed"]
    print(f"{ident}: failed at {failed}")
    if not failed or not failed[0].startswith("Refuse a change that is not the one approved"):
        return [f"{ident}: an approval of another summary did not stop the change (failed tasks {failed})"]
    return []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections-root", required=True, help="directory holding ansible_collections/")
    parser.add_argument(
        "--scenario", default="demo", help="a scenario of tests/local_endpoint/scenarios (default demo)"
    )
    parser.add_argument("--guide", default=SAFETY_GUIDE, help="docs/docsite/rst/is_it_safe.rst")
    args = parser.parse_args(argv)
    # A step timeout sends SIGTERM: still stop the endpoint and delete the secrets-bearing directory.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    collections_root = os.path.abspath(args.collections_root)

    root = tempfile.mkdtemp(prefix="ibops-awx-job-")
    try:
        with local_endpoint(args.scenario) as endpoint:
            extravars = {
                "imagebuilder_endpoint_url": endpoint.url,
                "finished_execution_id": FINISHED_ID,
                "running_execution_id": RUNNING_ID,
                "lifecycle_policy_arn": POLICY_ARN,
            }
            pdd = private_data_dir(root, collections_root, extravars, CREDENTIALS)
            started = time.monotonic()
            job = run_job(pdd, root, collections_root, PLAYBOOK, IDENT)
            calls = endpoint.requests()
        print(f"ansible-runner exited {job.returncode} after {time.monotonic() - started:.1f} s")
        failures = [] if job.returncode == 0 else [f"ansible-runner exited {job.returncode}"]
        failures += check_job(pdd, job.stdout + job.stderr, CREDENTIALS, calls)
        failures += run_safety_jobs(root, collections_root, args.guide)
        if failures:
            # The job's own output helps, but only once we know it holds no credential.
            if not any("appears in" in f for f in failures):
                print(job.stdout[-6000:])
            for failure in failures:
                print(f"FAILED: {failure}")
            return 1
        print(
            "job successful; its events hold the executions; no credential in its stdout or events; the guide's"
            " playbook applied the policy change only when its safety summary refused nothing"
        )
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
