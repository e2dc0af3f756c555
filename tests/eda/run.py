"""End-to-end test of the lifecycle_executions event source: the guide's rulebook in the real ansible-rulebook.

    PYTHONPATH=.build/tarball .venv/eda/bin/python -m ansible_collections.imagebuilder_ops.aws.tests.eda.run \
        --collections-path .build/core219/installed

Takes the rulebook and the playbook it runs from docs/docsite/rst/event_source.rst, as written, and runs them with
ansible-rulebook (from the running interpreter's venv: .venv/eda) against the local endpoint, in this process, on
loopback. The scenario: history that was already terminal when the source started, under the watched lifecycle policy
and image; then, once the source's first round is done, one policy execution goes PENDING -> IN_PROGRESS -> FAILED
and one execution of the image -> SUCCESS, while the endpoint throttles and then denies listings between rounds. The
rule must fire once for each (the debug action's line on stdout, with the right data), the playbook must run once
for the failure, nothing may fire for the history, and no fake secret may show. Bounded in time; stops by itself.
Exit status 0 when it passes, 1 when it fails, 2 when the collections are not installed.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import boto3
import yaml
from botocore.config import Config

from ansible_collections.imagebuilder_ops.aws.tests.release.extract_examples import rst_code_blocks
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import check_installed
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_ACCESS_KEY
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SECRET_KEY
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SECRETS
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import REGION

COLLECTION = Path(__file__).resolve().parents[2]
GUIDE = COLLECTION / "docs" / "docsite" / "rst" / "event_source.rst"
POLICY = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"
IMAGE = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/1"
FAILS = "lce-00000000-0000-4000-8000-000000000201"
SUCCEEDS = "lce-00000000-0000-4000-8000-000000000202"
HISTORY = ("lce-00000000-0000-4000-8000-000000000197", "lce-00000000-0000-4000-8000-000000000198")
HISTORY += ("lce-00000000-0000-4000-8000-000000000199",)
REASON = "AMI ami-0123456789abcdef0 is in use by a launch template"
# Whole run, ansible-rulebook's start (a JVM) included; and how long to watch for a repeated event after the last one.
DEADLINE = 50
QUIET_ROUNDS = 4

SCENARIO = {
    "description": "tests/eda: the event source's end-to-end test",
    "policies": [{"arn": POLICY}],
    "images": [{"arn": IMAGE}],
    "executions": [
        # History: terminal before the source starts.
        {
            "lifecycleExecutionId": HISTORY[0],
            "lifecyclePolicyArn": POLICY,
            "images": [IMAGE],
            "startTime": "2024-06-01T02:00:00Z",
            "endTime": "2024-06-01T02:10:00Z",
            "status": "FAILED",
            "reason": "an old failure",
        },
        {
            "lifecycleExecutionId": HISTORY[1],
            "lifecyclePolicyArn": POLICY,
            "images": [IMAGE],
            "startTime": "2024-06-02T02:00:00Z",
            "endTime": "2024-06-02T02:10:00Z",
            "status": "SUCCESS",
        },
        {
            "lifecycleExecutionId": HISTORY[2],
            "images": [IMAGE],
            "startTime": "2024-06-02T03:00:00Z",
            "endTime": "2024-06-02T03:10:00Z",
            "status": "SUCCESS",
        },
        # After the start: their clocks run from the first GetLifecycleExecution, which this test makes.
        {
            "lifecycleExecutionId": FAILS,
            "lifecyclePolicyArn": POLICY,
            "images": [IMAGE],
            "startTime": "2024-06-03T02:00:00Z",
            "timeline_seconds": [["PENDING", 1.0], ["IN_PROGRESS", 2.0], ["FAILED", None]],
            "reason": REASON,
        },
        {
            "lifecycleExecutionId": SUCCEEDS,
            "images": [IMAGE],
            "startTime": "2024-06-03T03:00:00Z",
            "timeline_seconds": [["PENDING", 0.5], ["IN_PROGRESS", 2.5], ["SUCCESS", None]],
        },
    ],
}
# Between rounds: a throttled listing retried within a round, then a denied one that fails a round.
FAULTS = [
    {"operation": "ListLifecycleExecutions", "fault": "error", "code": "CallRateLimitExceededException", "count": 3},
    {"operation": "ListLifecycleExecutions", "fault": "error", "code": "AccessDeniedException", "status": 403},
]


def guide_blocks():
    """The YAML code blocks of the guide, parsed, with their text: as the release checks' example lint reads them."""
    for dummy, where, text in rst_code_blocks(str(COLLECTION)):
        if where.startswith(f"{GUIDE.relative_to(COLLECTION)}:"):
            yield yaml.safe_load(text), text


def rulebook_and_playbook():
    rulebook = playbook = inventory = None
    for data, text in guide_blocks():
        if isinstance(data, dict) and "all" in data:
            inventory = text
        elif isinstance(data, list) and data and "sources" in data[0]:
            rulebook = (data, text)
        elif isinstance(data, list) and data and "tasks" in data[0]:
            playbook = text
    if rulebook is None or playbook is None or inventory is None:
        raise SystemExit(f"{GUIDE}: no rulebook, playbook or inventory block found")
    names = [a["run_playbook"]["name"] for r in rulebook[0][0]["rules"] for a in r["actions"] if "run_playbook" in a]
    return rulebook[1], names[0], playbook, inventory


