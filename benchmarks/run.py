"""Benchmarks: what imagebuilder_lifecycle_execution_info adds to the API calls it makes (`make bench`).

    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.benchmarks.run \
        --collections-path .build/core221/installed [--aws-cli .venv/awscli/bin/aws] [--reps 5] [--list-reps 3] \
        [--wait-reps 3] [--doc docs/performance.md | --no-write] [--only CASE ...]

One local endpoint (tests/local_endpoint, in this process) serves every case. Each round runs every command
once, in a shuffled order, so that a busy moment on the machine falls on module and floor alike. The cases (get,
list 1k, list 10k, res 10k, preview 500, preview safety 2000, wait, the AWS CLI as a peer), their floors and their
goals are described once, in benchmarks/README.md ("What is compared"); the goals are the constants *_GOAL below.
``--only CASE`` runs ping and the cases named, and only prints.

Module processes, commands and bare scripts run under small measuring wrappers that record peak RSS and end time. The
table goes to stdout and, unless --no-write, into --doc (docs/performance.md) between its results markers. Exit
status 1 when a goal is missed, 2 when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.imagebuilder_ops.aws.tests.support.commands import adhoc_result
from ansible_collections.imagebuilder_ops.aws.tests.support.commands import run
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import endpoint_environment
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import check_installed
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import ACCOUNT
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import REGION
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import execution_id
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import image_arn
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import page_size
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import policy_arn

HERE = Path(__file__).resolve().parent
BARE = HERE / "bare_boto3.py"
LIBRARY = HERE / "modules"
INFO = "imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info"
START_MARK = "<!-- benchmark results: start (written by benchmarks/run.py) -->"
END_MARK = "<!-- benchmark results: end -->"

GET_ID = execution_id("0000beef", 1)
RES_ID = execution_id("0000cafe", 1)
# As a lifecycle policy's run lists them: the image at the top level, its AMIs (one snapshot each) under it.
RES_IMAGE = image_arn("bench-res")
RESOURCES = 10000
# case -> (module arguments, bare_boto3.py arguments, expected item count)
LISTINGS = {
    "list 1k": (
        {"lifecycle_policy_arn": policy_arn("bench-1k")},
        ("executions", policy_arn("bench-1k")),
        1000,
    ),
    "list 10k": (
        {"lifecycle_policy_arn": policy_arn("bench-10k")},
        ("executions", policy_arn("bench-10k")),
        10000,
    ),
    "res 10k": ({"lifecycle_execution_id": RES_ID, "include_resources": True}, ("resources", RES_ID), RESOURCES),
}
# The preview case: a policy over PREVIEW_IMAGES image build versions, each with one AMI in every PREVIEW_REGIONS.
PREVIEW = "imagebuilder_ops.aws.imagebuilder_lifecycle_policy_preview_info"
PREVIEW_CASE = "preview 500"
PREVIEW_POLICY = "bench-preview"
PREVIEW_IMAGES = 500
PREVIEW_BUILDS = 10  # per recipe version
PREVIEW_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
PREVIEW_SHARED = "111122223333"
PREVIEW_AMI_BATCH = 200  # AMI IDs per DescribeImages (module_utils/lifecycle_preview.py's AMI_BATCH)
# The safety case: a policy over SAFETY_IMAGES image build versions, each with an AMI in every SAFETY_REGIONS, previewed
# with safety_checks; each region holds what the checks read (safety_world below).
SAFETY_CASE = "preview safety 2000"
SAFETY_POLICY = "bench-safety"
SAFETY_IMAGES = 500
SAFETY_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2")
SAFETY_DELETE_DAYS = 90
SAFETY_INSTANCES = 60  # per region, every SAFETY_INSTANCE_STEP-th image's AMI, states in turn
SAFETY_INSTANCE_STEP = 8
SAFETY_TEMPLATES = 12  # per region, each 14 versions, its default 13 behind its latest
# The batch sizes of the reads (module_utils): DescribeImageReferences' ImageIds (its model: 1 to 10), the filters of
# DescribeImages (lifecycle_preview.AMI_BATCH), DescribeInstances, DescribeLaunchTemplateVersions
# (image_references.FILTER_BATCH) and DescribeSnapshots (snapshots.FILTER_BATCH); the largest page of the Auto Scaling
# listings (MaxRecords: "The default value is 50 and the maximum value is 100.").
REFERENCE_BATCH = 10
FILTER_BATCH = 200
ASG_PAGE = 100
SAFETY_GROUPS = 3  # per region, naming SAFETY_GROUP_TEMPLATES launch templates and one of the SAFETY_CONFIGURATIONS
SAFETY_GROUP_TEMPLATES = 2
SAFETY_CONFIGURATIONS = 2
# preview case -> (module arguments, bare_boto3.py mode, policy name, image build versions previewed)
PREVIEWS = {
    PREVIEW_CASE: ({"name": PREVIEW_POLICY}, "preview", PREVIEW_POLICY, PREVIEW_IMAGES),
    SAFETY_CASE: ({"name": SAFETY_POLICY, "safety_checks": True}, "preview-safety", SAFETY_POLICY, SAFETY_IMAGES),
}
WAIT_SLEEP = 2
# The terminal status appears this long after the first poll: just after the third poll (0, 2, 4 s), so that
# the module sees it nearly a whole wait_sleep later, the worst case the goal allows for.
WAIT_TERMINAL_AFTER = 2 * WAIT_SLEEP + 0.3
RATIO_GOAL = 1.10
# Against the data floor (what Ansible spends carrying the same result), the large listings must add nothing.
DATA_FLOOR_GOAL = {"list 1k": 1.10, "list 10k": 1.00, "res 10k": 1.00, PREVIEW_CASE: 1.20, SAFETY_CASE: 1.20}
# Against the ping floor, only the small cases have a goal; the large ones show it as information.
FLOOR_GOAL = {"get": 1.10, "list 1k": 1.10}

# What --only can name: "peer" is the AWS CLI's rows.
CASES = ("get", *LISTINGS, *PREVIEWS, "wait", "peer")

# The AWS CLI as a peer: the same work as a `command` task, in a playbook, against the module's task.
PEER_GOAL = 1.00  # the module's task costs no more than the CLI's (wall and CPU)
POLLS = 20  # the peer wait ends on the 20th GetLifecycleExecution (a per-call timeline)
POLL_SLEEP = 1  # wait_sleep of the module, delay of the until loop
POLL_CPU_GOAL = 0.20  # the module's CPU at most a fifth of the until loop's
DEFAULT_WAIT_SLEEP = 15  # the module's default wait_sleep: a day of waits is counted at it
TERMINAL_STATUSES = ["SUCCESS", "FAILED", "CANCELLED"]
PLAY = "- name: Benchmark\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
CHECK = "    - name: Check\n      ansible.builtin.assert:\n        quiet: true\n        that: {that}\n"
MODULE_TASK = (
    "    - name: The module\n"
    f"      {INFO}:\n"
    '        endpoint_url: "{{{{ url }}}}"\n'
    '        region: "{{{{ region }}}}"\n'
    "{args}"
    "      register: got\n"
)
CLI_TASK = (
    "    - name: The AWS CLI\n"
    "      ansible.builtin.command:\n"
    '        argv: ["{{{{ aws }}}}", imagebuilder, {argv}, --endpoint-url, "{{{{ url }}}}"]\n'
    "      register: got\n"
    "      changed_when: false\n"
    "{extra}"
)
PLAYBOOKS = {
    "get module": MODULE_TASK.format(args='        lifecycle_execution_id: "{{ ident }}"\n')
    + CHECK.format(that="got.lifecycle_execution.lifecycle_execution_id == ident"),
    "get cli": CLI_TASK.format(argv='get-lifecycle-execution, --lifecycle-execution-id, "{{ ident }}"', extra="")
    + CHECK.format(that="(got.stdout | from_json).lifecycleExecution.lifecycleExecutionId == ident"),
    "list module": MODULE_TASK.format(args='        lifecycle_policy_arn: "{{ ident }}"\n')
    + CHECK.format(that="got.lifecycle_executions | length == count"),
    "list cli": CLI_TASK.format(argv='list-lifecycle-executions, --resource-arn, "{{ ident }}"', extra="")
    + "    - name: Parse\n"
    + "      ansible.builtin.set_fact:\n"
    + '        executions: "{{ (got.stdout | from_json).lifecycleExecutions }}"\n'
    + CHECK.format(that="executions | length == count"),
    "wait module": MODULE_TASK.format(
        args='        lifecycle_execution_id: "{{ ident }}"\n'
        "        wait: true\n"
        f"        wait_sleep: {POLL_SLEEP}\n"
        "        wait_timeout: 120\n"
    )
    + CHECK.format(that="got.lifecycle_execution.state.status == 'SUCCESS'"),
    "wait cli": CLI_TASK.format(
        argv='get-lifecycle-execution, --lifecycle-execution-id, "{{ ident }}", '
        "--query, lifecycleExecution.state.status, --output, text",
        extra=f"      until: got.stdout in {TERMINAL_STATUSES}\n"
        f"      retries: {2 * POLLS}\n"
        f"      delay: {POLL_SLEEP}\n",
    )
    + CHECK.format(that="got.stdout == 'SUCCESS'"),
}


def scenario(wait_reps):
    executions = [
        {"lifecycleExecutionId": GET_ID, "lifecyclePolicyArn": policy_arn("bench-get"), "status": "SUCCESS"},
        {
            "lifecycleExecutionId": RES_ID,
            "lifecyclePolicyArn": policy_arn("bench-res"),
            "images": [RES_IMAGE],
            "status": "SUCCESS",
            "resources": [
                {
                    "accountId": ACCOUNT,
                    "resourceId": RES_IMAGE,
                    "region": REGION,
                    "state": {"status": "SUCCESS"},
                    "action": {"name": "DELETE"},
                }
            ],
            "generate_resources": RESOURCES,
            "generate_resources_parent": RES_IMAGE,
        },
    ]
    for rep in range(wait_reps):
        executions.append(
            {
                "lifecycleExecutionId": wait_id(rep),
                "lifecyclePolicyArn": policy_arn("bench-wait"),
                "timeline_seconds": [["PENDING", 1], ["IN_PROGRESS", WAIT_TERMINAL_AFTER - 1], ["SUCCESS", None]],
            }
        )
        for who in ("module", "cli"):
            executions.append(
                {
                    "lifecycleExecutionId": poll_id(who, rep),
                    "lifecyclePolicyArn": policy_arn("bench-poll"),
                    "timeline": [["IN_PROGRESS", POLLS - 1], ["SUCCESS", None]],
                }
            )
    policies = [
        {"arn": policy_arn(name), "generate_executions": count, "generate_id_prefix": f"{count:08x}"}
        for name, count in (("bench-1k", 1000), ("bench-10k", 10000))
    ]
    policies += [preview_policy(), safety_policy()]
    return {
        "description": "benchmarks/run.py",
        "executions": executions,
        "policies": policies,
        "images": preview_images() + safety_images(),
        **safety_world(),
    }


def preview_policy():
    """Deprecate after 30 days (not AMIs launched in the last week or shared with PREVIEW_SHARED), delete after 90
    keeping the 2 newest of each version, with their snapshots (not public AMIs)."""
    return {
        "arn": policy_arn(PREVIEW_POLICY),
        "name": PREVIEW_POLICY,
        "status": "ENABLED",
        "executionRole": "ImageBuilderLifecycleRole",
        "resourceType": "AMI_IMAGE",
        "policyDetails": [
            {
                "action": {"type": "DEPRECATE", "includeResources": {"amis": True}},
                "filter": {"type": "AGE", "value": 30, "unit": "DAYS"},
                "exclusionRules": {
                    "amis": {"lastLaunched": {"value": 7, "unit": "DAYS"}, "sharedAccounts": [PREVIEW_SHARED]}
                },
            },
            {
                "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": True}},
                "filter": {"type": "AGE", "value": 90, "unit": "DAYS", "retainAtLeast": 2},
                "exclusionRules": {"amis": {"isPublic": True}},
            },
        ],
        "resourceSelection": {"recipes": [{"name": PREVIEW_POLICY, "semanticVersion": "1.x.x"}]},
        "dateCreated": "2024-05-01T00:00:00Z",
    }


def preview_images():
    """PREVIEW_IMAGES builds, one every 12 hours back from now, each with an AMI per region; some AMIs public,
    shared or launched lately, so that every exclusion rule has work."""
    images = []
    for n in range(PREVIEW_IMAGES):
        version, build = divmod(n, PREVIEW_BUILDS)
        resources = []
        for r, region in enumerate(PREVIEW_REGIONS):
            ec2 = {}
            if n % 7 == 0 and region == "eu-west-1":
                ec2["public"] = True
            if n % 11 == 0 and region == "us-east-1":
                ec2["shared_accounts"] = [PREVIEW_SHARED]
            if n % 5 == 0:
                ec2["last_launched"] = "-P2D"
            resource = {"accountId": ACCOUNT, "resourceId": f"ami-0b{n:06x}{r:09x}", "region": region}
            if ec2:
                resource["ec2"] = ec2
            resources.append(resource)
        arn = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/{PREVIEW_POLICY}/1.{version}.0/{build + 1}"
        images.append({"arn": arn, "dateCreated": f"-PT{12 * (PREVIEW_IMAGES - n)}H", "resources": resources})
    return images


def preview_call_bound(page_size):
    """The calls a preview of PREVIEW_POLICY needs at most: the policy by name (a listing and a read), the pages of
    its image build versions, and per region a DescribeImages per batch of AMIs, and again per shared account."""
    pages = -(-PREVIEW_IMAGES // page_size)
    batches = -(-PREVIEW_IMAGES // PREVIEW_AMI_BATCH)
    return 2 + pages + len(PREVIEW_REGIONS) * batches * 2


def safety_policy():
    """Deprecate every available AMI older than a day; delete, with their snapshots, those older than
    SAFETY_DELETE_DAYS (deprecated by earlier runs: the deprecate rule skips them). Every image is reached."""
    return {
        "arn": policy_arn(SAFETY_POLICY),
        "name": SAFETY_POLICY,
        "status": "ENABLED",
        "executionRole": "ImageBuilderLifecycleRole",
        "resourceType": "AMI_IMAGE",
        "policyDetails": [
            {
                "action": {"type": "DEPRECATE", "includeResources": {"amis": True}},
                "filter": {"type": "AGE", "value": 1, "unit": "DAYS"},
            },
            {
                "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": True}},
                "filter": {"type": "AGE", "value": SAFETY_DELETE_DAYS, "unit": "DAYS"},
            },
        ],
        "resourceSelection": {"recipes": [{"name": SAFETY_POLICY, "semanticVersion": "1.x.x"}]},
        "dateCreated": "2024-05-01T00:00:00Z",
    }


def safety_ami(n, r):
    return f"ami-0c{n:06x}{r:09x}"


def safety_snapshot(n, r):
    return f"snap-0c{n:06x}{r:09x}"


def safety_images():
    """SAFETY_IMAGES builds, one every 12 hours from 2 days back, each with an AMI per region that names a snapshot of
    its own (but the newest, which names the oldest's: a deleted AMI's snapshot that an AMI the policy only deprecates
    still uses, counted as kept); every third AMI tagged Backup=daily, every fourth launched lately; those older than
    SAFETY_DELETE_DAYS deprecated already."""
    images = []
    for n in range(SAFETY_IMAGES):
        version, build = divmod(n, PREVIEW_BUILDS)
        resources = []
        for r, region in enumerate(SAFETY_REGIONS):
            ec2 = {"snapshots": [safety_snapshot(0 if n == SAFETY_IMAGES - 1 else n, r)]}
            if n % 3 == 0:
                ec2["tags"] = {"Backup": "daily"}
            if n % 4 == 0:
                ec2["last_launched"] = "-P3D"
            resources.append({"accountId": ACCOUNT, "resourceId": safety_ami(n, r), "region": region, "ec2": ec2})
        arn = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/{SAFETY_POLICY}/1.{version}.0/{build + 1}"
        hours = 12 * (SAFETY_IMAGES - n) + 36
        image = {"arn": arn, "dateCreated": f"-PT{hours}H", "resources": resources}
        if hours > 24 * SAFETY_DELETE_DAYS:
            image["state"] = "DEPRECATED"
        images.append(image)
    return images


def safety_world():
    """What the safety checks read in each region: instances in every state, launch templates whose default version is
    13 behind their latest, a launch configuration, three Auto Scaling groups (a launch configuration, a launch
    template's $Latest, a mixed instances policy with an override's ImageId), the snapshots with their sizes and tags,
    SSM parameters, and Recycle Bin rules (tag-level, Region-level with an exclusion tag and a lock, one not
    available)."""
    world = {key: [] for key in ("instances", "launch_templates", "launch_configurations", "auto_scaling_groups")}
    world.update(snapshots=[], ssm_parameters=[], recycle_bin_rules=[])
    states = ("running", "stopped", "terminated", "pending", "running", "stopping")
    for r, region in enumerate(SAFETY_REGIONS):
        for i in range(SAFETY_INSTANCES):
            world["instances"].append(
                {
                    "InstanceId": f"i-0c{r:06x}{i:09x}",
                    "ImageId": safety_ami((i * SAFETY_INSTANCE_STEP) % SAFETY_IMAGES, r),
                    "state": states[i % len(states)],
                    "region": region,
                }
            )
        for t in range(SAFETY_TEMPLATES):
            world["launch_templates"].append(
                {
                    "LaunchTemplateId": f"lt-0c{r:06x}{t:09x}",
                    "LaunchTemplateName": f"fleet-{t}",
                    "default_version": 1,
                    "versions": [
                        {"ImageId": safety_ami(5 + 13 * t, r)},
                        {"ImageId": safety_ami(300 + 7 * t, r), "copies": 12},
                        {"ImageId": safety_ami(SAFETY_IMAGES - 1 - t, r)},
                    ],
                    "region": region,
                }
            )
        world["launch_configurations"] += [
            {"LaunchConfigurationName": "legacy-lc", "ImageId": safety_ami(11, r), "region": region},
            {"LaunchConfigurationName": "unused-lc", "ImageId": safety_ami(23, r), "region": region},
        ]
        world["auto_scaling_groups"] += [
            {"AutoScalingGroupName": "legacy-asg", "LaunchConfigurationName": "legacy-lc", "region": region},
            {
                "AutoScalingGroupName": "web-asg",
                "LaunchTemplate": {"LaunchTemplateId": f"lt-0c{r:06x}{0:09x}", "Version": "$Latest"},
                "region": region,
            },
            {
                "AutoScalingGroupName": "batch-asg",
                "MixedInstancesPolicy": {
                    "LaunchTemplate": {
                        "LaunchTemplateSpecification": {"LaunchTemplateName": "fleet-1", "Version": "$Default"},
                        "Overrides": [
                            {"InstanceType": "c6i.large"},
                            {"InstanceType": "c6i.xlarge", "ImageId": safety_ami(41, r)},
                        ],
                    }
                },
                "region": region,
            },
        ]
        for n in range(SAFETY_IMAGES - 1):
            snapshot = {
                "SnapshotId": safety_snapshot(n, r),
                "VolumeSize": 30,
                "FullSnapshotSizeInBytes": (4 + n % 5) * 1024**3,
                "region": region,
            }
            if n % 3 == 0:
                snapshot["tags"] = {"Backup": "daily"}
            elif n % 10 == 1:
                snapshot["tags"] = {"Scratch": "true"}
            world["snapshots"].append(snapshot)
        world["ssm_parameters"].append(
            {"Name": "/golden/ami/latest", "Value": safety_ami(SAFETY_IMAGES - 1, r), "region": region}
        )
        world["recycle_bin_rules"] += [dict(rule, region=region) for rule in SAFETY_RULES]
    return world


def retention(days):
    return {"RetentionPeriodValue": days, "RetentionPeriodUnit": "DAYS"}


SAFETY_RULES = (
    {
        "Identifier": "rAmiTagBk01",
        "ResourceType": "EC2_IMAGE",
        "RetentionPeriod": retention(14),
        "ResourceTags": [{"ResourceTagKey": "Backup", "ResourceTagValue": "daily"}],
    },
    {"Identifier": "rAmiRegn002", "ResourceType": "EC2_IMAGE", "RetentionPeriod": retention(30), "Status": "pending"},
    {
        "Identifier": "rSnapRegn03",
        "ResourceType": "EBS_SNAPSHOT",
        "RetentionPeriod": retention(7),
        "ExcludeResourceTags": [{"ResourceTagKey": "Scratch", "ResourceTagValue": "true"}],
        "LockState": "locked",
        "LockConfiguration": {"UnlockDelay": {"UnlockDelayValue": 7, "UnlockDelayUnit": "DAYS"}},
    },
    {
        "Identifier": "rSnapTagBk4",
        "ResourceType": "EBS_SNAPSHOT",
        "RetentionPeriod": retention(21),
        "ResourceTags": [{"ResourceTagKey": "Backup", "ResourceTagValue": "daily"}],
    },
)


def reached(preview):
    """{region: {"amis": the AMIs an action reaches, "deletes": those a DELETE reaches with their snapshots,
    "snapshots": the snapshots those deletes name}} from the module's ``lifecycle_policy_preview``."""
    found = {}
    for resource in preview["resources"]:
        for child in resource.get("child_resources") or []:
            if "image_uris" in child:
                continue
            region = found.setdefault(child["region"], {"amis": [], "deletes": [], "snapshots": []})
            region["amis"].append(child["resource_id"])
            if child["action"]["name"] == "DELETE" and "snapshots" in child:
                region["deletes"].append(child["resource_id"])
                region["snapshots"] += [snap["snapshot_id"] for snap in child["snapshots"]]
    for region in found.values():
        for key in region:
            region[key] = sorted(set(region[key]))
    return found


