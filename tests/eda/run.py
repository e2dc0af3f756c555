"""End-to-end test of the lifecycle_executions event source: the guide's rulebook in the real ansible-rulebook, in
every layout users install it in.

    PYTHONPATH=.build/tarball .venv/eda/bin/python -m ansible_collections.imagebuilder_ops.aws.tests.eda.run \
        --collections-path .build/core219/installed --tarball dist/imagebuilder_ops-aws-X.Y.Z.tar.gz \
        --ansible-venv .venv/eda-ansible

Takes the rulebook and the playbook it runs from docs/docsite/rst/event_source.rst, as written, and runs them with
ansible-rulebook against the local endpoint, in this process, on loopback, once per layout (LAYOUTS): ansible-core
with amazon.aws installed separately (.venv/eda, the running interpreter's venv), the ansible package (--ansible-venv,
amazon.aws in its site-packages) with the collection installed by ansible-galaxy into ANSIBLE_COLLECTIONS_PATH or
into ~/.ansible/collections with no variable set, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false, and ansible-rulebook
started from another directory. The scenario: history that was already terminal when the source started, under the
watched lifecycle policy and image; then, once the source's first round is done, one policy execution goes
PENDING -> IN_PROGRESS -> FAILED and one execution of the image -> SUCCESS. The rule must fire once for each (the
debug action's line on stdout, with the right data), the playbook must run once for the failure, nothing may fire
for the history, and no fake secret may show; in the first layout the endpoint also throttles and then denies
listings between rounds, and a few quiet rounds follow. A layout in which amazon.aws cannot be found must stop
ansible-rulebook with the source's one line naming it and where it was looked for, and no import frames. Each layout
is bounded in time and stops by itself.

Then, in every layout that delivers events, the guide's restart rulebook (every lifecycle policy, no ARNs, ``since``)
against an endpoint of its own: an execution that ended before the start but within ``since`` fires, one that ended
long before does not; a policy created mid-run is watched (its run fires); ansible-rulebook is killed (SIGKILL, as a
crash); while it is down two executions end and the new policy runs again; started again, it must fire every one of
them, exactly once in that run, in the order they ended (the repeats of what fired before the crash included), and
the playbook, keyed by the execution id, must open one ticket per failed execution across both runs and keep one
record each. Exit status 0 when all pass, 1 when one fails, 2 when the collections are not installed.
"""

import argparse
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import yaml
from botocore.config import Config

from ansible_collections.imagebuilder_ops.aws.tests.release.extract_examples import rst_code_blocks
from ansible_collections.imagebuilder_ops.aws.tests.support.commands import stop_group
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import check_installed
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
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
HISTORY = tuple(f"lce-00000000-0000-4000-8000-000000000{n}" for n in (197, 198, 199))
REASON = "AMI ami-0123456789abcdef0 is in use by a launch template"
# Whole run, ansible-rulebook's start (a JVM) included; and how long to watch for a repeated event after the last one.
DEADLINE = 50
QUIET_ROUNDS = 4


def execution(execution_id, policy=POLICY, **spec):
    """An execution on IMAGE: of ``policy``, or (None) one StartResourceStateUpdate started for the image alone."""
    return {
        "lifecycleExecutionId": execution_id,
        "images": [IMAGE],
        **({"lifecyclePolicyArn": policy} if policy else {}),
        **spec,
    }


