"""Fault and load drills: the installed collection through real `ansible` and `ansible-playbook`.

    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.tests.drills.run \
        --leg core219 --collections-path .build/core219/installed [--only NAME ...] [--workers N]

Each fault drill is one row of FAULT_DRILLS: it starts a local endpoint of its own (tests/local_endpoint, in this
process) with its fault rules, runs the info module once with `ansible localhost -m`, and checks the outcome (the
right execution, or a failure whose `msg` says what went wrong: no traceback, no MODULE FAILURE), the endpoint's
request log, that no fake secret shows in the output, and the bound on the time it took. The load drill runs 24 waits
at once through `ansible-playbook`. Drills run concurrently in a small thread pool, because the retry backoff is real
time. Exit status 0 when every drill passes, 1 otherwise, 2 when the collections are not installed or a name is unknown.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ansible_collections.imagebuilder_ops.aws.tests.support.commands import adhoc
from ansible_collections.imagebuilder_ops.aws.tests.support.commands import run
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import check_installed
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SECRETS
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import REGION
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import execution_id
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import policy_arn

INFO = "imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info"
EXECUTION = execution_id("0d0d0d0d", 1)
GET = {"lifecycle_execution_id": EXECUTION}
WITH_RESOURCES = dict(GET, include_resources=True)
THROTTLED = "CallRateLimitExceededException"
# The listing drill holds exactly 100 pages of the page size the module asks for.
LISTING_PAGES = 100
LISTED = policy_arn("hundred-pages")
# Seconds a run of `ansible` may take beyond the sleeps a drill forces, on a busy two-core machine.
SLACK = 30.0
# Seconds the 100-page listing may take on a busy two-core machine, faults aside.
LISTING_BUDGET = 60.0
# The module's retry policy: 12 attempts, full jitter over 0.5, 1, 2, 4, then 8 s at most per sleep.
BACKOFF_CAPS = [min(0.5 * 2**n, 8.0) for n in range(11)]
# Keeps botocore's own attempts short where a drill makes every attempt fail.
SHORT_AWS_CONFIG = {"read_timeout": 2, "connect_timeout": 2, "retries": {"max_attempts": 2}}
# Outcomes a drill may expect.
SUCCESS = "success"
FAILURE = "clear failure"
EITHER = "success or clear failure"
# In an expected list of statuses: a call whose status does not matter (a hung call may still be in flight).
ANY_STATUS = "any"


def worst_backoff(sleeps):
    """The longest the module's retry policy can sleep over its first ``sleeps`` retries."""
    return sum(BACKOFF_CAPS[:sleeps])


def fault(kind, count=1, operation="GetLifecycleExecution", **rule):
    """An endpoint fault rule: ``count`` calls of ``operation`` (None: every call) get ``kind``."""
    return dict(rule, operation=operation, fault=kind, count=count)


def error(code, count=1, operation="GetLifecycleExecution", **rule):
    return fault("error", count, operation, code=code, **rule)


class Failed(AssertionError):
    """A drill's check failed; the message says which and what was seen."""


def check(condition, message):
    if not condition:
        raise Failed(message)


def basic_scenario():
    execution = {
        "lifecycleExecutionId": EXECUTION,
        "lifecyclePolicyArn": policy_arn("drills"),
        "status": "SUCCESS",
        "generate_resources": 3,
    }
    return {"executions": [execution]}


def listing_scenario():
    policy = {"arn": LISTED, "generate_executions": LISTING_PAGES * PAGE_SIZE, "generate_id_prefix": "0a0a0a0a"}
    return dict(basic_scenario(), policies=[policy])