def ceil(count, size):
    return -(-count // size)


def safety_call_bound(page_size, reached_by_region):
    """The calls a preview of SAFETY_POLICY with safety_checks needs at most, for what its actions reached: the policy
    by name (a listing and a read) and the pages of its image build versions; then per region, for its N reached
    AMIs: DescribeImages, DescribeInstances, and DescribeLaunchTemplateVersions of $Default and of $Latest per 200
    AMIs (each answer one page: SAFETY_INSTANCES instances, one version of each of SAFETY_TEMPLATES templates),
    DescribeImageReferences per 10 AMIs, the Auto Scaling groups and the launch configurations in pages of 100, one
    DescribeLaunchTemplateVersions per launch template a group names; where a DELETE reaches AMIs with their
    snapshots, DescribeSnapshots and DescribeImages (by snapshot) per 200 snapshots, and per resource type
    (EC2_IMAGE, EBS_SNAPSHOT) a ListRules and a GetRule per rule."""
    calls = 2 + ceil(SAFETY_IMAGES, page_size)
    for found in reached_by_region.values():
        amis = ceil(len(found["amis"]), FILTER_BATCH)
        calls += amis * 4 + ceil(len(found["amis"]), REFERENCE_BATCH)
        calls += ceil(SAFETY_GROUPS, ASG_PAGE) + SAFETY_GROUP_TEMPLATES + ceil(SAFETY_CONFIGURATIONS, ASG_PAGE)
        if found["deletes"]:
            calls += 2 * ceil(len(found["snapshots"]), FILTER_BATCH) + 2 + len(SAFETY_RULES)
    return calls


def wait_id(rep):
    return execution_id("0000a1a1", rep + 1)


def poll_id(who, rep):
    return execution_id("0000b2b2" if who == "module" else "0000c3c3", rep + 1)


def measuring_wrappers(workdir):
    """Two scripts: ``measure FILE PROGRAM ARGS...`` runs PROGRAM, then appends its peak RSS (KiB) and end time to
    FILE; ``python-measured`` is an interpreter for modules that does the same into $BENCH_RSS_FILE.

    Peak RSS must come from a small process that starts the measured one: a child forked from this process
    (which holds the endpoint's data) would report this process's size until it execs.
    """
    measure = Path(workdir) / "measure"
    if Path("/usr/bin/time").exists():
        measure.write_text(
            "#!/bin/sh\n"
            'out=$1\nshift\n/usr/bin/time -a -o "$out" -f "rss %M" "$@"\ncode=$?\n'
            'echo "end $(date +%s.%N)" >> "$out"\nexit $code\n'
        )
    else:
        measure.write_text(
            f"#!{sys.executable} -S\n"
            "import resource, subprocess, sys, time\n"
            "code = subprocess.call(sys.argv[2:])\n"
            "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "with open(sys.argv[1], 'a') as f:\n"
            "    f.write('rss %d\\nend %f\\n' % (rss, time.time()))\n"
            "sys.exit(code)\n"
        )
    interpreter = Path(workdir) / "python-measured"
    interpreter.write_text(f'#!/bin/sh\nexec {measure} "$BENCH_RSS_FILE" {sys.executable} "$@"\n')
    for path in (measure, interpreter):
        path.chmod(0o755)
    return measure, interpreter


def read_measured(path):
    """(peak RSS KiB, end time) a measuring wrapper wrote to ``path``, then forget them."""
    found = {}
    try:
        for line in path.read_text().splitlines():
            key, _space, value = line.partition(" ")
            if key in ("rss", "end"):
                found[key] = float(value)
        path.unlink()
    except (OSError, ValueError):
        pass
    return (int(found["rss"]) if "rss" in found else None), found.get("end")


class Bench:
    def __init__(self, args, endpoint, workdir):
        self.args = args
        self.endpoint = endpoint
        self.workdir = Path(workdir)
        self.module_file = self.workdir / "module-measured.txt"
        self.command_file = self.workdir / "command-measured.txt"
        self.measure, interpreter = measuring_wrappers(workdir)
        # Implicit localhost sets ansible_python_interpreter as a host variable: only an extra var overrides it.
        self.interpreter = f"ansible_python_interpreter={interpreter}"
        self.env = isolated_env(
            args.collections_path,
            workdir,
            # endpoint_url is Image Builder's: the preview's EC2, Auto Scaling and Recycle Bin clients find the
            # endpoint as botocore configures it.
            {
                "BENCH_RSS_FILE": str(self.module_file),
                "ANSIBLE_LIBRARY": str(LIBRARY),
                **endpoint_environment(endpoint.url),
            },
        )
        # The bare scripts, and the CLI the command module runs on localhost, take the fake credentials and the region
        # from here.
        self.bare_env = isolated_env(args.collections_path, workdir, {"AWS_DEFAULT_REGION": REGION})
        self.playbooks = {}
        for name, tasks in PLAYBOOKS.items():
            self.playbooks[name] = self.workdir / f"{name.replace(' ', '-')}.yml"
            self.playbooks[name].write_text(PLAY + tasks)
        self.samples = {}  # name -> list of dicts (wall, cpu, rss, ...)
        self.errors = []
        self.data = {}  # listing case -> file holding the bare script's answer, for the data floor
        self.reached = {}  # preview case -> reached(): what the module's actions reached, by region

    def record(self, name, **values):
        self.samples.setdefault(name, []).append(values)

    def ansible(self, name, module, module_args, expect, timeout=600):
        args = dict(module_args)
        if module.startswith("imagebuilder_ops."):
            args.update(endpoint_url=self.endpoint.url, region=REGION)
        cmd = [str(self.measure), str(self.command_file), tool("ansible"), "localhost", "-m", module]
        cmd += ["-e", self.interpreter] + (["-a", json.dumps(args)] if args else [])
        result = run(cmd, self.env, timeout=timeout)
        total_rss, _end = read_measured(self.command_file)
        rss, ended = read_measured(self.module_file)
        answer = adhoc_result(result)
        if result.rc != 0 or answer is None:
            problem = f"exit {result.rc}: {(answer or {}).get('msg') or result.stdout[-600:] or result.stderr[-600:]}"
        else:
            problem = expect(answer)
        if problem:
            self.errors.append(f"{name}: {problem}")
        self.record(name, wall=result.wall, cpu=result.cpu, rss=rss, total_rss=total_rss)
        return result, ended

    def bare(self, name, what, ident, count, keep=None, extra=()):
        cmd = [str(self.measure), str(self.command_file), sys.executable, str(BARE), self.endpoint.url, what, ident]
        cmd += [str(PAGE_SIZE), *extra]
        result = run(cmd, self.bare_env, timeout=600)
        rss, _end = read_measured(self.command_file)
        got = result.stderr.strip().splitlines()[-1:]
        if result.rc != 0 or got != [str(count)]:
            self.errors.append(f"{name}: bare boto3 exit {result.rc}, {result.stderr[-600:]}")
        if keep is not None:
            keep.write_text(result.stdout)
        self.record(name, wall=result.wall, cpu=result.cpu, rss=rss)

    def playbook(self, name, playbook, ident, **extra):
        """One run of a one-task playbook (plus its check), measured, with the API calls it made."""
        extra_vars = {"url": self.endpoint.url, "region": REGION, "aws": self.args.aws_cli, "ident": ident, **extra}
        cmd = [tool("ansible-playbook"), str(self.playbooks[playbook]), "-e", json.dumps(extra_vars)]
        calls_before = len(self.endpoint.requests())
        result = run(cmd, self.bare_env, timeout=600)
        calls = len(self.endpoint.requests()) - calls_before
        if result.rc != 0:
            self.errors.append(f"{name}: exit {result.rc}: {result.stdout[-800:]} {result.stderr[-400:]}")
        self.record(name, wall=result.wall, cpu=result.cpu, calls=calls)

    # -- the cases ---------------------------------------------------------------------------------------------

    def ping(self):
        self.ansible("ping", "ansible.builtin.ping", {}, lambda a: None if a.get("ping") == "pong" else "no pong")

    def get_module(self):
        def expect(answer):
            got = answer.get("lifecycle_execution", {}).get("lifecycle_execution_id")
            return None if got == GET_ID else f"got {got!r}"

        self.ansible("get: module", INFO, {"lifecycle_execution_id": GET_ID}, expect)

    def get_bare(self):
        self.bare("get: bare boto3", "get", GET_ID, 1)

    def listing_module(self, case):
        module_args, _bare, count = LISTINGS[case]

        def expect(answer):
            if "lifecycle_executions" in answer:
                ids = [e["lifecycle_execution_id"] for e in answer["lifecycle_executions"]]
            else:
                tree = answer.get("lifecycle_execution", {}).get("resources", [])
                ids = [r["resource_id"] for image in tree for r in image.get("child_resources", [])]
            return None if len(ids) == count == len(set(ids)) else f"{len(ids)} items, {len(set(ids))} distinct"

        self.ansible(f"{case}: module", INFO, module_args, expect)

    def listing_bare(self, case):
        _module, (what, ident), count = LISTINGS[case]
        keep = None
        if case not in self.data:
            keep = self.data[case] = self.workdir / f"data-{case.replace(' ', '-')}.json"
        self.bare(f"{case}: bare boto3", what, ident, count, keep)

    def listing_echo(self, case):
        if case not in self.data:
            self.listing_bare(case)  # the first round's answer is the data; not a sample of its own
            self.samples[f"{case}: bare boto3"].pop()
        self.ansible(f"{case}: echo", "bench_echo", {"path": str(self.data[case])}, lambda a: None)

    def preview_module(self, case, keep=None):
        module_args, dummy, dummy, count = PREVIEWS[case]

        def expect(answer):
            got = answer.get("lifecycle_policy_preview", {})
            counted = sum(got.get("summary", {}).values())
            if counted != count or not got.get("resources"):
                return f"{counted} images previewed, {len(got.get('resources') or [])} acted on"
            if module_args.get("safety_checks") and not answer.get("safety"):
                return "no safety summary"
            if keep is not None:
                keep.write_text(json.dumps(got))
            return None

        before = max((e["seq"] for e in self.endpoint.requests()), default=0)
        self.ansible(f"{case}: module", PREVIEW, module_args, expect)
        made = [
            e
            for e in self.endpoint.requests()
            if e["seq"] > before and e.get("module") == "imagebuilder_lifecycle_policy_preview_info"
        ]
        self.samples[f"{case}: module"][-1]["calls"] = len(made)

    def preview_data(self, case):
        """The module's own result (the echo's data; its first run is not a sample of its own) and, for the safety
        case, what it reached (the bare script's REACHED_JSON)."""
        if case not in self.data:
            self.data[case] = self.workdir / f"data-{case.replace(' ', '-')}.json"
            self.preview_module(case, keep=self.data[case])
            self.samples[f"{case}: module"].pop()
            self.reached[case] = reached(json.loads(self.data[case].read_text()))
            amis = sum(len(found["amis"]) for found in self.reached[case].values())
            if case == SAFETY_CASE and amis != SAFETY_IMAGES * len(SAFETY_REGIONS):
                self.errors.append(f"{case}: the actions reached {amis} AMIs, not every one")
            self.workdir.joinpath(f"reached-{case.replace(' ', '-')}.json").write_text(json.dumps(self.reached[case]))
        return self.data[case]

    def preview_bare(self, case):
        dummy, what, policy, count = PREVIEWS[case]
        extra = []
        if what == "preview-safety":
            self.preview_data(case)
            extra = [str(self.workdir / f"reached-{case.replace(' ', '-')}.json")]
        self.bare(f"{case}: bare boto3", what, policy, count, extra=extra)

    def preview_echo(self, case):
        self.ansible(f"{case}: echo", "bench_echo", {"path": str(self.preview_data(case))}, lambda a: None)

    def wait(self, rep):
        ident = wait_id(rep)
        args = {"lifecycle_execution_id": ident, "wait": True, "wait_sleep": WAIT_SLEEP, "wait_timeout": 120}

        def expect(answer):
            status = answer.get("lifecycle_execution", {}).get("state", {}).get("status")
            return None if status == "SUCCESS" else f"status {status!r}"

        result, module_ended = self.ansible("wait: module", INFO, args, expect)
        gets = [
            e
            for e in self.endpoint.requests("GetLifecycleExecution")
            if (e["params"] or {}).get("lifecycleExecutionId") == ident
        ]
        if not gets or module_ended is None:
            self.errors.append(f"wait {ident}: no GetLifecycleExecution in the request log, or no module end time")
            return
        terminal_at = gets[0]["time"] + WAIT_TERMINAL_AFTER
        times = [e["time"] for e in gets]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.record(
            "wait",
            gets=len(gets),
            # Two calls closer together than the poll interval would be two calls in one poll.
            extra_per_poll=sum(1 for gap in gaps if gap < WAIT_SLEEP - 0.05),
            after_terminal=max(0, sum(1 for t in times if t >= terminal_at) - 1),
            errors=sum(1 for e in gets if e["status"] != 200),
            lag=times[-1] - terminal_at,
            delay=module_ended - terminal_at,
            command_delay=result.ended - terminal_at,
        )

    def peer_steps(self, number):
        """The module's task against the AWS CLI's `command` task doing the same, in this round."""
        if not self.args.aws_cli:
            return []
        steps = [
            lambda: self.playbook("get: module task", "get module", GET_ID),
            lambda: self.playbook("get: CLI task", "get cli", GET_ID),
        ]
        if number < self.args.list_reps:
            arn, count = LISTINGS["list 1k"][1][1], LISTINGS["list 1k"][2]
            steps += [
                lambda: self.playbook("list 1k: module task", "list module", arn, count=count),
                lambda: self.playbook("list 1k: CLI task", "list cli", arn, count=count),
            ]
        if number < self.args.wait_reps:
            steps += [
                lambda: self.playbook("poll: module task", "wait module", poll_id("module", number)),
                lambda: self.playbook("poll: CLI until loop", "wait cli", poll_id("cli", number)),
            ]
        return steps

    def wanted(self, case):
        """Whether this run measures ``case`` (every case, unless --only names some)."""
        return not self.args.only or case in self.args.only

    def rounds(self):
        rng = random.Random(self.args.seed)
        for number in range(self.args.reps):
            steps = [self.ping] + ([self.get_module, self.get_bare] if self.wanted("get") else [])
            if number < self.args.list_reps:
                for case in filter(self.wanted, LISTINGS):
                    steps += [
                        lambda c=case: self.listing_module(c),
                        lambda c=case: self.listing_bare(c),
                        lambda c=case: self.listing_echo(c),
                    ]
                for case in filter(self.wanted, PREVIEWS):
                    steps += [
                        lambda c=case: self.preview_module(c),
                        lambda c=case: self.preview_bare(c),
                        lambda c=case: self.preview_echo(c),
                    ]
            if number < self.args.wait_reps and self.wanted("wait"):
                steps.append(lambda n=number: self.wait(n))
            if self.wanted("peer"):
                steps += self.peer_steps(number)
            rng.shuffle(steps)
            began = time.monotonic()
            for step in steps:
                step()
            print(f"  round {number + 1}/{self.args.reps}: {len(steps)} commands, {time.monotonic() - began:.0f} s")


# -- the report --------------------------------------------------------------------------------------------------


def wall(samples):
    return [x["wall"] for x in samples]


def cpu(samples):
    return [x["cpu"] for x in samples]


def median_ratio(numerator, denominator):
    return statistics.median(numerator) / statistics.median(denominator)


def mib(kib):
    return f"{kib / 1024:.0f} MiB" if kib else "n/a"


class Report:
    def __init__(self):
        self.rows = []  # (measurement, median, min, max, CPU, ratio, CPU ratio, goal, result)
        self.verdicts = []

    def row(self, name, values=(), ratio="", goal="", ok=None, unit="s", cpu="", cpu_values=()):
        cells = ("", "", "")
        if values:
            fmt = (lambda v: f"{v:.2f} s") if unit == "s" else (lambda v: f"{v:g}")
            cells = tuple(fmt(v) for v in (statistics.median(values), min(values), max(values)))
        cpu_cell = f"{statistics.median(cpu_values):.2f} s" if cpu_values else ""
        if ok is not None:
            self.verdicts.append(ok)
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((name, *cells, cpu_cell, ratio, cpu, goal, verdict))

    def table(self):
        header = ("measurement", "median", "min", "max", "CPU", "ratio", "CPU ratio", "goal", "result")
        widths = [max(len(str(r[i])) for r in [header, *self.rows]) for i in range(len(header))]
        lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths)) + " |"]
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in self.rows]
        return "\n".join(lines)