SCENARIO = {
    "description": "tests/eda: the event source's end-to-end test",
    "policies": [{"arn": POLICY}],
    "images": [{"arn": IMAGE}],
    "executions": [
        # History: terminal before the source starts.
        execution(
            HISTORY[0],
            startTime="2024-06-01T02:00:00Z",
            endTime="2024-06-01T02:10:00Z",
            status="FAILED",
            reason="an old failure",
        ),
        execution(HISTORY[1], startTime="2024-06-02T02:00:00Z", endTime="2024-06-02T02:10:00Z", status="SUCCESS"),
        execution(HISTORY[2], None, startTime="2024-06-02T03:00:00Z", endTime="2024-06-02T03:10:00Z", status="SUCCESS"),
        # After the start: their clocks run from the first GetLifecycleExecution, which this test makes.
        execution(
            FAILS,
            startTime="2024-06-03T02:00:00Z",
            timeline_seconds=[["PENDING", 1.0], ["IN_PROGRESS", 2.0], ["FAILED", None]],
            reason=REASON,
        ),
        execution(
            SUCCEEDS,
            None,
            startTime="2024-06-03T03:00:00Z",
            timeline_seconds=[["PENDING", 0.5], ["IN_PROGRESS", 2.5], ["SUCCESS", None]],
        ),
    ],
}
# Between rounds: a throttled listing retried within a round, then a denied one that fails a round.
FAULTS = [
    {"operation": "ListLifecycleExecutions", "fault": "error", "code": "CallRateLimitExceededException", "count": 3},
    {"operation": "ListLifecycleExecutions", "fault": "error", "code": "AccessDeniedException", "status": 403},
]


# The restart scenario: every lifecycle policy, watched with since, across a crash.
NEW_POLICY = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/nightly-sweep"
RESTART_IDS = {n: f"lce-00000000-0000-4000-8000-000000000{n}" for n in (301, 302, 303, 304, 305)}
OLD, RECENT, DURING, DOWN_OK, DOWN_FAILED = (RESTART_IDS[n] for n in (301, 302, 303, 304, 305))
DOWN_REASON = "AMI ami-0fedcba9876543210 is shared with another account"
# Each of the restart's two runs, ansible-rulebook's start included.
RESTART_DEADLINE = 60
RESTART_VARS = {"poll_interval": 1, "catch_up": "1h"}
POLICY_DEFINITION = {
    "executionRole": "ImageBuilderLifecycleRole",
    "resourceType": "AMI_IMAGE",
    "policyDetails": [{"action": {"type": "DELETE"}, "filter": {"type": "COUNT", "value": 10}}],
    "resourceSelection": {"recipes": [{"name": "golden-ami", "semanticVersion": "1.x.x"}]},
}


def restart_scenario(now):
    """One policy with history (one execution ended long ago, one ten minutes before the start), one execution that
    ends during the first run, two that end while the source is down; and policy_runs for the policy created
    mid-run."""

    def iso(epoch):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))

    return {
        "description": "tests/eda: the event source across a restart, watching every policy",
        "policies": [{"arn": POLICY, "name": "golden-ami-cleanup", **POLICY_DEFINITION}],
        "images": [{"arn": IMAGE}],
        "policy_runs": {"nightly-sweep": {"resources": []}},
        "executions": [
            execution(OLD, startTime="2024-06-01T02:00:00Z", endTime="2024-06-01T02:10:00Z", status="FAILED"),
            execution(
                RECENT, startTime=iso(now - 900), endTime=iso(now - 600), status="FAILED", reason="an AMI in use"
            ),
            # Their clocks run from the first GetLifecycleExecution, which this test makes.
            execution(DURING, startTime=iso(now - 60), timeline_seconds=[["IN_PROGRESS", 0.5], ["SUCCESS", None]]),
            execution(DOWN_OK, startTime=iso(now - 50), timeline_seconds=[["IN_PROGRESS", 0.3], ["SUCCESS", None]]),
            execution(
                DOWN_FAILED,
                startTime=iso(now - 40),
                timeline_seconds=[["IN_PROGRESS", 0.3], ["FAILED", None]],
                reason=DOWN_REASON,
            ),
        ],
    }


def guide_blocks():
    """The YAML code blocks of the guide, parsed, with their text: as the release checks' example lint reads them."""
    for dummy, where, text in rst_code_blocks(str(COLLECTION)):
        if where.startswith(f"{GUIDE.relative_to(COLLECTION)}:"):
            yield yaml.safe_load(text), text


@dataclass(frozen=True)
class Rulebook:
    """A rulebook of the guide, the playbook that follows it there (the one its run_playbook names), the inventory."""

    text: str
    playbook_name: str
    playbook: str
    inventory: str
    source_args: dict

    def for_layout(self, layout, project):
        # run_playbook looks for a playbook from the directory ansible-rulebook was started in: name it by path.
        if layout.elsewhere:
            return self.text.replace(f"name: {self.playbook_name}\n", f"name: {project / self.playbook_name}\n")
        return self.text


