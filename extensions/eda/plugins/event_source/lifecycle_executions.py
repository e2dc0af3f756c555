# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An ansible-rulebook event source: one event each time an EC2 Image Builder lifecycle execution reaches a status."""

import asyncio
import importlib
import logging
import math
import re
import sys
import time
from pathlib import Path

DOCUMENTATION = r"""
---
author:
  - imagebuilder_ops maintainers (@imagebuilder-ops)
short_description: Receive an event when an EC2 Image Builder lifecycle execution ends
description:
  - An ansible-rulebook event source plugin that lists the lifecycle executions of lifecycle policies and of image
    build versions every O(interval) seconds (ListLifecycleExecutions, every page) and puts one event on the queue
    for each execution whose status changed into one of O(statuses) since the source started, exactly once per
    execution and status.
  - Executions that were already in one of O(statuses) when the source started are not reported.
  - Each event holds the execution as M(imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info) returns it
    (snake_case keys, ISO 8601 times) under C(lifecycle_execution), and the ARN it was listed under as
    C(watched_arn).
  - Throttling (C(CallRateLimitExceededException)) and Image Builder's 5xx errors are retried with the collection's
    bounded jittered backoff. A round that still fails is logged and the next round tries again; the source never
    stops the rulebook.
  - Needs boto3 and botocore, and ansible-core and amazon.aws (the C(ansible) package has both) where ansible-rulebook
    runs, as a decision environment has them. It finds this collection's code and amazon.aws's in the collections path
    it was installed in, then in C(ANSIBLE_COLLECTIONS_PATH), then, unless C(ANSIBLE_COLLECTIONS_SCAN_SYS_PATH) is
    false, in the Python's own C(ansible_collections); when it cannot, it stops at start with one line naming what
    it looked for and where.
  - IAM permissions, C(imagebuilder:ListLifecycleExecutions), and C(imagebuilder:ListLifecycleExecutionResources) with
    O(include_resources).
options:
  lifecycle_policy_arns:
    description:
      - ARNs of lifecycle policies whose executions to watch.
      - At least one of O(lifecycle_policy_arns) and O(image_arns) is required.
    type: list
    elements: str
  image_arns:
    description:
      - ARNs of image build versions whose executions (those StartResourceStateUpdate started) to watch.
    type: list
    elements: str
  statuses:
    description:
      - The statuses to report.
    type: list
    elements: str
    choices: [PENDING, IN_PROGRESS, CANCELLING, CANCELLED, FAILED, SUCCESS]
    default: [SUCCESS, FAILED, CANCELLED]
  include_resources:
    description:
      - Add the resources the execution impacted to the event, under C(lifecycle_execution.resources) as a tree of
        images, each with its AMIs, snapshots and containers under C(child_resources).
    type: bool
    default: false
  interval:
    description:
      - Seconds between two rounds.
    type: float
    default: 60
  region:
    description:
      - The AWS region; else C(AWS_REGION) or the profile's.
    type: str
  endpoint_url:
    description:
      - URL to connect to instead of the default AWS endpoint; else C(AWS_ENDPOINT_URL_IMAGEBUILDER) or
        C(AWS_ENDPOINT_URL).
    type: str
  profile:
    description:
      - A named profile of the AWS configuration files; else C(AWS_PROFILE).
    type: str
    aliases: [aws_profile]
  access_key:
    description:
      - AWS access key ID; else the environment (C(AWS_ACCESS_KEY_ID)), the profile or the instance's role.
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description:
      - AWS secret access key.
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description:
      - STS session token for temporary credentials.
    type: str
    aliases: [aws_session_token]
"""

EXAMPLES = r"""
- imagebuilder_ops.aws.lifecycle_executions:
    region: us-east-1
    lifecycle_policy_arns:
      - arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
    interval: 60

- imagebuilder_ops.aws.lifecycle_executions:
    region: us-east-1
    image_arns:
      - arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/1
    statuses: [FAILED, CANCELLED]
    include_resources: true
"""

MODULE_UTILS = "ansible_collections.imagebuilder_ops.aws.plugins.module_utils.imagebuilder"
RETRIES = "ansible_collections.amazon.aws.plugins.module_utils.retries"
# The collections whose code the source imports: this one, and amazon.aws under its module_utils.
COLLECTIONS_NEEDED = ("imagebuilder_ops.aws", "amazon.aws")
# Where this file sits in an installed collection, under ROOT/ansible_collections/imagebuilder_ops/aws.
INSTALLED_AT = ("ansible_collections", "imagebuilder_ops", "aws", "extensions", "eda", "plugins", "event_source")