def summed(first, second):
    """Round by round, the wall and the CPU seconds of two commands together."""
    pairs = list(zip(first, second))
    return [a["wall"] + b["wall"] for a, b in pairs], [a["cpu"] + b["cpu"] for a, b in pairs]


def versus(out, name, values, cpu_values, base, base_cpu, goal=None):
    """A row of ``values`` against ``base`` (medians, wall and CPU), with a verdict when there is a ``goal``."""
    ratio = median_ratio(values, base)
    out.row(
        name,
        values,
        f"{ratio:.2f}",
        f"<= {goal:.2f}" if goal else "",
        None if goal is None else ratio <= goal,
        cpu=f"{median_ratio(cpu_values, base_cpu):.2f}",
        cpu_values=cpu_values,
    )


def floor_rows(out, samples, case):
    """The module against the ping floor and, for the listings, the data floor; returns the module's wall median."""
    module, bare = samples[f"{case}: module"], samples[f"{case}: bare boto3"]
    # Each round's floor is that round's ping (or echo) plus that round's bare script.
    floor, floor_cpu = summed(samples["ping"], bare)
    out.row(f"{case}: bare boto3", wall(bare), cpu_values=cpu(bare))
    out.row(f"{case}: floor = ping + bare", floor, cpu_values=floor_cpu)
    echo = samples.get(f"{case}: echo")
    if echo:
        data_floor, data_floor_cpu = summed(echo, bare)
        out.row(f"{case}: data floor = echo + bare", data_floor, cpu_values=data_floor_cpu)
        # No goal: what Ansible alone adds to the floor for carrying a result of this size, with no module code.
        versus(out, f"{case}: data floor vs floor", data_floor, data_floor_cpu, floor, floor_cpu)
    versus(out, f"{case}: module vs floor", wall(module), cpu(module), floor, floor_cpu, FLOOR_GOAL.get(case))
    if echo:
        goal = DATA_FLOOR_GOAL[case]
        versus(out, f"{case}: module vs data floor", wall(module), cpu(module), data_floor, data_floor_cpu, goal)
    return statistics.median(wall(module))