def guide_rulebooks():
    """The guide's rulebooks, as written: the one that names ARNs, and the one that watches every policy with since."""
    pairs, inventory, pending = [], None, None
    for data, text in guide_blocks():
        if isinstance(data, dict) and "all" in data:
            inventory = text
        elif isinstance(data, list) and data and "sources" in data[0]:
            pending = (data, text)
        elif isinstance(data, list) and data and "tasks" in data[0] and pending:
            pairs.append((pending, text))
            pending = None
    found = {}
    for (data, text), playbook in pairs:
        args = next(iter(data[0]["sources"][0].values()))
        names = [a["run_playbook"]["name"] for r in data[0]["rules"] for a in r["actions"] if "run_playbook" in a]
        kind = "restart" if "since" in args and "lifecycle_policy_arns" not in args else "arns"
        found[kind] = Rulebook(text, names[0], playbook, inventory, args)
    if set(found) != {"arns", "restart"} or inventory is None:
        raise SystemExit(
            f"{GUIDE}: expected two rulebooks (ARNs; every policy with since), each followed by its playbook"
        )
    return found


def wait_for(condition, deadline, what, process=None):
    """Until ``condition()``: AssertionError past ``deadline``, or once ``process`` (ansible-rulebook) has exited."""
    while True:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"ansible-rulebook exited early ({process.returncode})")
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Layout:
    """One way users install ansible-rulebook, Ansible and the collection, as the source meets it at start."""

    name: str
    # "core": .venv/eda, ansible-core with amazon.aws installed separately; "ansible": .venv/eda-ansible, the ansible
    # package (amazon.aws in its site-packages).
    venv: str
    # "installed": ANSIBLE_COLLECTIONS_PATH names --collections-path (this collection and amazon.aws beside it);
    # "galaxy": ansible-galaxy installs the tarball into a path ANSIBLE_COLLECTIONS_PATH names; "home": ansible-galaxy
    # installs it into the default path, ~/.ansible/collections, and no variable is set.
    collections: str
    # ANSIBLE_COLLECTIONS_SCAN_SYS_PATH; None leaves it unset (Ansible's default, true).
    scan_sys_path: str = None
    # Started from another directory than the rulebook's, which it names by absolute paths.
    elsewhere: bool = False
    # The whole scenario: history, a throttled and a denied round, quiet rounds after the events.
    full: bool = False
    # The one line the source must stop with instead of delivering events.
    error: str = None