DEFAULT_INTERVAL = 60
CREDENTIAL_ARGUMENTS = {
    # Our name (ansible.eda's), its alias (amazon.aws's), and boto3's.
    "profile": ("aws_profile", "profile_name"),
    "access_key": ("aws_access_key_id", "aws_access_key_id"),
    "secret_key": ("aws_secret_access_key", "aws_secret_access_key"),
    "session_token": ("aws_session_token", "aws_session_token"),
}
STRING_ARGUMENTS = ("region", "endpoint_url")
KNOWN_ARGUMENTS = frozenset(
    ("lifecycle_policy_arns", "image_arns", "statuses", "include_resources", "interval")
    + STRING_ARGUMENTS
    + tuple(CREDENTIAL_ARGUMENTS)
    + tuple(alias for alias, dummy in CREDENTIAL_ARGUMENTS.values())
)

logger = logging.getLogger("imagebuilder_ops.aws.lifecycle_executions")


class CollectionLoadError(ImportError):
    """The collection's shared code, or amazon.aws's under it, cannot be imported where the source runs."""


def collection_root(source_file):
    """ROOT when source_file is ROOT/ansible_collections/imagebuilder_ops/aws/<INSTALLED_AT>/<file>, else None.

    The path is made absolute, not resolved: a collection linked into a collections path is found under that path.
    """
    parts = Path(source_file).absolute().parent.parts
    if parts[-len(INSTALLED_AT) :] != INSTALLED_AT:
        return None
    return str(Path(*parts[: -len(INSTALLED_AT)]))


def module_utils():
    """The collection's shared AWS code: its retry policy, listing, resource tree and normaliser.

    ansible-rulebook runs a source from its file (runpy), outside any package, so ``ansible_collections`` is what
    ansible-core's collection loader makes it: this collection's root first, then the configured collections paths
    (ANSIBLE_COLLECTIONS_PATH or ~/.ansible/collections), then, unless ANSIBLE_COLLECTIONS_SCAN_SYS_PATH is false,
    the ``ansible_collections`` of the Python's own paths (where the ``ansible`` package keeps amazon.aws).
    Raises CollectionLoadError, one line naming what is missing and where it was looked for.
    """
    if __name__.startswith("ansible_collections."):
        # Imported as a module of the collection (its unit tests): the rest of the collection imports the same way.
        return importlib.import_module(MODULE_UTILS)
    try:
        from ansible import constants  # pylint: disable=import-outside-toplevel
        from ansible.plugins.loader import init_plugin_loader  # pylint: disable=import-outside-toplevel
        from ansible.utils.collection_loader import AnsibleCollectionConfig  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise CollectionLoadError(
            f"imagebuilder_ops.aws.lifecycle_executions needs ansible-core (or the ansible package) in the Python "
            f"that runs ansible-rulebook, {sys.executable}: {e}"
        ) from None
    root = collection_root(__file__)
    if AnsibleCollectionConfig.collection_finder is None:
        # An ``ansible_collections`` imported before the loader exists (a plain import finds the ansible package's
        # directory in site-packages) would hide every collections path from it: the loader must own the name.
        for name in [name for name in sys.modules if name.split(".")[0] == "ansible_collections"]:
            del sys.modules[name]
        init_plugin_loader([root] if root else [])
    try:
        return importlib.import_module(MODULE_UTILS)
    except ImportError as e:
        raise CollectionLoadError(
            import_failure(
                e.name or MODULE_UTILS, root, constants.COLLECTIONS_PATHS, constants.COLLECTIONS_SCAN_SYS_PATH
            )
        ) from None


