"""Fault, load and bad-input drills: the installed collection through real `ansible` and `ansible-playbook`.

    python tests/drills/run.py --leg core221 --collections-path .build/core221/installed [--only NAME ...]

Each drill starts its own local endpoint (tests/local_endpoint, in this process), injects its faults, runs the
module and checks three things: the outcome (a correct result, or a failure whose `msg` is clear: no
traceback, no MODULE FAILURE), the bound on the time it took, and what the endpoint's request log says
happened. Independent drills run concurrently in a small thread pool, because the retry backoff is real time.
Exit status 0 when every drill passes, 1 otherwise, 2 when the collections are not installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import botocore.session
import harness

# The module asks for the largest page the installed model allows (100 in current botocore): the listing drill
# holds exactly 100 pages of it.
LISTING_PAGES = 100
PAGE = (
    botocore.session.get_session()
    .get_service_model("imagebuilder")
    .operation_model("ListLifecycleExecutions")
    .input_shape.members["maxResults"]
    .metadata["max"]
)
# Seconds a run of `ansible` may take beyond the sleeps a drill forces, on a busy two-core machine.
SLACK = 30.0
# Seconds the 100-page listing may take on a busy two-core machine, faults aside (about 10 s when idle).
LISTING_BUDGET = 60.0
# The module's retry policy: 12 attempts, full jitter over 0.5, 1, 2, 4, then 8 s at most per sleep.
BACKOFF_CAPS = [min(0.5 * 2**n, 8.0) for n in range(11)]
# Keeps botocore's own attempts short where a drill makes every attempt fail.
SHORT_AWS_CONFIG = {"read_timeout": 2, "connect_timeout": 2, "retries": {"max_attempts": 2}}


def worst_backoff(sleeps):
    """The longest the module's retry policy can sleep over its first ``sleeps`` retries."""
    return sum(BACKOFF_CAPS[:sleeps])


class Failed(AssertionError):
    """A drill's check failed; the message says which and what was seen."""


def check(condition, message):
    if not condition:
        raise Failed(message)


class Drill:
    """Context of one drill: its endpoint, its working directory and the commands it runs."""

    def __init__(self, name, collections_path, workdir, scenario=None):
        self.name = name
        self.collections_path = collections_path
        self.workdir = Path(workdir) / name
        self.workdir.mkdir(parents=True)
        self.endpoint = harness.start_endpoint(scenario or basic_scenario())
        self.detail = ""

    def stop(self):
        self.endpoint.stop()

    def faults(self, *rules):
        self.endpoint.add_faults(list(rules))

    def info(self, module_args, aws_config=None, endpoint_url=None, timeout=180):
        args = dict(module_args, endpoint_url=endpoint_url or self.endpoint.url, region=harness.REGION)
        if aws_config is not None:
            args["aws_config"] = aws_config
        result, answer = harness.adhoc(self.collections_path, self.workdir, harness.INFO, args, timeout=timeout)
        check(not result.timed_out, f"ansible did not end within {timeout:.0f} s")
        secret = harness.FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        check(secret not in result.stdout + result.stderr, "the secret key appeared in the output")
        check(answer is not None, f"no module result in the output: {result.stdout[-800:]} {result.stderr[-800:]}")
        return result, answer

    def calls(self, operation=None):
        return self.endpoint.requests(operation)


def basic_scenario():
    return {
        "executions": [
            {
                "lifecycleExecutionId": EXECUTION,
                "lifecyclePolicyArn": harness.policy_arn("drills"),
                "status": "SUCCESS",
                "generate_resources": 3,
            }
        ]
    }


EXECUTION = harness.execution_id("0d0d0d0d", 1)


def expect_success(result, answer, status="SUCCESS"):
    check(result.rc == 0, f"expected success, got rc {result.rc}: {answer.get('msg')!r}")
    got = answer.get("lifecycle_execution", {}).get("state", {}).get("status")
    check(got == status, f"expected status {status}, got {got!r}")