def wait_for(condition, deadline, what):
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections-path", required=True)
    args = parser.parse_args()
    problem = check_installed(args.collections_path)
    if problem:
        print(problem)
        return 2

    started = time.monotonic()
    deadline = started + DEADLINE
    rulebook, playbook_name, playbook, inventory = rulebook_and_playbook()
    with tempfile.TemporaryDirectory(prefix="ibops-eda-") as work, local_endpoint(SCENARIO) as ep:
        work = Path(work)
        (work / "lifecycle_executions.yml").write_text(rulebook, encoding="utf-8")
        (work / playbook_name).write_text(playbook, encoding="utf-8")
        (work / "inventory.yml").write_text(inventory, encoding="utf-8")
        (work / "vars.yml").write_text("---\npoll_interval: 1\n", encoding="utf-8")
        # The rulebook names no endpoint: boto3 takes it from AWS_ENDPOINT_URL_IMAGEBUILDER, as it would the real one's.
        env = isolated_env(args.collections_path, work, {"AWS_ENDPOINT_URL_IMAGEBUILDER": ep.url})
        command = [tool("ansible-rulebook"), "--rulebook", "lifecycle_executions.yml", "--inventory", "inventory.yml"]
        command += ["--vars", "vars.yml", "--print-events", "-v"]
        output = work / "ansible-rulebook.out"
        with open(output, "w", encoding="utf-8") as out:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            result = drive(ep, process, output, deadline)
        except AssertionError as e:
            result = {"error": str(e)}
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        text = output.read_text(encoding="utf-8", errors="replace")
    failures = check(text, result)
    print(f"ansible-rulebook output ({len(text.splitlines())} lines):")
    print(textwrap.indent(text, "  | "))
    print(f"tests/eda: {len(failures)} problem(s) in {time.monotonic() - started:.1f} s")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


def drive(ep, process, output, deadline):
    """Start the executions once the source has recorded its history, inject the faults, and wait for the events."""
    requests = {}

    def listed_both():
        if process.poll() is not None:
            raise AssertionError(f"ansible-rulebook exited early ({process.returncode})")
        arns = {r["params"].get("resourceArn") for r in ep.requests(operation="ListLifecycleExecutions")}
        return {POLICY, IMAGE} <= arns

    wait_for(listed_both, deadline, "the source's first round")
    requests["first_round_done"] = len(ep.requests(operation="ListLifecycleExecutions"))
    ep.add_faults(FAULTS)
    client = boto3.client(
        "imagebuilder",
        endpoint_url=ep.url,
        region_name=REGION,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )
    for execution_id in (FAILS, SUCCEEDS):
        client.get_lifecycle_execution(lifecycleExecutionId=execution_id)

    def both_fired():
        if process.poll() is not None:
            raise AssertionError(f"ansible-rulebook exited early ({process.returncode})")
        text = output.read_text(encoding="utf-8", errors="replace")
        return f"FAILED {FAILS}" in text and f"SUCCESS {SUCCEEDS}" in text and "failed: " + REASON in text

    wait_for(both_fired, deadline, "both rules to fire and the playbook to run")
    # A few more rounds, in which nothing may fire again.
    rounds = len(ep.requests(operation="ListLifecycleExecutions"))
    wait_for(
        lambda: len(ep.requests(operation="ListLifecycleExecutions")) >= rounds + 2 * QUIET_ROUNDS,
        deadline,
        f"{QUIET_ROUNDS} more rounds",
    )
    requests["all"] = ep.requests(operation="ListLifecycleExecutions")
    requests["faults"] = [r for r in requests["all"] if r["fault"]]
    requests["exited"] = process.poll()
    return requests


def check(text, result):
    if "error" in result:
        return [result["error"]]
    failures = []
    for needle, count in (
        (f"FAILED {FAILS} of {POLICY}: {REASON}", 1),
        (f"SUCCESS {SUCCEEDS} of {IMAGE}", 1),
        ("Lifecycle execution " + FAILS + " failed: " + REASON, 1),
    ):
        seen = len(re.findall(re.escape(needle), " ".join(text.split())))
        if seen != count:
            failures.append(f"{needle!r} shown {seen} times, expected {count}")
    for execution_id in HISTORY:
        if execution_id in text:
            failures.append(f"history {execution_id} fired")
    for secret in FAKE_SECRETS:
        if secret in text:
            failures.append("a fake secret shows in ansible-rulebook's output")
    codes = sorted({r["error"] for r in result["faults"]})
    if codes != ["AccessDeniedException", "CallRateLimitExceededException"]:
        failures.append(f"the faults were not all met: {codes}")
    if "Round failed for" not in text:
        failures.append("the failed round was not logged")
    if result["exited"] is not None:
        failures.append(f"ansible-rulebook stopped by itself ({result['exited']})")
    if any(r["params"].get("maxResults") is None for r in result["all"]):
        failures.append("a listing did not ask for the largest page")
    return failures


if __name__ == "__main__":
    sys.exit(main())