def check_listing(answer, endpoint):
    """Every execution once, newest first, in full pages; each refused page asked for again with the same token."""
    ids = [e["lifecycle_execution_id"] for e in answer.get("lifecycle_executions", [])]
    expected = [execution_id("0a0a0a0a", n) for n in range(1, LISTING_PAGES * PAGE_SIZE + 1)]
    check(len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicates")
    check(set(ids) == set(expected), f"{len(set(expected) - set(ids))} missing, {len(set(ids) - set(expected))} extra")
    check(ids == expected, "not newest first")
    calls = endpoint.requests("ListLifecycleExecutions")
    answered = [c for c in calls if c["status"] == 200]
    check(len(answered) == LISTING_PAGES, f"{len(answered)} pages answered, expected {LISTING_PAGES}")
    check(all(c["params"].get("maxResults") == PAGE_SIZE for c in calls), f"a page asked for other than {PAGE_SIZE}")
    for refused, retry in zip(calls, calls[1:]):
        if refused["status"] != 200:
            check(retry["params"] == refused["params"], f"call {retry['seq']} did not repeat the refused page")
    return f"{len(ids)} executions in {len(answered)} pages, {len(calls) - len(answered)} refused calls repeated"


@dataclasses.dataclass(frozen=True)
class FaultDrill:
    """One fault drill: what the endpoint does wrong, what the module is asked, what must come of it, how fast."""

    name: str
    faults: tuple  # the endpoint's fault rules
    expect: str  # SUCCESS, FAILURE or EITHER
    bound: float  # seconds the run may take: the sleeps the faults can force, plus SLACK
    args: dict = dataclasses.field(default_factory=lambda: GET)  # the module's, but for endpoint_url and region
    words: tuple = ()  # a failure's msg says one of these
    statuses: tuple | None = None  # the HTTP status of each GetLifecycleExecution call, in order
    status: str | None = "SUCCESS"  # on success, the execution's status (None: the answer is a listing)
    resources: int | None = None  # on success, how many resources the answer holds
    aws_config: dict | None = None
    unreachable: bool = False  # the module is pointed at a port nothing listens on, not at the endpoint
    scenario: Callable[[], dict] = basic_scenario
    more_checks: Callable | None = None  # (answer, endpoint) -> detail, for what the fields above cannot say


# Longest first, so that the pool's tail is short.
FAULT_DRILLS = (
    FaultDrill(
        "throttle_8x429",
        faults=(error(THROTTLED, 8),),
        expect=SUCCESS,
        statuses=(429,) * 8 + (200,),
        bound=worst_backoff(8) + SLACK,
    ),
    FaultDrill(
        "throttle_mid_listing",
        faults=(
            error(THROTTLED, 3, "ListLifecycleExecutions", skip=40),
            error(THROTTLED, 2, "ListLifecycleExecutions", skip=70),
            error("ServiceUnavailableException", 1, "ListLifecycleExecutions", skip=90),
        ),
        args={"lifecycle_policy_arn": LISTED},
        expect=SUCCESS,
        status=None,
        scenario=listing_scenario,
        more_checks=check_listing,
        # Two throttle bursts (3 and 2 in a row), a 503 that botocore retries itself, then 10,000 items to carry.
        bound=worst_backoff(3) + worst_backoff(2) + 2 + LISTING_BUDGET,
    ),
    FaultDrill(
        "read_timeout_always",
        faults=(fault("delay", None, seconds=8),),
        aws_config=SHORT_AWS_CONFIG,
        expect=FAILURE,
        words=("timeout", "timed out"),
        bound=2 * 2 + 1 + SLACK,
    ),
    FaultDrill(
        "errors_500_503",
        faults=(error("ServiceException", 3), error("ServiceUnavailableException", 3, skip=3)),
        args=WITH_RESOURCES,
        expect=SUCCESS,
        statuses=(500,) * 3 + (503,) * 3 + (200,),
        resources=3,
        # botocore's standard mode retries 5xx itself (up to 3 attempts, sleeps < 1 + 2 s) inside each of ours.
        bound=worst_backoff(6) + 6 + SLACK,
    ),
    FaultDrill(
        "read_timeout_once",
        faults=(fault("delay", seconds=6),),
        aws_config=SHORT_AWS_CONFIG,
        expect=SUCCESS,
        statuses=(ANY_STATUS, 200),
        bound=2 + 1 + SLACK,
    ),
    FaultDrill(
        "dropped_always",
        faults=(fault("drop", None),),
        aws_config=SHORT_AWS_CONFIG,
        expect=FAILURE,
        words=("connection", "closed", "endpoint"),
        bound=2 + SLACK,
    ),
    FaultDrill("dropped_once", faults=(fault("drop"),), expect=SUCCESS, statuses=(None, 200), bound=2 + SLACK),
    FaultDrill("truncated_once", faults=(fault("truncate"),), expect=EITHER, bound=2 + SLACK),
    FaultDrill(
        "truncated_always",
        faults=(fault("truncate", None),),
        aws_config=SHORT_AWS_CONFIG,
        expect=FAILURE,
        bound=2 + SLACK,
    ),
    # A 200 whose body is an HTML page: never a crash, and never a bad page taken for the last one.
    FaultDrill("non_json_body", faults=(fault("garbage"),), expect=EITHER, bound=2 + SLACK),
    FaultDrill(
        "non_json_listing",
        faults=(fault("garbage", operation="ListLifecycleExecutionResources"),),
        args=WITH_RESOURCES,
        expect=EITHER,
        resources=3,
        bound=2 + SLACK,
    ),
    # botocore's standard mode: 3 attempts, sleeping less than 1 + 2 s between them.
    FaultDrill(
        "unreachable",
        faults=(),
        unreachable=True,
        expect=FAILURE,
        words=("connect", "endpoint"),
        bound=3 + SLACK,
    ),
)


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_output(result, timeout):
    check(not result.timed_out, f"did not end within {timeout:.0f} s")
    output = result.stdout + result.stderr
    check(not any(secret in output for secret in FAKE_SECRETS), "a fake secret appeared in the output")


def clear_failure(result, answer, words):
    """Failed, with a msg that says what went wrong in words (one of ``words``), not with a traceback."""
    msg = answer.get("msg")
    check(result.rc != 0, f"expected a failure, got rc {result.rc}: {answer}")
    check(isinstance(msg, str) and msg.strip(), f"failure without a msg: {answer}")
    check("Traceback" not in msg and "MODULE FAILURE" not in msg, f"unclear failure: {msg!r}")
    check("module_stderr" not in answer, f"the module crashed: {answer.get('module_stderr', '')[-600:]}")
    check(not words or any(w.lower() in msg.lower() for w in words), f"msg does not mention {words}: {msg!r}")
    return "clear failure: " + msg


def success(result, answer, status, resources):
    check(result.rc == 0, f"expected success, got rc {result.rc}: {answer.get('msg')!r}")
    execution = answer.get("lifecycle_execution", {})
    got = execution.get("state", {}).get("status")
    check(status is None or got == status, f"expected status {status}, got {got!r}")
    if resources is not None:
        count = len(execution.get("resources", []))
        check(count == resources, f"{count} resources instead of {resources}: a bad page was taken for the last one")
    return "correct result"


def outcome(drill, result, answer):
    if drill.expect == SUCCESS or (drill.expect == EITHER and result.rc == 0):
        return success(result, answer, drill.status, drill.resources)
    return clear_failure(result, answer, drill.words)


def statuses_match(expected, seen):
    return len(expected) == len(seen) and all(want in (ANY_STATUS, got) for want, got in zip(expected, seen))


def run_fault_drill(drill, collections_path, workdir):
    """Run one row of FAULT_DRILLS: (seconds taken, bound, detail)."""
    with local_endpoint(dict(drill.scenario(), faults=list(drill.faults))) as endpoint:
        url = f"http://127.0.0.1:{closed_port()}" if drill.unreachable else endpoint.url
        args = dict(drill.args, endpoint_url=url, region=REGION)
        if drill.aws_config is not None:
            args["aws_config"] = drill.aws_config
        result, answer = adhoc(collections_path, workdir, INFO, args, timeout=180)
        check_output(result, 180)
        check(answer is not None, f"no module result in the output: {result.stdout[-800:]} {result.stderr[-800:]}")
        detail = outcome(drill, result, answer)
        seen = [c["status"] for c in endpoint.requests("GetLifecycleExecution")]
        if drill.statuses is not None:
            check(statuses_match(drill.statuses, seen), f"GetLifecycleExecution statuses {seen}")
            detail = "calls: " + ", ".join(f"{len(list(run))} x {status}" for status, run in itertools.groupby(seen))
        if drill.more_checks is not None:
            detail = drill.more_checks(answer, endpoint)
    return result.wall, drill.bound, detail[:100]


# -- load drill --------------------------------------------------------------------------------------------------

LOAD_HOSTS = 24
LOAD_TERMINALS = ("SUCCESS", "FAILED", "CANCELLED")


def load_scenario():
    executions = []
    for n in range(1, LOAD_HOSTS + 1):
        terminal = LOAD_TERMINALS[n % 3]
        timeline = [["PENDING", 1], ["IN_PROGRESS", 2 + n % 4], [terminal, None]]
        spec = {"lifecycleExecutionId": execution_id("10ad10ad", n), "timeline_seconds": timeline}
        if terminal == "FAILED":
            spec["reason"] = "Drill: failed on purpose"
        executions.append(spec)
    # A quarter of all gets throttled, from a seeded sequence: waits must ride through it.
    return {"executions": executions, "faults": [error(THROTTLED, None, probability=0.25, seed=24)]}


def load_drill(collections_path, workdir):
    """24 hosts, 24 forks, each waiting (wait_sleep 1) on its own execution while a quarter of calls are throttled."""
    hosts = {
        f"h{n:02d}": {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "execution_id": execution_id("10ad10ad", n),
            "expected_status": LOAD_TERMINALS[n % 3],
        }
        for n in range(1, LOAD_HOSTS + 1)
    }
    inventory = workdir / "hosts.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    tree = workdir / "tree"
    env = isolated_env(
        collections_path,
        workdir,
        {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree", "ANSIBLE_CALLBACK_TREE_DIR": str(tree)},
    )
    with local_endpoint(load_scenario()) as endpoint:
        task = {
            "name": "Wait for this host's lifecycle execution",
            INFO: {
                "lifecycle_execution_id": "{{ execution_id }}",
                "wait": True,
                "wait_sleep": 1,
                "wait_timeout": 120,
                "endpoint_url": endpoint.url,
                "region": REGION,
            },
            "failed_when": "ib.lifecycle_execution.state.status != expected_status",
            "register": "ib",
        }
        playbook = workdir / "load.yml"
        playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [task]}]))
        cmd = [tool("ansible-playbook"), "-i", str(inventory), "-f", str(LOAD_HOSTS), str(playbook)]
        result = run(cmd, env, timeout=300)
        calls = endpoint.requests("GetLifecycleExecution")
    check_output(result, 300)
    check(result.rc == 0, f"playbook rc {result.rc}: {result.stdout[-1500:]}")
    for host, hostvars in hosts.items():
        answer = json.loads((tree / host).read_text())
        got = answer.get("lifecycle_execution", {}).get("state", {}).get("status")
        check(got == hostvars["expected_status"], f"{host}: status {got!r}, expected {hostvars['expected_status']}")
    throttled = sum(1 for c in calls if c["status"] == 429)
    check(throttled > 0, "no call was throttled: the drill did not drill")
    check(all(c["status"] in (200, 429) for c in calls), f"unexpected statuses {set(c['status'] for c in calls)}")
    # No host may poll again once it has seen its terminal status: its last answered call is its only terminal one.
    for n in range(1, LOAD_HOSTS + 1):
        mine = [c for c in calls if c["params"]["lifecycleExecutionId"] == execution_id("10ad10ad", n)]
        answered = [c["time"] for c in mine if c["status"] == 200]
        # The timeline starts at the first answered call (a throttled one never reaches the execution).
        terminal_at = answered[0] + 1 + 2 + n % 4
        late = sum(1 for t in answered if t >= terminal_at)
        check(late == 1, f"h{n:02d}: {late} answered calls at or after the terminal status")
    # Timelines end within 7 s of the first poll; the rest is starting 24 module processes beside the other drills.
    return result.wall, 90.0, f"{LOAD_HOSTS} waits ended as scripted; {len(calls)} calls, {throttled} throttled"