def expect_clear_failure(result, answer, *words):
    """Failed, with a msg that says what went wrong in words (one of ``words``), not with a traceback."""
    msg = answer.get("msg")
    check(result.rc != 0, f"expected a failure, got rc {result.rc}: {answer}")
    check(isinstance(msg, str) and msg.strip(), f"failure without a msg: {answer}")
    check("Traceback" not in msg and "MODULE FAILURE" not in msg, f"unclear failure: {msg!r}")
    check("module_stderr" not in answer, f"the module crashed: {answer.get('module_stderr', '')[-600:]}")
    check(not words or any(w.lower() in msg.lower() for w in words), f"msg does not mention {words}: {msg!r}")
    return msg


def expect_correct_or_clear(result, answer):
    """Either the right execution or a clear failure: the one thing not allowed is a crash or a wrong answer."""
    if result.rc == 0:
        expect_success(result, answer)
        return "correct result"
    return "clear failure: " + expect_clear_failure(result, answer)


def statuses(entries):
    return [e["status"] for e in entries]


# -- fault drills ------------------------------------------------------------------------------------------------


def drill_throttle_8(d):
    """8 consecutive 429 CallRateLimitExceededException on a get: retried through, the 9th call answers."""
    d.faults(
        {"operation": "GetLifecycleExecution", "fault": "error", "code": "CallRateLimitExceededException", "count": 8}
    )
    result, answer = d.info({"lifecycle_execution_id": EXECUTION})
    expect_success(result, answer)
    seen = statuses(d.calls("GetLifecycleExecution"))
    check(seen == [429] * 8 + [200], f"calls: {seen}")
    d.detail = "9 calls: 8 x 429, then 200"
    return result.wall, worst_backoff(8) + SLACK


def drill_errors_5xx(d):
    """Bursts of 500 ServiceException and 503 ServiceUnavailableException: botocore and our policy retry them."""
    d.faults(
        {"operation": "GetLifecycleExecution", "fault": "error", "code": "ServiceException", "count": 3},
        {
            "operation": "GetLifecycleExecution",
            "fault": "error",
            "code": "ServiceUnavailableException",
            "skip": 3,
            "count": 3,
        },
    )
    result, answer = d.info({"lifecycle_execution_id": EXECUTION, "include_resources": True})
    expect_success(result, answer)
    check(len(answer["lifecycle_execution"].get("resources", [])) == 3, "resources missing after the burst")
    seen = statuses(d.calls("GetLifecycleExecution"))
    check(seen == [500] * 3 + [503] * 3 + [200], f"calls: {seen}")
    d.detail = "7 calls: 3 x 500, 3 x 503, then 200"
    # botocore's standard mode retries 5xx itself (up to 3 attempts, sleeps < 1 + 2 s) inside each of ours.
    return result.wall, worst_backoff(6) + 6 + SLACK


def listing_scenario():
    policy = {"arn": harness.policy_arn("hundred-pages"), "generate_executions": LISTING_PAGES * PAGE}
    return dict(basic_scenario(), policies=[dict(policy, generate_id_prefix="0a0a0a0a")])