def import_failure(module, root, collections_paths, scan_sys_path):
    """One line: which collection the missing module belongs to, where the loader looked, and what to do."""
    missing = module
    for collection in COLLECTIONS_NEEDED:
        if (module + ".").startswith("ansible_collections.%s." % collection.split(".", maxsplit=1)[0]):
            missing = f"the collection {collection} (no module {module})"
            break
    where = ([root] if root else []) + [path for path in collections_paths if path != root]
    if scan_sys_path:
        where.append(f"the ansible_collections directories on the Python path of {sys.executable}")
    else:
        where.append("not the Python path (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH is false)")
    return (
        f"imagebuilder_ops.aws.lifecycle_executions cannot import {missing}; looked in {', '.join(where)}. "
        "Install it into one of those collections paths or name its path in ANSIBLE_COLLECTIONS_PATH"
    )


def _as_bool(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.strip().lower() in ("true", "yes", "on", "1")
    raise ValueError(f"{name}: {value!r} is not a boolean (true or false)")


def _string_list(name, value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name}: {value!r} is not a list of strings")
    return list(value)


def execution_statuses():
    """LifecycleExecutionStatus's values, from the installed botocore model."""
    import botocore.session  # pylint: disable=import-outside-toplevel

    model = botocore.session.get_session().get_service_model("imagebuilder")
    return tuple(model.shape_for("LifecycleExecutionStatus").enum)


def parse_args(args, ib):
    """The source's settings from its arguments, or ValueError naming the first bad argument. Makes no call."""
    args = dict(args or {})
    unknown = sorted(set(args) - KNOWN_ARGUMENTS)
    if unknown:
        raise ValueError(f"unknown argument(s): {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_ARGUMENTS))}")

    arns = []
    for name, option in (("lifecycle_policy_arns", "lifecycle_policy_arn"), ("image_arns", "image_arn")):
        pattern, form = ib.OPTION_FORMS[option]
        for arn in _string_list(name, args.get(name) or []):
            if not re.fullmatch(pattern, arn):
                raise ValueError(f"{name}: {arn!r} is not {form}")
            if arn not in arns:
                arns.append(arn)
    if not arns:
        raise ValueError("lifecycle_policy_arns or image_arns: give at least one ARN to watch")

    known_statuses = execution_statuses()
    statuses = args.get("statuses")
    statuses = sorted(ib.TERMINAL_STATUSES) if statuses is None else _string_list("statuses", statuses)
    bad = [status for status in statuses if status not in known_statuses]
    if bad or not statuses:
        raise ValueError(f"statuses: {bad or statuses!r} must be a non-empty list of {', '.join(known_statuses)}")

    interval = args.get("interval", DEFAULT_INTERVAL)
    try:
        interval = float(interval)
    except (TypeError, ValueError):
        interval = None
    if interval is None or not math.isfinite(interval) or interval <= 0:
        raise ValueError(f"interval: {args.get('interval')!r} is not a number of seconds greater than 0")

    connection = {}
    for name in STRING_ARGUMENTS:
        if args.get(name) is not None:
            if not isinstance(args[name], str) or not args[name]:
                raise ValueError(f"{name}: {args[name]!r} is not a non-empty string")
            connection["region_name" if name == "region" else name] = args[name]
    for name, (alias, boto3_name) in CREDENTIAL_ARGUMENTS.items():
        given = {key: args[key] for key in (name, alias) if args.get(key) is not None}
        if len(set(map(str, given.values()))) > 1:
            raise ValueError(f"{name} and {alias} are the same argument: give one of them")
        for key, value in given.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key}: is not a non-empty string")  # never echo a credential
            connection[boto3_name] = value

    return {
        "arns": arns,
        "statuses": frozenset(statuses),
        "include_resources": _as_bool("include_resources", args.get("include_resources", False)),
        "interval": interval,
        "connection": connection,
    }


def connect(connection, ib):
    """An Image Builder client whose calls retry with the collection's policy (``aws_retry=True``)."""
    import boto3  # pylint: disable=import-outside-toplevel
    import botocore.config  # pylint: disable=import-outside-toplevel

    retries = importlib.import_module(RETRIES)
    session_args = {k: v for k, v in connection.items() if k not in ("region_name", "endpoint_url")}
    session = boto3.session.Session(**session_args)
    client = session.client(
        "imagebuilder",
        region_name=connection.get("region_name"),
        endpoint_url=connection.get("endpoint_url"),
        config=botocore.config.Config(user_agent_extra="ansible-eda-source/lifecycle_executions"),
    )
    return retries.RetryingBotoClientWrapper(client, ib.retry_decorator)