def calls(runs, unit=False):
    """The API calls the runs made: one number when they agree, else each; with ``unit``, "1 call" or "N calls"."""
    found = sorted({x["calls"] for x in runs})
    text = "/".join(str(n) for n in found)
    return f"{text} call{'' if found == [1] else 's'}" if unit else text


def peer_rows(out, samples):
    """The module's task against the AWS CLI's `command` task (one-task playbooks, controller and children)."""
    for case in ("get", "list 1k"):
        module, cli = samples.get(f"{case}: module task"), samples.get(f"{case}: CLI task")
        if not module or not cli:
            continue
        out.row(f"{case}: module task ({calls(module, unit=True)})", wall(module), cpu_values=cpu(module))
        out.row(f"{case}: AWS CLI task ({calls(cli, unit=True)})", wall(cli), cpu_values=cpu(cli))
        ratio, cpu_ratio = median_ratio(wall(module), wall(cli)), median_ratio(cpu(module), cpu(cli))
        out.row(
            f"{case}: module task vs CLI task",
            (),
            f"{ratio:.2f}",
            f"<= {PEER_GOAL:.2f} (wall, CPU)",
            ratio <= PEER_GOAL and cpu_ratio <= PEER_GOAL,
            cpu=f"{cpu_ratio:.2f}",
        )
    module, loop = samples.get("poll: module task"), samples.get("poll: CLI until loop")
    if not module or not loop:
        return None
    out.row(f"wait {POLLS} polls: module, wait_sleep {POLL_SLEEP}", wall(module), cpu_values=cpu(module))
    out.row(f"wait {POLLS} polls: CLI until loop, delay {POLL_SLEEP}", wall(loop), cpu_values=cpu(loop))
    ok = all(x["calls"] == POLLS for x in module + loop)
    out.row(
        f"wait {POLLS} polls: GetLifecycleExecution calls, module / loop",
        (),
        f"{calls(module)} / {calls(loop)}",
        f"{POLLS} / {POLLS}",
        ok,
    )
    cpu_ratio = median_ratio(cpu(module), cpu(loop))
    out.row(
        f"wait {POLLS} polls: module CPU / loop CPU",
        (),
        "",
        f"<= {POLL_CPU_GOAL:.2f}",
        cpu_ratio <= POLL_CPU_GOAL,
        cpu=f"{cpu_ratio:.2f}",
    )
    day = hour_of_waiting(samples)
    if day:
        out.row(
            f"wait: CPU s per hour of waiting at wait_sleep {DEFAULT_WAIT_SLEEP}, module / loop",
            (),
            f"{day[0]:.1f} / {day[1]:.1f}",
        )
    return day