def drill_throttle_mid_listing(d):
    """Throttling (and a 503) in the middle of a 100-page listing: every execution once, newest first."""
    throttle = {"operation": "ListLifecycleExecutions", "fault": "error", "code": "CallRateLimitExceededException"}
    d.faults(
        dict(throttle, skip=40, count=3),
        dict(throttle, skip=70, count=2),
        {"operation": "ListLifecycleExecutions", "fault": "error", "code": "ServiceUnavailableException", "skip": 90},
    )
    result, answer = d.info({"lifecycle_policy_arn": harness.policy_arn("hundred-pages")})
    check(result.rc == 0, f"listing failed: {answer.get('msg')!r}")
    ids = [e["lifecycle_execution_id"] for e in answer.get("lifecycle_executions", [])]
    expected = [harness.execution_id("0a0a0a0a", n) for n in range(1, LISTING_PAGES * PAGE + 1)]
    check(len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicates")
    check(set(ids) == set(expected), f"{len(set(expected) - set(ids))} missing, {len(set(ids) - set(expected))} extra")
    check(ids == expected, "not newest first")
    calls = d.calls("ListLifecycleExecutions")
    answered = [c for c in calls if c["status"] == 200]
    check(len(answered) == LISTING_PAGES, f"{len(answered)} pages answered, expected {LISTING_PAGES}")
    check(all(c["params"].get("maxResults") == PAGE for c in calls), f"a page asked for other than {PAGE} items")
    for failed, retry in zip(calls, calls[1:]):
        if failed["status"] != 200:
            check(retry["params"] == failed["params"], f"call {retry['seq']} did not repeat the refused page")
    d.detail = f"{len(ids)} executions in {len(answered)} pages, {len(calls) - len(answered)} refused calls repeated"
    # Two throttle bursts (3 and 2 in a row), a 503 that botocore retries itself, then 10,000 items to carry.
    return result.wall, worst_backoff(3) + worst_backoff(2) + 2 + LISTING_BUDGET


def drill_read_timeout_once(d):
    """One read hangs past read_timeout (2 s): botocore gives up on it and its retry gets the answer."""
    d.faults({"operation": "GetLifecycleExecution", "fault": "delay", "seconds": 6, "count": 1})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION}, aws_config=SHORT_AWS_CONFIG)
    expect_success(result, answer)
    check(len(d.calls("GetLifecycleExecution")) == 2, "expected the hung call and one retry")
    d.detail = "hung call abandoned after 2 s, retry answered"
    return result.wall, 2 + 1 + SLACK


def drill_read_timeout_always(d):
    """Every read hangs: a clear timeout failure after botocore's 2 attempts of 2 s."""
    d.faults({"operation": "GetLifecycleExecution", "fault": "delay", "seconds": 8, "count": None})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION}, aws_config=SHORT_AWS_CONFIG)
    msg = expect_clear_failure(result, answer, "timeout", "timed out")
    d.detail = f"msg: {msg[:90]}"
    return result.wall, 2 * 2 + 1 + SLACK


def drill_dropped_once(d):
    """The connection is dropped once without an answer: retried, correct result."""
    d.faults({"operation": "GetLifecycleExecution", "fault": "drop", "count": 1})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION})
    expect_success(result, answer)
    check(len(d.calls("GetLifecycleExecution")) == 2, "expected the dropped call and one retry")
    d.detail = "dropped call retried"
    return result.wall, 2 + SLACK


def drill_dropped_always(d):
    """Every connection is dropped: a clear failure once botocore's attempts are spent."""
    d.faults({"operation": "GetLifecycleExecution", "fault": "drop", "count": None})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION}, aws_config=SHORT_AWS_CONFIG)
    msg = expect_clear_failure(result, answer, "connection", "closed", "endpoint")
    d.detail = f"msg: {msg[:90]}"
    return result.wall, 2 + SLACK


def drill_truncated_once(d):
    """A body cut short of its Content-Length once: a correct result or a clear failure."""
    d.faults({"operation": "GetLifecycleExecution", "fault": "truncate", "count": 1})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION})
    d.detail = expect_correct_or_clear(result, answer)[:100]
    return result.wall, 2 + SLACK


def drill_truncated_always(d):
    """Every body is cut short: a clear failure."""
    d.faults({"operation": "GetLifecycleExecution", "fault": "truncate", "count": None})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION}, aws_config=SHORT_AWS_CONFIG)
    msg = expect_clear_failure(result, answer)
    d.detail = f"msg: {msg[:90]}"
    return result.wall, 2 + SLACK


def drill_non_json(d):
    """A 200 answer whose body is an HTML page, not JSON: a correct result or a clear failure, never a crash."""
    d.faults({"operation": "GetLifecycleExecution", "fault": "garbage", "count": 1})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION})
    d.detail = expect_correct_or_clear(result, answer)[:100]
    return result.wall, 2 + SLACK


def drill_non_json_list(d):
    """A listing page whose body is not JSON: never taken for an empty last page (3 resources or a clear failure)."""
    d.faults({"operation": "ListLifecycleExecutionResources", "fault": "garbage", "count": 1})
    result, answer = d.info({"lifecycle_execution_id": EXECUTION, "include_resources": True})
    outcome = expect_correct_or_clear(result, answer)
    if result.rc == 0:
        got = len(answer["lifecycle_execution"].get("resources", []))
        check(got == 3, f"{got} resources instead of 3: a bad page was taken for the last one")
    d.detail = outcome[:100]
    return result.wall, 2 + SLACK