# -- runner ------------------------------------------------------------------------------------------------------

# name -> (collections_path, workdir) -> (seconds taken, bound, detail). The two long poles first: the throttling
# storm mostly sleeps through its backoff, which leaves the cores to the load drill's 24 processes.
DRILLS = {drill.name: functools.partial(run_fault_drill, drill) for drill in FAULT_DRILLS}
DRILLS = {"throttle_8x429": DRILLS.pop("throttle_8x429"), "load_24_forks": load_drill, **DRILLS}


def run_drill(name, collections_path, workdir):
    started = time.monotonic()
    workdir = Path(workdir) / name
    workdir.mkdir(parents=True)
    try:
        took, bound, detail = DRILLS[name](collections_path, workdir)
        check(took <= bound, f"took {took:.1f} s, over its bound of {bound:.0f} s")
        return name, True, time.monotonic() - started, bound, detail
    except Failed as exc:
        return name, False, time.monotonic() - started, None, str(exc)
    except Exception:  # pylint: disable=broad-exception-caught
        return name, False, time.monotonic() - started, None, "drill error:\n" + traceback.format_exc()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leg", default="local", help="compatibility leg name, for the summary")
    parser.add_argument("--collections-path", type=Path, required=True, help="holds ansible_collections/")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"run only these: {list(DRILLS)}")
    parser.add_argument("--workers", type=int, default=4, help="drills run at once (default 4)")
    args = parser.parse_args(argv)
    problem = check_installed(args.collections_path)
    if problem:
        print(f"drills: {problem}", file=sys.stderr)
        return 2
    unknown = set(args.only or ()) - set(DRILLS)
    if unknown:
        print(f"drills: unknown drill(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    selected = [name for name in DRILLS if not args.only or name in args.only]

    started = time.monotonic()
    print(f"drills: leg {args.leg}: {len(selected)} drills, {args.workers} at a time", flush=True)
    outcomes = []

    def report(result):
        outcomes.append(result)
        name, ok, took, bound, detail = result
        limit = f"<= {bound:.0f} s" if bound else ""
        print(f"  {'PASS' if ok else 'FAIL'}  {name:22} {took:6.1f} s {limit:9} {detail}", flush=True)

    with tempfile.TemporaryDirectory(prefix="ib-drills-") as workdir:
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            for future in [pool.submit(run_drill, name, args.collections_path, workdir) for name in selected]:
                report(future.result())
    failed = [o for o in outcomes if not o[1]]
    print(
        f"drills: leg {args.leg}: {len(outcomes) - len(failed)} passed, {len(failed)} failed "
        f"in {time.monotonic() - started:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