def hour_of_waiting(samples):
    """CPU seconds an hour of waiting costs (3600 / 15 polls), module and until loop: a single read's task plus
    the measured cost of each further poll (the wait's CPU beyond the single read, per further poll)."""
    polls = 3600 // DEFAULT_WAIT_SLEEP
    found = []
    for one, many in (("get: module task", "poll: module task"), ("get: CLI task", "poll: CLI until loop")):
        if not samples.get(one) or not samples.get(many):
            return None
        single, waited = statistics.median(cpu(samples[one])), statistics.median(cpu(samples[many]))
        per_poll = max(0.0, (waited - single) / (POLLS - 1))
        found.append(single + (polls - 1) * per_poll)
    return found


def report(samples, reached_by_case):
    out = Report()
    out.row("ansible -m ping", wall(samples["ping"]), cpu_values=cpu(samples["ping"]))
    medians = {}
    for case in ("get", *LISTINGS, *PREVIEWS):
        if f"{case}: module" in samples:
            medians[case] = floor_rows(out, samples, case)
    for case, bound in (
        (PREVIEW_CASE, lambda: preview_call_bound(page_size("ListImageBuildVersions"))),
        (SAFETY_CASE, lambda: safety_call_bound(page_size("ListImageBuildVersions"), reached_by_case[SAFETY_CASE])),
    ):
        if f"{case}: module" in samples:
            made = [x["calls"] for x in samples[f"{case}: module"]]
            out.row(f"{case}: API calls", made, "", f"<= {bound()}", max(made) <= bound(), unit="n")
    if {"list 1k", "list 10k"} <= set(medians):
        whole = medians["list 10k"] / medians["list 1k"]
        out.row("list: 10x items, time x", (), f"{whole:.2f}", "<= 10", whole <= 10)
    if "wait" in samples:
        waits = samples["wait"]
        out.row("wait: terminal status -> last poll", [w["lag"] for w in waits])
        delays = [w["delay"] for w in waits]
        ok = max(delays) <= WAIT_SLEEP + 1
        out.row("wait: terminal status -> module returned", delays, "", f"<= {WAIT_SLEEP + 1} s", ok)
        out.row("wait: terminal status -> ansible exited", [w["command_delay"] for w in waits])
        out.row("wait: GetLifecycleExecution calls", [w["gets"] for w in waits], unit="n")
        extra = sum(w["extra_per_poll"] + w["errors"] for w in waits)
        out.row("wait: calls beyond one per poll", (), f"{extra}", "0", extra == 0)
        after = sum(w["after_terminal"] for w in waits)
        out.row("wait: calls after the terminal status", (), f"{after}", "0", after == 0)
    day = peer_rows(out, samples)
    memory = []
    for case in ("get", *LISTINGS, *PREVIEWS):
        runs = samples.get(f"{case}: module")
        if runs:
            rss = [x["rss"] for x in runs if x["rss"]]
            echo = [x["rss"] for x in samples.get(f"{case}: echo", []) if x["rss"]]
            memory.append(
                (
                    case,
                    mib(max(rss) if rss else None),
                    mib(max((x["total_rss"] or 0) for x in runs)),
                    mib(max((x["rss"] or 0) for x in samples[f"{case}: bare boto3"])),
                    mib(max(echo) if echo else None),
                )
            )
    return out, memory, day