def drill_unreachable(d):
    """Nothing listens on the endpoint's port: a clear connection failure, botocore's default attempts."""
    url = f"http://127.0.0.1:{harness.closed_port()}"
    result, answer = d.info({"lifecycle_execution_id": EXECUTION}, endpoint_url=url)
    msg = expect_clear_failure(result, answer, "connect", "endpoint")
    d.detail = f"msg: {msg[:90]}"
    # botocore's standard mode: 3 attempts, sleeping less than 1 + 2 s between them.
    return result.wall, 3 + SLACK


# -- load drill --------------------------------------------------------------------------------------------------

LOAD_HOSTS = 24
LOAD_TERMINALS = ("SUCCESS", "FAILED", "CANCELLED")


def load_scenario():
    executions = []
    for n in range(1, LOAD_HOSTS + 1):
        terminal = LOAD_TERMINALS[n % 3]
        timeline = [["PENDING", 1], ["IN_PROGRESS", 2 + n % 4], [terminal, None]]
        spec = {"lifecycleExecutionId": harness.execution_id("10ad10ad", n), "timeline_seconds": timeline}
        if terminal == "FAILED":
            spec["reason"] = "Drill: failed on purpose"
        executions.append(spec)
    # A quarter of all gets throttled, from a seeded sequence: waits must ride through it.
    throttle = {"operation": "GetLifecycleExecution", "fault": "error", "code": "CallRateLimitExceededException"}
    return {"executions": executions, "faults": [dict(throttle, probability=0.25, seed=24, count=None)]}