class LifecycleExecutionWatcher:
    """What the source has seen, and one round of listing.

    ``last`` holds each execution's last status seen and ``reported`` each (execution, status) already put on the
    queue. An execution's status is recorded only once its event is on the queue, so a round that fails half way
    loses nothing: the next round finds the same change again, and a change already reported is never reported
    twice.
    """

    def __init__(self, client, ib, arns, statuses, include_resources=False, started_at=None):
        self.client = client
        self.ib = ib
        self.arns = arns
        self.statuses = statuses
        self.include_resources = include_resources
        self.started_at = time.time() if started_at is None else started_at
        self.last = {}
        self.reported = set()
        self.baseline_done = set()
        self.baseline_late = set()

    def _changes(self, arn, executions):
        """The executions of one listing to report, and records the others' statuses."""
        baseline = arn not in self.baseline_done
        changes = []
        for execution in executions:
            execution_id = execution.get("lifecycleExecutionId")
            status = self.ib.status_of(execution)
            if not execution_id or status is None:
                logger.warning("Skipping a lifecycle execution of %s without an id or a status", arn)
                continue
            if status not in self.statuses or (execution_id, status) in self.reported:
                self.last[execution_id] = status
            elif self.last.get(execution_id) == status:
                continue
            elif baseline and execution_id not in self.last and not self._ended_since_start(arn, execution):
                # Already there when the source started: history, not news.
                self.last[execution_id] = status
            else:
                changes.append(execution)
        self.baseline_done.add(arn)
        return changes

    def _ended_since_start(self, arn, execution):
        """Whether an execution first listed late (the source's first listings of ``arn`` failed) ended after the
        source started: such an execution is news, not history."""
        end_time = execution.get("endTime")
        return arn in self.baseline_late and end_time is not None and end_time.timestamp() >= self.started_at

    def _event(self, arn, execution):
        if self.include_resources:
            execution = dict(execution)
            execution["resources"] = self.ib.list_impacted_resources(self.client, execution["lifecycleExecutionId"])
        return {"lifecycle_execution": self.ib.normalize(execution), "watched_arn": arn}

    async def poll(self, queue, arn):
        """List one ARN's executions and put an event on the queue for each change; raises when a call fails."""
        executions = await asyncio.to_thread(self.ib.list_lifecycle_executions, self.client, arn)
        # Oldest first, so that the events of one round come in the order the executions started.
        for execution in reversed(self._changes(arn, executions)):
            event = await asyncio.to_thread(self._event, arn, execution)
            await queue.put(event)
            execution_id, status = execution["lifecycleExecutionId"], self.ib.status_of(execution)
            self.reported.add((execution_id, status))
            self.last[execution_id] = status

    async def run_round(self, queue):
        """One round over every watched ARN. A failure is logged; the next round tries that ARN again."""
        failures = 0
        for arn in self.arns:
            try:
                await self.poll(queue, arn)
            except Exception as e:  # pylint: disable=broad-exception-caught
                failures += 1
                if arn not in self.baseline_done:
                    self.baseline_late.add(arn)
                detail = f"{e.message}: {e.exception}" if isinstance(e, self.ib.ImageBuilderError) else repr(e)
                logger.error("Round failed for %s, trying again in the next round: %s", arn, detail)
        return failures


async def main(queue, args):
    """Watch Image Builder lifecycle executions and put an event on the queue when one reaches a reported status."""
    ib = module_utils()
    settings = parse_args(args, ib)
    started_at = time.time()
    client = await asyncio.to_thread(connect, settings["connection"], ib)
    watcher = LifecycleExecutionWatcher(
        client, ib, settings["arns"], settings["statuses"], settings["include_resources"], started_at
    )
    logger.info("Watching the lifecycle executions of %s every %s s", ", ".join(settings["arns"]), settings["interval"])
    while True:
        await watcher.run_round(queue)
        await asyncio.sleep(settings["interval"])


if __name__ == "__main__":
    # A quick manual run: prints the events, e.g. with AWS_PROFILE and AWS_REGION set.

    class MockQueue:
        """A queue that prints what is put on it."""

        async def put(self, event):
            print(event)  # noqa: T201

    logging.basicConfig(level=logging.INFO)
    asyncio.run(
        main(
            MockQueue(),
            {
                "lifecycle_policy_arns": ["arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/my-policy"],
                "interval": 10,
            },
        )
    )