def day_of_waits(day):
    """What a user saves on a day of waits, from hour_of_waiting's (module, until loop) CPU seconds."""
    module, loop = day
    return (
        f"A day of waits: each hour of waiting at wait_sleep {DEFAULT_WAIT_SLEEP} s ({3600 // DEFAULT_WAIT_SLEEP} "
        f"polls) costs about {module:.0f} s of CPU with the module's `wait: true` and {loop:.0f} s with a `command` + "
        f"`until` loop over the AWS CLI: {loop - module:.0f} s of CPU saved per hour of waiting, "
        f"{24 * (loop - module) / 60:.0f} min per 24 hours of waiting."
    )


def memory_table(memory):
    lines = [
        "| case | module process peak RSS | `ansible` command peak RSS | bare boto3 peak RSS | echo module peak RSS |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in memory]
    return "\n".join(lines)


def versions(collections_path):
    import boto3  # pylint: disable=import-outside-toplevel
    import botocore  # pylint: disable=import-outside-toplevel

    import ansible.release  # pylint: disable=import-outside-toplevel

    found = {"ansible-core": ansible.release.__version__, "boto3": boto3.__version__, "botocore": botocore.__version__}
    for name in ("amazon/aws", "imagebuilder_ops/aws"):
        manifest = Path(collections_path) / "ansible_collections" / name / "MANIFEST.json"
        try:
            found[name.replace("/", ".")] = json.loads(manifest.read_text())["collection_info"]["version"]
        except (OSError, ValueError, KeyError):
            found[name.replace("/", ".")] = "?"
    return found


def aws_cli_versions(aws_cli, collections_path):
    """awscli's version and that of the botocore it carries, from ``aws --version``."""
    if not aws_cli:
        return {"awscli": "not run (no --aws-cli)"}
    result = run([aws_cli, "--version"], isolated_env(collections_path, tempfile.gettempdir()), timeout=60)
    words = dict(word.split("/", 1) for word in (result.stdout + result.stderr).split() if "/" in word)
    return {"awscli": words.get("aws-cli", "?"), "awscli's botocore": words.get("botocore", "?")}


def machine():
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"CPU": model, "cores": os.cpu_count(), "OS": f"{platform.system()} {platform.release()}"}