def drill_load(d):
    """24 hosts, 24 forks, each waiting (wait_sleep 1) on its own execution while a quarter of calls are throttled."""
    hosts = {
        f"h{n:02d}": {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "execution_id": harness.execution_id("10ad10ad", n),
            "expected_status": LOAD_TERMINALS[n % 3],
        }
        for n in range(1, LOAD_HOSTS + 1)
    }
    inventory = d.workdir / "hosts.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    task = {
        "name": "Wait for this host's lifecycle execution",
        harness.INFO: {
            "lifecycle_execution_id": "{{ execution_id }}",
            "wait": True,
            "wait_sleep": 1,
            "wait_timeout": 120,
            "endpoint_url": d.endpoint.url,
            "region": harness.REGION,
        },
        "failed_when": "ib.lifecycle_execution.state.status != expected_status",
        "register": "ib",
    }
    playbook = d.workdir / "load.yml"
    playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [task]}]))
    tree = d.workdir / "tree"
    env = harness.ansible_env(
        d.collections_path,
        d.workdir,
        {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree", "ANSIBLE_CALLBACK_TREE_DIR": str(tree)},
    )
    cmd = [harness.tool("ansible-playbook"), "-i", str(inventory), "-f", str(LOAD_HOSTS), str(playbook)]
    result = harness.run(cmd, env, timeout=300)
    check(result.rc == 0, f"playbook rc {result.rc}: {result.stdout[-1500:]}")
    for host, hostvars in hosts.items():
        answer = json.loads((tree / host).read_text())
        got = answer.get("lifecycle_execution", {}).get("state", {}).get("status")
        check(got == hostvars["expected_status"], f"{host}: status {got!r}, expected {hostvars['expected_status']}")
    calls = d.calls("GetLifecycleExecution")
    throttled = sum(1 for c in calls if c["status"] == 429)
    check(throttled > 0, "no call was throttled: the drill did not drill")
    check(all(c["status"] in (200, 429) for c in calls), f"unexpected statuses {set(statuses(calls))}")
    # No host may poll again once it has seen its terminal status: its last answered call is its only terminal one.
    for n in range(1, LOAD_HOSTS + 1):
        mine = [c for c in calls if c["params"]["lifecycleExecutionId"] == harness.execution_id("10ad10ad", n)]
        answered = [c["time"] for c in mine if c["status"] == 200]
        # The timeline starts at the first answered call (a throttled one never reaches the execution).
        terminal_at = answered[0] + 1 + 2 + n % 4
        late = sum(1 for t in answered if t >= terminal_at)
        check(late == 1, f"h{n:02d}: {late} answered calls at or after the terminal status")
    d.detail = f"{LOAD_HOSTS} waits ended as scripted; {len(calls)} calls, {throttled} throttled"
    # Timelines end within 7 s of the first poll; the rest is starting 24 module processes on this machine.
    return result.wall, 90.0


# -- bad input ---------------------------------------------------------------------------------------------------

GOOD_POLICY = harness.policy_arn("drills")
GOOD_IMAGE = harness.image_arn("drills")
A = harness.ACTION
I = harness.INFO  # noqa: E741

# (module, arguments, the option the refusal's msg must name[, what ansible-core says instead where it cannot])
STARTED = {"state": "started", "image_arn": GOOD_IMAGE, "resource_state": "disabled"}
CANCELLED = {"state": "cancelled", "lifecycle_execution_id": EXECUTION}
WAITING = {"lifecycle_execution_id": EXECUTION, "wait": True}
BAD_INPUT = [
    # malformed ids and ARNs
    (I, {"lifecycle_execution_id": "lce-123"}, "lifecycle_execution_id"),
    (I, {"lifecycle_execution_id": EXECUTION + "\n"}, "lifecycle_execution_id"),
    (I, {"lifecycle_policy_arn": GOOD_POLICY.replace("lifecycle-policy", "image-pipeline")}, "lifecycle_policy_arn"),
    (I, {"image_arn": GOOD_IMAGE.rsplit("/", 1)[0]}, "image_arn"),
    (A, dict(STARTED, image_arn=GOOD_POLICY), "image_arn"),
    (A, dict(CANCELLED, lifecycle_execution_id="lce-nope"), "lifecycle_execution_id"),
    (A, dict(STARTED, execution_role="no such role!"), "execution_role"),
    # empty strings
    (I, {"lifecycle_execution_id": ""}, "lifecycle_execution_id"),
    (I, {"lifecycle_policy_arn": ""}, "lifecycle_policy_arn"),
    (
        I,
        {"lifecycle_execution_id": EXECUTION, "include_resources": True, "parent_resource_id": ""},
        "parent_resource_id",
    ),
    (A, dict(CANCELLED, lifecycle_execution_id=""), "lifecycle_execution_id"),
    (A, dict(CANCELLED, client_token=""), "client_token"),
    # wrong types
    (I, {"lifecycle_execution_id": [EXECUTION]}, "lifecycle_execution_id"),
    (I, dict(WAITING, wait="sometimes"), "wait"),
    (I, dict(WAITING, wait_timeout="ten"), "wait_timeout"),
    (A, dict(STARTED, exclusion_rules={"last_launched": {"value": "x", "unit": "days"}}), "value"),
    # ansible-core (2.19 to 2.21) crashes in its no_log scan on a string given for a dict option with suboptions
    # (parameters._list_no_log_values calls check_type_dict unguarded), before the module's own code runs: the msg
    # is core's and cannot name the option. Still refused, still no request.
    (A, dict(STARTED, include_resources="all of them"), "include_resources", "dictionary requested"),
    # zero and negative numbers
    (I, dict(WAITING, wait_timeout=0), "wait_timeout"),
    (I, dict(WAITING, wait_timeout=-5), "wait_timeout"),
    (I, dict(WAITING, wait_sleep=0), "wait_sleep"),
    (A, dict(STARTED, exclusion_rules={"last_launched": {"value": 0, "unit": "days"}}), "last_launched"),
    (A, dict(STARTED, exclusion_rules={"last_launched": {"value": -3, "unit": "days"}}), "last_launched"),
    (A, dict(CANCELLED, wait=True, wait_sleep=-1), "wait_sleep"),
    # options used without the option (or the state) they need
    (I, {"lifecycle_policy_arn": GOOD_POLICY, "include_resources": True}, "include_resources"),
    (I, {"image_arn": GOOD_IMAGE, "wait": True}, "wait"),
    (I, {"lifecycle_execution_id": EXECUTION, "parent_resource_id": "ami-0123456789abcdef0"}, "parent_resource_id"),
    (I, {"lifecycle_execution_id": EXECUTION, "lifecycle_policy_arn": GOOD_POLICY}, "lifecycle_policy_arn"),
    (A, {"state": "started", "resource_state": "deprecated"}, "image_arn"),
    (A, {"state": "cancelled"}, "lifecycle_execution_id"),
    (A, dict(CANCELLED, image_arn=GOOD_IMAGE), "image_arn"),
    (A, dict(STARTED, update_at="2030-01-01T00:00:00Z"), "update_at"),
    (A, {}, "state"),
    (A, dict(CANCELLED, state="stopped"), "state"),
    # unknown options
    (I, {"lifecycle_execution_id": EXECUTION, "max_results": 5}, "max_results"),
    (I, {"lifecycle_execution_ids": EXECUTION}, "lifecycle_execution_id"),
    (A, dict(CANCELLED, force=True), "force"),
]
CORE_LIMITS = sum(1 for case in BAD_INPUT if len(case) > 3)
BAD_INPUT_HOSTS = 3


def drill_bad_input(d):
    """Each bad input is refused with a msg naming the option, and the endpoint sees no request at all."""
    hosts = {
        f"b{n}": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        for n in range(BAD_INPUT_HOSTS)
    }
    inventory = d.workdir / "hosts.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    tasks = []
    for number, (module, args, *_option) in enumerate(BAD_INPUT):
        tasks.append(
            {
                "name": f"bad input {number}",
                module: dict(args, endpoint_url=d.endpoint.url, region=harness.REGION),
                "when": f"inventory_hostname == 'b{number % BAD_INPUT_HOSTS}'",
                "register": f"bad_{number}",
                "ignore_errors": True,
            }
        )
    results = d.workdir / "results"
    results.mkdir()
    collected = "{" + ", ".join(f"'{n}': bad_{n}" for n in range(len(BAD_INPUT))) + "}"
    tasks.append(
        {
            "name": "Keep the results",
            "ansible.builtin.copy": {
                "content": "{{ " + collected + " | to_json }}",
                "dest": str(results) + "/{{ inventory_hostname }}.json",
                "mode": "0600",
            },
        }
    )
    playbook = d.workdir / "bad_input.yml"
    # The free strategy lets each host run its share of the table without waiting for the others at every task.
    play = {"hosts": "all", "gather_facts": False, "strategy": "ansible.builtin.free", "tasks": tasks}
    playbook.write_text(json.dumps([play]))
    # Pipelining: one process per module run instead of four shell commands around a copied file.
    env = harness.ansible_env(d.collections_path, d.workdir, {"ANSIBLE_PIPELINING": "true"})
    cmd = [harness.tool("ansible-playbook"), "-i", str(inventory), "-f", str(BAD_INPUT_HOSTS), str(playbook)]
    result = harness.run(cmd, env, timeout=300)
    check(result.rc == 0, f"playbook rc {result.rc}: {result.stdout[-1500:]}")
    problems = []
    for number, (module, args, option, *core_words) in enumerate(BAD_INPUT):
        host = f"b{number % BAD_INPUT_HOSTS}"
        answer = json.loads((results / f"{host}.json").read_text())[str(number)]
        msg = answer.get("msg") or ""
        where = f"#{number} {module.rsplit('.', 1)[1]} {json.dumps(args)[:70]}"
        named = option in msg or (core_words and core_words[0] in msg)
        if not answer.get("failed"):
            problems.append(f"{where}: accepted")
        elif not named:
            problems.append(f"{where}: msg does not name {option}: {msg[:160]!r}")
        elif "Traceback" in msg or "MODULE FAILURE" in msg or "*****" in msg:
            problems.append(f"{where}: unclear msg {msg[:160]!r}")
    calls = d.calls()
    if calls:
        seen = [f"{c['operation']}({json.dumps(c['params'])[:90]})" for c in calls]
        problems.append(f"{len(calls)} request(s) reached the endpoint: {seen[:4]}")
    check(not problems, "; ".join(problems[:8]) + (f" (+{len(problems) - 8} more)" if len(problems) > 8 else ""))
    d.detail = f"{len(BAD_INPUT)} inputs refused, naming the option ({CORE_LIMITS} core limit); 0 requests"
    # About 1.5 s of CPU per refusal (a module process that imports boto3 before it can check anything).
    return result.wall, 4.0 * len(BAD_INPUT)


# -- runner ------------------------------------------------------------------------------------------------------

# Longest first, so that the pool's tail is short.
DRILLS = [
    ("bad_input", drill_bad_input, None),
    ("load_24_forks", drill_load, load_scenario),
    ("throttle_8x429", drill_throttle_8, None),
    ("throttle_mid_listing", drill_throttle_mid_listing, listing_scenario),
    ("errors_500_503", drill_errors_5xx, None),
    ("read_timeout_once", drill_read_timeout_once, None),
    ("read_timeout_always", drill_read_timeout_always, None),
    ("dropped_once", drill_dropped_once, None),
    ("dropped_always", drill_dropped_always, None),
    ("truncated_once", drill_truncated_once, None),
    ("truncated_always", drill_truncated_always, None),
    ("non_json_body", drill_non_json, None),
    ("non_json_listing", drill_non_json_list, None),
    ("unreachable", drill_unreachable, None),
]


def run_drill(name, function, scenario, collections_path, workdir):
    started = time.monotonic()
    drill = None
    try:
        drill = Drill(name, collections_path, workdir, scenario() if scenario else None)
        took, bound = function(drill)
        check(took <= bound, f"took {took:.1f} s, over its bound of {bound:.0f} s")
        return name, True, time.monotonic() - started, bound, drill.detail
    except Failed as exc:
        return name, False, time.monotonic() - started, None, str(exc)
    except Exception:  # pylint: disable=broad-exception-caught
        return name, False, time.monotonic() - started, None, "drill error:\n" + traceback.format_exc()
    finally:
        if drill is not None:
            drill.stop()


ALONE = {"load_24_forks"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leg", default="local", help="compatibility leg name, for the summary")
    parser.add_argument("--collections-path", type=Path, required=True, help="holds ansible_collections/")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"run only these: {[n for n, _f, _s in DRILLS]}")
    parser.add_argument("--workers", type=int, default=4, help="drills run at once (default 4)")
    args = parser.parse_args(argv)
    problem = harness.check_installed(args.collections_path)
    if problem:
        print(f"drills: {problem}", file=sys.stderr)
        return 2
    selected = [d for d in DRILLS if not args.only or d[0] in args.only]
    unknown = set(args.only or ()) - {d[0] for d in DRILLS}
    if unknown:
        print(f"drills: unknown drill(s) {sorted(unknown)}", file=sys.stderr)
        return 2

    started = time.monotonic()
    print(f"drills: leg {args.leg}: {len(selected)} drills, {args.workers} at a time", flush=True)
    outcomes = []

    def report(outcome):
        outcomes.append(outcome)
        name, ok, took, bound, detail = outcome
        limit = f"<= {bound:.0f} s" if bound else ""
        print(f"  {'PASS' if ok else 'FAIL'}  {name:22} {took:6.1f} s {limit:9} {detail}", flush=True)

    with tempfile.TemporaryDirectory(prefix="ib-drills-") as workdir:
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            shared = [d for d in selected if d[0] not in ALONE]
            for future in [pool.submit(run_drill, *drill, args.collections_path, workdir) for drill in shared]:
                report(future.result())
        # The load drill brings its own 24 processes: beside other drills, its time would measure them too.
        for drill in (d for d in selected if d[0] in ALONE):
            report(run_drill(*drill, args.collections_path, workdir))
    failed = [o for o in outcomes if not o[1]]
    print(
        f"drills: leg {args.leg}: {len(outcomes) - len(failed)} passed, {len(failed)} failed "
        f"in {time.monotonic() - started:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