LAYOUTS = (
    Layout("ansible-core and amazon.aws installed separately", "core", "installed", full=True),
    Layout("the ansible package, the collection in ANSIBLE_COLLECTIONS_PATH", "ansible", "galaxy"),
    Layout("the ansible package, the collection in ~/.ansible/collections, no variable set", "ansible", "home"),
    Layout("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false, both collections in the path", "ansible", "installed", "false"),
    Layout("started from another directory than the rulebook and the collection", "core", "installed", elsewhere=True),
    Layout(
        "amazon.aws hidden (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false, only this collection in the path)",
        "ansible",
        "galaxy",
        "false",
        error="cannot import the collection amazon.aws (no module ansible_collections.amazon); looked in {galaxy}",
    ),
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections-path", required=True, help="this collection and amazon.aws, installed")
    parser.add_argument("--tarball", required=True, help="the collection's tarball, which layouts install themselves")
    parser.add_argument("--ansible-venv", help="a venv with the ansible package and ansible-rulebook; else skipped")
    parser.add_argument("--layout", action="append", help="run only the layouts whose name holds this (repeatable)")
    args = parser.parse_args()
    problem = check_installed(args.collections_path) or (None if Path(args.tarball).is_file() else args.tarball)
    if problem:
        print(f"{problem}: missing (make install-legs)")
        return 2

    started = time.monotonic()
    venvs = {"core": Path(sys.executable).parent.parent}
    if args.ansible_venv:
        venvs["ansible"] = Path(args.ansible_venv).resolve()
    chosen = [layout for layout in LAYOUTS if not args.layout or any(part in layout.name for part in args.layout)]
    runnable = [layout for layout in chosen if layout.venv in venvs]
    skipped = [layout.name for layout in chosen if layout.venv not in venvs]
    rulebooks = guide_rulebooks()
    # Two at a time: each waits on its rounds far more than it computes, and a JVM starts in each.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda layout: run_layout(layout, venvs[layout.venv], rulebooks, args), runnable))
    failed = 0
    for layout, (failures, text, seconds) in zip(runnable, results):
        print(f"{'FAILED' if failures else 'ok'}: {layout.name} ({layout.venv} venv, {seconds:.1f} s)")
        for failure in failures:
            print(f"  FAILED: {failure}")
        if failures or layout.full:
            print(f"  ansible-rulebook output ({len(text.splitlines())} lines):")
            print(textwrap.indent(text, "  | "))
        failed += bool(failures)
    for name in skipped:
        print(f"!!! NOTE: SKIPPED-UNAVAILABLE: {name}: no --ansible-venv (it needs Python >= 3.12)")
    print(
        f"tests/eda: {len(runnable) - failed} of {len(runnable)} layouts passed in {time.monotonic() - started:.1f} s"
    )
    if skipped and os.environ.get("CI") == "true":
        print("!!! CI must run every layout: failing")
        return 1
    return 1 if failed else 0


def run_layout(layout, venv, rulebooks, args):
    """Lay the layout out in a directory of its own, run the rulebooks against endpoints of their own, check them."""
    rulebook = rulebooks["arns"]
    started = time.monotonic()
    deadline = started + DEADLINE
    with tempfile.TemporaryDirectory(prefix="ibops-eda-") as work, local_endpoint(SCENARIO) as ep:
        work = Path(work)
        project = work / "project"
        project.mkdir()
        write_project(project, layout, rulebook, {"poll_interval": 1})
        env = layout_env(layout, venv, work, args.collections_path, ep.url)
        try:
            install(layout, venv, work, env, args.tarball)
        except subprocess.CalledProcessError as e:
            return [f"ansible-galaxy collection install failed ({e.returncode})"], e.stdout + e.stderr, 0.0
        cwd = project
        if layout.elsewhere:
            cwd = work / "elsewhere"
            cwd.mkdir()
        output = work / "ansible-rulebook.out"
        process = launch(venv, project, cwd, env, layout, output)
        try:
            if layout.error:
                result = stopped(process, deadline)
            else:
                result = drive(ep, process, output, deadline, FAULTS if layout.full else [], layout.full)
        except AssertionError as e:
            result = {"error": str(e)}
        finally:
            stop_group(process)
        text = output.read_text(encoding="utf-8", errors="replace")
        if layout.error:
            failures = check_error(text, result, layout.error.format(galaxy=work / "collections"))
        else:
            failures = check(text, result, layout.full)
            restart_failures, restart_text = run_restart(layout, venv, work, env, cwd, rulebooks["restart"])
            failures += [f"restart: {failure}" for failure in restart_failures]
            text += restart_text
        return failures, text, time.monotonic() - started


def write_project(project, layout, rulebook, variables):
    project.mkdir(exist_ok=True)
    (project / "lifecycle_executions.yml").write_text(rulebook.for_layout(layout, project), encoding="utf-8")
    (project / rulebook.playbook_name).write_text(rulebook.playbook, encoding="utf-8")
    (project / "inventory.yml").write_text(rulebook.inventory, encoding="utf-8")
    (project / "vars.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")


def launch(venv, project, cwd, env, layout, output):
    """ansible-rulebook on the project's rulebook, its output to ``output``, in a session of its own."""
    command = [str(venv / "bin" / "ansible-rulebook")]
    for option, name in (("--rulebook", "lifecycle_executions.yml"), ("--inventory", "inventory.yml")):
        command += [option, str(project / name) if layout.elsewhere else name]
    command += ["--vars", str(project / "vars.yml") if layout.elsewhere else "vars.yml", "--print-events", "-v"]
    with open(output, "w", encoding="utf-8") as out:
        return subprocess.Popen(  # pylint: disable=consider-using-with
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def layout_env(layout, venv, work, collections_path, endpoint_url):
    """The isolated environment, then what the layout changes: its venv, its collections path, its home."""
    # The rulebook names no endpoint: boto3 takes it from AWS_ENDPOINT_URL_IMAGEBUILDER, as it would the real one's.
    extra = {"AWS_ENDPOINT_URL_IMAGEBUILDER": endpoint_url, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    extra["ANSIBLE_PYTHON_INTERPRETER"] = str(venv / "bin" / "python")
    if layout.collections == "galaxy":
        collections_path = work / "collections"
    env = isolated_env(collections_path, work, extra)
    env.pop("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH")
    if layout.scan_sys_path is not None:
        env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = layout.scan_sys_path
    if layout.collections == "home":
        # Nothing names a path: Ansible's default, ~/.ansible/collections, in a home of the layout's own.
        for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_HOME"):
            env.pop(name)
        env["HOME"] = str(work / "home")
    return env


def install(layout, venv, work, env, tarball):
    """Install the tarball the way users do, with the layout's ansible-galaxy: into its path or the default one."""
    if layout.collections == "installed":
        return
    command = [str(venv / "bin" / "ansible-galaxy"), "collection", "install", "--no-deps", str(Path(tarball).resolve())]
    if layout.collections == "galaxy":
        command += ["-p", str(work / "collections")]
    subprocess.run(command, cwd=work, env=env, check=True, capture_output=True, text=True)


def stopped(process, deadline):
    """Wait for ansible-rulebook to stop by itself, as it must when the source cannot start."""
    wait_for(lambda: process.poll() is not None, deadline, "ansible-rulebook to stop")
    return {"exited": process.returncode}


def check_error(text, result, expected):
    if "error" in result:
        return [result["error"]]
    failures = []
    if result["exited"] == 0:
        failures.append("ansible-rulebook exited 0")
    lines = [line for line in text.splitlines() if "CollectionLoadError: " in line]
    if not lines or expected not in lines[0]:
        failures.append(f"no line says {expected!r}")
    # ansible-rulebook lists the frames a source stopped in; the import system's must not be among them.
    if "Traceback" in text or "importlib" in text:
        failures.append("a traceback, or the import system's frames, shows")
    return failures


def drive(ep, process, output, deadline, faults, quiet):
    """Start the executions once the source has recorded its history, inject the faults, and wait for the events;
    then, when ``quiet``, watch a few more rounds."""
    requests = {}

    def listed_both():
        return {POLICY, IMAGE} <= {r["params"].get("resourceArn") for r in ep.requests("ListLifecycleExecutions")}

    wait_for(listed_both, deadline, "the source's first round", process)
    requests["first_round_done"] = len(ep.requests(operation="ListLifecycleExecutions"))
    if faults:
        ep.add_faults(faults)
    client = test_client(ep.url)
    for execution_id in (FAILS, SUCCEEDS):
        client.get_lifecycle_execution(lifecycleExecutionId=execution_id)

    needles = (f"FAILED {FAILS}", f"SUCCESS {SUCCEEDS}", "failed: " + REASON)
    wait_for(fired(output, *needles), deadline, "both rules to fire and the playbook to run", process)
    if quiet:
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


def check(text, result, full):
    """The events, each once, the playbook's line, no history and no secret; with ``full``, the faults met too."""
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
    codes = sorted({r["error"] for r in result["faults"]})
    if full and codes != ["AccessDeniedException", "CallRateLimitExceededException"]:
        failures.append(f"the faults were not all met: {codes}")
    if full and "Round failed for" not in text:
        failures.append("the failed round was not logged")
    if result["exited"] is not None:
        failures.append(f"ansible-rulebook stopped by itself ({result['exited']})")
    return failures + secrets_and_pages([text], result["all"])


def secrets_and_pages(texts, listings):
    """No fake secret in ansible-rulebook's output; every listing asked for the largest page."""
    failures = []
    if any(secret in text for secret in FAKE_SECRETS for text in texts):
        failures.append("a fake secret shows in ansible-rulebook's output")
    if any(r["params"].get("maxResults") is None for r in listings):
        failures.append("a listing did not ask for the largest page")
    return failures


def test_client(url):
    return boto3.client(
        "imagebuilder",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )


def run_restart(layout, venv, work, env, cwd, rulebook):
    """The restart rulebook: a first run, a crash, executions that end while it is down, a second run; checked."""
    project = work / "restart"
    records = work / "records"
    write_project(project, layout, rulebook, {**RESTART_VARS, "lifecycle_records_dir": str(records)})
    outputs = [work / "restart-1.out", work / "restart-2.out"]
    run_cwd = cwd if layout.elsewhere else project
    with local_endpoint(restart_scenario(time.time())) as ep:
        env = {**env, "AWS_ENDPOINT_URL_IMAGEBUILDER": ep.url}
        client = test_client(ep.url)
        result = {"new_runs": []}
        try:
            process = launch(venv, project, run_cwd, env, layout, outputs[0])
            try:
                first_run(ep, client, process, outputs[0], result)
            finally:
                stop_group(process, signal.SIGKILL)
            while_down(ep, client, result)
            process = launch(venv, project, run_cwd, env, layout, outputs[1])
            try:
                second_run(ep, process, outputs[1], result)
            finally:
                stop_group(process)
        except AssertionError as e:
            result["error"] = str(e)
        listed = {e["lifecycleExecutionId"]: e for arn in (POLICY, NEW_POLICY) for e in listing(client, arn)}
        result["end_times"] = {k: e["endTime"].timestamp() for k, e in listed.items() if "endTime" in e}
        result["requests"] = ep.requests()
    texts = [path.read_text(encoding="utf-8", errors="replace") if path.exists() else "" for path in outputs]
    failures = check_restart(texts, result, records)
    shown = "".join(f"\n--- restart, run {n} ---\n{text}" for n, text in enumerate(texts, 1))
    return failures, shown


def listing(client, arn):
    return client.list_lifecycle_executions(resourceArn=arn, maxResults=100)["lifecycleExecutions"]


def fired(output, *needles):
    """A condition: ansible-rulebook's output shows every needle."""
    return lambda: all(n in " ".join(output.read_text(encoding="utf-8", errors="replace").split()) for n in needles)


def first_run(ep, client, process, output, result):
    """Once the first round has listed the policy: end DURING, create a policy and run it; wait for the three events
    and the ticket for RECENT (which ended before the start, within since)."""
    deadline = time.monotonic() + RESTART_DEADLINE

    def listed(arn):
        return lambda: any(r["params"].get("resourceArn") == arn for r in ep.requests("ListLifecycleExecutions"))

    wait_for(listed(POLICY), deadline, "the first round", process)
    client.get_lifecycle_execution(lifecycleExecutionId=DURING)
    client.create_lifecycle_policy(name="nightly-sweep", clientToken="tests-eda-nightly-sweep", **POLICY_DEFINITION)
    result["new_runs"].append(ep.run_policy({"lifecyclePolicyArn": NEW_POLICY})["lifecycleExecutionId"])
    needles = (
        f"FAILED {RECENT} of {POLICY}",
        f"SUCCESS {DURING} of {POLICY}",
        f"SUCCESS {result['new_runs'][0]} of {NEW_POLICY}",
        f"Ticket opened for lifecycle execution {RECENT}",
    )
    wait_for(fired(output, *needles), deadline, "the first run's events and ticket", process)


def while_down(ep, client, result):
    """End two executions of the policy and run the new one again, each in a second of its own."""
    deadline = time.monotonic() + 10
    for execution_id, status in ((DOWN_OK, "SUCCESS"), (DOWN_FAILED, "FAILED")):
        client.get_lifecycle_execution(lifecycleExecutionId=execution_id)
        wait_for(
            lambda: client.get_lifecycle_execution(lifecycleExecutionId=execution_id)["lifecycleExecution"]["state"][
                "status"
            ]
            == status,
            deadline,
            f"{execution_id} to end",
        )
        time.sleep(1.05)
    result["new_runs"].append(ep.run_policy({"lifecyclePolicyArn": NEW_POLICY})["lifecycleExecutionId"])


def second_run(ep, process, output, result):
    """Wait for every execution that ended within since (those that fired before the crash again), the new ticket,
    then two more rounds in which nothing may fire again."""
    deadline = time.monotonic() + RESTART_DEADLINE
    needles = [f"{status} {execution_id} of" for execution_id, status in expected_events(result)]
    needles.append(f"Ticket opened for lifecycle execution {DOWN_FAILED}")
    wait_for(fired(output, *needles), deadline, "the second run's events and ticket", process)
    rounds = len(ep.requests("ListLifecyclePolicies"))
    wait_for(lambda: len(ep.requests("ListLifecyclePolicies")) >= rounds + 2, deadline, "2 more rounds", process)


def expected_events(result):
    """(execution, status) of every execution that ended within since of the second start."""
    events = [(RECENT, "FAILED"), (DURING, "SUCCESS"), (DOWN_OK, "SUCCESS"), (DOWN_FAILED, "FAILED")]
    return events + [(execution_id, "SUCCESS") for execution_id in result["new_runs"]]


def check_restart(texts, result, records):
    """Each run's events, once each; the second run's in the order they ended; one ticket and one record per failed
    execution across both runs; the new policy listed; no history, no secret."""
    if "error" in result:
        return [result["error"]]
    failures = []
    flat = [" ".join(text.split()) for text in texts]
    first = [(RECENT, "FAILED"), (DURING, "SUCCESS"), (result["new_runs"][0], "SUCCESS")]
    for run, events in enumerate((first, expected_events(result)), 1):
        for execution_id, status in events:
            seen = len(re.findall(re.escape(f"{status} {execution_id} of"), flat[run - 1]))
            if seen != 1:
                failures.append(f"run {run}: {status} {execution_id} shown {seen} times, expected 1")
    if OLD in texts[0] + texts[1]:
        failures.append(f"history {OLD}, which ended before since, fired")
    if f"{DOWN_OK} of" in flat[0] or f"{DOWN_FAILED} of" in flat[0]:
        failures.append("an execution fired in the first run before it ended")
    ends = result["end_times"]
    wanted = sorted((execution_id for execution_id, dummy in expected_events(result)), key=lambda i: (ends[i], i))
    # --print-events shows each event as it leaves the queue: the first mention of each id follows the queue's order.
    order = sorted(wanted, key=flat[1].find)
    if order != wanted:
        failures.append(f"run 2: events in the order {order}, not the order they ended {wanted}")
    for execution_id in (RECENT, DOWN_FAILED):
        tickets = sum(text.count(f"Ticket opened for lifecycle execution {execution_id}") for text in flat)
        if tickets != 1:
            failures.append(f"{tickets} tickets opened for {execution_id} across both runs, expected 1")
    found = sorted(path.name for path in records.glob("*.json"))
    if found != sorted(f"{i}.json" for i in (RECENT, DOWN_FAILED)):
        failures.append(f"records {found}, expected one per failed execution")
    for path in records.glob("*.json"):
        if json.loads(path.read_text(encoding="utf-8"))["state"]["status"] != "FAILED":
            failures.append(f"{path.name} does not record a failed execution")
    requests = result["requests"]
    if not any(r["operation"] == "ListLifecyclePolicies" for r in requests):
        failures.append("the policies were never listed")
    if not any(r["params"].get("resourceArn") == NEW_POLICY for r in requests):
        failures.append("the policy created mid-run was never listed")
    reads = [r for r in requests if r["operation"] in ("ListLifecyclePolicies", "ListLifecycleExecutions")]
    return failures + secrets_and_pages(texts, reads)


if __name__ == "__main__":
    sys.exit(main())