def write_doc(doc, text):
    current = doc.read_text() if doc.exists() else f"# Performance\n\n{START_MARK}\n{END_MARK}\n"
    if START_MARK not in current or END_MARK not in current:
        current = current.rstrip("\n") + f"\n\n{START_MARK}\n{END_MARK}\n"
    head, rest = current.split(START_MARK, 1)
    _old, tail = rest.split(END_MARK, 1)
    doc.write_text(f"{head}{START_MARK}\n{text}\n{END_MARK}{tail}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collections-path", type=Path, required=True, help="holds ansible_collections/")
    parser.add_argument("--reps", type=int, default=5, help="rounds; each runs ping, get and bare get (default 5)")
    parser.add_argument("--list-reps", type=int, default=3, help="rounds that also run the listings (default 3)")
    parser.add_argument("--wait-reps", type=int, default=3, help="rounds that also run a wait (default 3)")
    parser.add_argument("--seed", type=int, default=5, help="seed of the command order (default 5)")
    parser.add_argument("--doc", type=Path, help="the docs/performance.md to write the results into")
    parser.add_argument("--aws-cli", help="the `aws` command (awscli 1.x) to compare with; without it, no CLI rows")
    parser.add_argument("--no-write", action="store_true", help="print only; write no --doc")
    parser.add_argument(
        "--only",
        action="append",
        choices=CASES,
        help="measure only this case (and ping, every floor's part); repeatable; prints, writes no --doc",
    )
    args = parser.parse_args(argv)
    if args.only:
        args.no_write = True
    if not args.no_write and args.doc is None:
        parser.error("give --doc (the checkout's docs/performance.md) or --no-write")
    args.list_reps = min(args.list_reps, args.reps)
    args.wait_reps = min(args.wait_reps, args.reps)
    problem = check_installed(args.collections_path)
    if problem:
        print(f"run.py: {problem}", file=sys.stderr)
        return 2

    load_before = os.getloadavg()[0]
    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ib-bench-")
    try:
        with local_endpoint(scenario(args.wait_reps)) as endpoint:
            bench = Bench(args, endpoint, workdir)
            print(
                f"benchmarks: endpoint {endpoint.url}; {args.reps} rounds ({args.list_reps} with listings)", flush=True
            )
            bench.rounds()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if bench.errors:
        print("benchmarks: commands failed:\n  " + "\n  ".join(bench.errors), file=sys.stderr)
        return 2

    out, memory, day = report(bench.samples, bench.reached)
    ok = all(out.verdicts)
    info = {
        **machine(),
        "Python": platform.python_version(),
        **versions(args.collections_path),
        **aws_cli_versions(args.aws_cli, args.collections_path),
        "load average (1 min) before/after": f"{load_before:.1f}/{os.getloadavg()[0]:.1f}",
    }
    defaults = (args.reps, args.list_reps, args.wait_reps) == (5, 3, 3) and not args.only
    command = (
        "make bench"
        if defaults
        else (
            "python -m ansible_collections.imagebuilder_ops.aws.benchmarks.run "
            f"--reps {args.reps} --list-reps {args.list_reps} --wait-reps {args.wait_reps}"
            + "".join(f" --only '{case}'" for case in args.only or ())
        )
    )
    text = "\n".join(
        [
            f"Latest run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.monotonic() - began:.0f} s; "
            f"reproduce with `{command}`.",
            "",
            "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
            "",
            out.table(),
            "",
            memory_table(memory),
            "",
            *([day_of_waits(day), ""] if day else []),
            f"Overall: {'PASS' if ok else 'FAIL'} ({sum(out.verdicts)} of {len(out.verdicts)} goals met).",
        ]
    )
    print()
    print(text)
    if not args.no_write:
        write_doc(args.doc, text)
        print(f"\nbenchmarks: written to {args.doc}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
