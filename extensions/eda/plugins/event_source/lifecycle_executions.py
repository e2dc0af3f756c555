# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An ansible-rulebook event source: one event each time an EC2 Image Builder lifecycle execution reaches a status."""

import asyncio
import collections
import datetime
import functools
import importlib
import logging
import math
import os
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
    for each execution whose status changed into one of O(statuses) since the source started, once per execution
    and status while the source runs.
  - Without O(since), executions that were already in one of O(statuses) when the source started are not reported.
    With O(since), the first listing of each ARN also reports those that reached one of O(statuses) after that
    point, so that a source restarted after a crash or a redeploy reports what ended while it was down, at least
    once (what it had reported shortly before it stopped comes again).
  - The events of one round come in the order the executions ended (their C(endTime); an execution in a status
    before its end by its C(startTime)).
  - Without O(lifecycle_policy_arns) and O(image_arns), or with O(lifecycle_policy_filters), it watches every
    lifecycle policy of the account and region that ListLifecyclePolicies lists, listed anew each round, so that a
    policy created later is watched from the round it appears and one deleted is listed no more.
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
  - IAM permissions, C(imagebuilder:ListLifecycleExecutions); C(imagebuilder:ListLifecyclePolicies) when it watches
    every policy; C(imagebuilder:ListLifecycleExecutionResources) with O(include_resources).
options:
  lifecycle_policy_arns:
    description:
      - ARNs of lifecycle policies whose executions to watch.
      - Without O(lifecycle_policy_arns) and O(image_arns), the source watches every lifecycle policy that
        ListLifecyclePolicies lists, as with O(lifecycle_policy_filters={}).
    type: list
    elements: str
  image_arns:
    description:
      - ARNs of image build versions whose executions (those StartResourceStateUpdate started) to watch.
    type: list
    elements: str
  lifecycle_policy_filters:
    description:
      - Watch every lifecycle policy of the account and region that ListLifecyclePolicies lists with these filters
        (as M(imagebuilder_ops.aws.imagebuilder_lifecycle_policy_info) takes them), besides the ARNs given; V({})
        for every policy.
      - The policies are listed at the start of each round (one call per page of 100), so a policy created later is
        watched from the next round (an execution of it that ended after the source started, or after O(since), is
        reported even when it ended before the policy was found), and one deleted, or that no longer matches, is
        listed one last time and then no more, without an error.
    type: dict
    suboptions:
      name:
        description:
          - Policies with this name, as written when each was created (case matters). A C(*) at the start, the end
            or both matches any text there, such as C(golden*) or C(*cleanup*).
        type: str
      resource_type:
        description: Policies for this type of image.
        type: str
        choices: [ami_image, container_image]
      status:
        description: Policies with this status.
        type: str
        choices: [enabled, disabled]
  since:
    description:
      - Also report, in the first listing of each ARN, the executions that reached one of O(statuses) after this
        point, each once, in the order they ended. An ISO 8601 time with its offset, such as
        C(2026-12-07T18:00:00Z), or a duration before the source's start, a whole number followed by C(s), C(m),
        C(h) or C(d), such as C(2h).
      - An execution counts by its C(endTime). One in a reported status that has not ended (or whose answer has no
        C(endTime)) is reported too, as when it reached its status is not in the answer and a repeat is the safe side.
      - Give a span longer than the longest time the source may be down. What was reported within it before a
        restart is reported again, so make the rulebook's actions safe to run twice for the same execution.
      - Without it, an execution is reported only when it reaches one of O(statuses) after the source started.
    type: str
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

# Every ENABLED AMI policy whose name starts with golden, including those created later; after a restart, what
# ended in the last two hours is reported (again).
- imagebuilder_ops.aws.lifecycle_executions:
    region: us-east-1
    lifecycle_policy_filters:
      name: golden*
      resource_type: ami_image
      status: enabled
    since: 2h
"""

# The collection's module_utils the source uses: the plumbing, lifecycle executions, lifecycle policies.
SHARED_UTILS = {
    "common": "ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common",
    "executions": "ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_execution",
    "policies": "ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_policy",
}
Shared = collections.namedtuple("Shared", list(SHARED_UTILS))
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
# lifecycle_policy_filters' keys, with their choices (None: any string of the filter's form).
POLICY_FILTERS = {"name": None, "resource_type": ("ami_image", "container_image"), "status": ("enabled", "disabled")}
SINCE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_FORM = (
    "an ISO 8601 time with its offset, such as 2026-12-07T18:00:00Z, or a duration before the start: a whole number"
    " greater than 0 followed by s, m, h or d, such as 2h"
)
KNOWN_ARGUMENTS = frozenset(
    ("lifecycle_policy_arns", "image_arns", "lifecycle_policy_filters", "since", "statuses", "include_resources")
    + ("interval",)
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


def module_utils(name):
    """A module of the collection's shared AWS code (``name``, one of SHARED_UTILS).

    ansible-rulebook runs a source from its file (runpy), outside any package, so ``ansible_collections`` is what
    ansible-core's collection loader makes it: this collection's root first, then the configured collections paths
    (ANSIBLE_COLLECTIONS_PATH or ~/.ansible/collections), then, unless ANSIBLE_COLLECTIONS_SCAN_SYS_PATH is false,
    the ``ansible_collections`` of the Python's own paths (where the ``ansible`` package keeps amazon.aws).
    Raises CollectionLoadError, one line naming what is missing and where it was looked for.
    """
    if __name__.startswith("ansible_collections."):
        # Imported as a module of the collection (its unit tests): the rest of the collection imports the same way.
        return importlib.import_module(name)
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
        return importlib.import_module(name)
    except ImportError as e:
        raise CollectionLoadError(
            import_failure(e.name or name, root, constants.COLLECTIONS_PATHS, constants.COLLECTIONS_SCAN_SYS_PATH)
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


def parse_since(value, now):
    """``since`` as epoch seconds: an ISO 8601 time with its offset, or a duration before ``now``. ValueError naming
    the argument and the form otherwise, and for a time after ``now``."""
    when = None
    if isinstance(value, datetime.datetime):
        # An unquoted time in a rulebook arrives as YAML's timestamp.
        when = value
    elif isinstance(value, str):
        text = value.strip()
        duration = re.fullmatch(r"([0-9]+)([smhd])", text)
        if duration and int(duration.group(1)) > 0:
            return now - int(duration.group(1)) * SINCE_UNITS[duration.group(2)]
        if "T" in text.upper():
            # Python before 3.11 does not read a trailing Z.
            text = re.sub(r"[zZ]$", "+00:00", text)
            try:
                when = datetime.datetime.fromisoformat(text)
            except ValueError:
                when = None
    if when is None or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"since: {value!r} is not {SINCE_FORM}")
    if when.timestamp() > now:
        raise ValueError(f"since: {value!r} is after the source's start: give a time in the past, or a duration")
    return when.timestamp()


def parse_policy_filters(value, policies):
    """``lifecycle_policy_filters`` as list_lifecycle_policies' arguments, or ValueError naming the bad key."""
    if not isinstance(value, dict):
        raise ValueError(
            f"lifecycle_policy_filters: {value!r} is not a dictionary of {', '.join(POLICY_FILTERS)} ({{}} for every"
            " policy)"
        )
    unknown = sorted(set(map(str, value)) - set(POLICY_FILTERS))
    if unknown:
        raise ValueError(
            f"lifecycle_policy_filters: unknown key(s) {', '.join(unknown)}; known: {', '.join(POLICY_FILTERS)}"
        )
    filters = {}
    for key, choices in POLICY_FILTERS.items():
        given = value.get(key)
        if given is None:
            continue
        if choices is None:
            if not isinstance(given, str):
                raise ValueError(f"lifecycle_policy_filters.name: {given!r} is not a policy name, such as golden*")
            # The policy info module's own check of its name filter, so that both refuse the same names.
            errors = policies.name_filter_errors(given)
            if errors:
                raise ValueError("lifecycle_policy_filters." + "; ".join(errors))
            filters[key] = given
        elif isinstance(given, str) and given.lower() in choices:
            filters[key] = given.lower()
        else:
            raise ValueError(f"lifecycle_policy_filters.{key}: {given!r} is not one of {', '.join(choices)}")
    return filters


def parse_args(args, shared, now=None):
    """The source's settings from its arguments, or ValueError naming the first bad argument. Makes no call.

    ``now`` (epoch seconds, by default the current time) is the start that a ``since`` duration counts back from.
    """
    now = time.time() if now is None else now
    args = dict(args or {})
    unknown = sorted(set(args) - KNOWN_ARGUMENTS)
    if unknown:
        raise ValueError(f"unknown argument(s): {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_ARGUMENTS))}")

    arns = []
    forms = {
        "lifecycle_policy_arns": shared.common.LIFECYCLE_POLICY_ARN,
        "image_arns": shared.common.IMAGE_BUILD_VERSION_ARN,
    }
    for name, form in forms.items():
        for arn in _string_list(name, args.get(name) or []):
            if not shared.common.matches(form, arn):
                raise ValueError(f"{name}: {arn!r} is not {form.description}")
            if arn not in arns:
                arns.append(arn)
    policy_filters = args.get("lifecycle_policy_filters")
    if policy_filters is not None:
        policy_filters = parse_policy_filters(policy_filters, shared.policies)
    elif not arns:
        # Nothing named: every lifecycle policy of the account and region.
        policy_filters = {}

    since = args.get("since")
    if since is not None:
        since = parse_since(since, now)

    known_statuses = execution_statuses()
    statuses = args.get("statuses")
    statuses = sorted(shared.executions.TERMINAL_STATUSES) if statuses is None else _string_list("statuses", statuses)
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
        "policy_filters": policy_filters,
        "since": since,
        "statuses": frozenset(statuses),
        "include_resources": _as_bool("include_resources", args.get("include_resources", False)),
        "interval": interval,
        "connection": connection,
    }


def connect(connection, common):
    """An Image Builder client whose calls retry with the collection's policy (``aws_retry=True``)."""
    import boto3  # pylint: disable=import-outside-toplevel
    import botocore.config  # pylint: disable=import-outside-toplevel

    retries = importlib.import_module(RETRIES)
    session_args = {k: v for k, v in connection.items() if k not in ("region_name", "endpoint_url")}
    session = boto3.session.Session(**session_args)
    # As amazon.aws's modules: the region argument, else AWS_REGION (which boto3 alone does not read), else what
    # boto3 finds (AWS_DEFAULT_REGION, the profile's region).
    region = connection.get("region_name") or os.environ.get("AWS_REGION") or session.region_name
    if not region:
        raise ValueError("region: no region is given: set region, or AWS_REGION, or a profile's region")
    client = session.client(
        "imagebuilder",
        region_name=region,
        endpoint_url=connection.get("endpoint_url"),
        config=botocore.config.Config(user_agent_extra="ansible-eda-source/lifecycle_executions"),
    )
    return retries.RetryingBotoClientWrapper(client, common.retry_decorator)


def lifecycle_policy_arns(policies, client, policy_filters):
    """The ARNs of the policies ListLifecyclePolicies lists with the filters (every page)."""
    return [
        summary["arn"] for summary in policies.list_lifecycle_policies(client, **policy_filters) if summary.get("arn")
    ]


def _epoch(value):
    return value.timestamp() if isinstance(value, datetime.datetime) else None


def ended_order(change):
    """The order in which a round reports its changes: when each execution ended, or, for a status before the end
    (no endTime), when it started; unknown times last."""
    dummy, execution = change
    when = _epoch(execution.get("endTime"))
    if when is None:
        when = _epoch(execution.get("startTime"))
    return (when is None, when or 0.0, execution.get("lifecycleExecutionId"))


class LifecycleExecutionWatcher:
    """What the source has seen, and one round of listing.

    ``last`` holds each execution's last status seen and ``reported`` each (execution, status) already put on the
    queue. An execution's status is recorded only once its event is on the queue, so a round that fails half way
    loses nothing: the next round finds the same change again, and a change already reported is never reported
    twice by this process.

    The first listing of an ARN tells news from history by ``endTime``: an execution that reached a reported status
    after ``cutoff`` (``since``, else the source's start) is news, an earlier one history. With ``since``, an
    execution in a reported status without an ``endTime`` is news too (when it reached its status is unknown, and the
    user asked not to miss one); without it, history, as it was already there when the source started.

    ``list_policies``, when given, is called (in a thread) at the start of each round for the lifecycle policies to
    watch besides ``arns``.
    """

    def __init__(
        self,
        client,
        shared,
        arns,
        statuses,
        include_resources=False,
        started_at=None,
        since=None,
        list_policies=None,
    ):  # pylint: disable=too-many-arguments
        self.client = client
        self.shared = shared
        self.arns = list(arns)
        self.statuses = statuses
        self.include_resources = include_resources
        self.started_at = time.time() if started_at is None else started_at
        self.since = since
        self.cutoff = self.started_at if since is None else since
        self.list_policies = list_policies
        # The policies the last successful ListLifecyclePolicies listed, in its order.
        self.found = []
        self.last = {}
        self.reported = set()
        self.listed = set()

    def _is_news(self, execution):
        """Whether an execution in a reported status at its ARN's first listing reached that status after the cutoff."""
        ended = _epoch(execution.get("endTime"))
        if ended is None:
            return self.since is not None
        return ended >= self.cutoff

    def _changes(self, arn, executions):
        """The executions of one listing to report, and records the others' statuses."""
        first = arn not in self.listed
        changes = []
        for execution in executions:
            execution_id = execution.get("lifecycleExecutionId")
            status = self.shared.common.status_of(execution)
            if not execution_id or status is None:
                logger.warning("Skipping a lifecycle execution of %s without an id or a status", arn)
                continue
            if status not in self.statuses or (execution_id, status) in self.reported:
                self.last[execution_id] = status
            elif self.last.get(execution_id) == status:
                continue
            elif first and execution_id not in self.last and not self._is_news(execution):
                # Reached its status before the cutoff: history, not news.
                self.last[execution_id] = status
            else:
                changes.append((arn, execution))
        self.listed.add(arn)
        return changes

    def _event(self, arn, execution):
        if self.include_resources:
            execution = dict(execution)
            execution["resources"] = self.shared.executions.list_impacted_resources(
                self.client, execution["lifecycleExecutionId"]
            )
        return {"lifecycle_execution": self.shared.common.normalize(execution), "watched_arn": arn}

    def _log_failure(self, what, e):
        detail = f"{e.message}: {e.exception}" if isinstance(e, self.shared.common.ImageBuilderError) else repr(e)
        logger.error("Round failed for %s, trying again in the next round: %s", what, detail)

    async def _watched(self):
        """This round's ARNs, and those of policies that left the policy listing (listed one last time); raises when
        the policy listing fails (the policies found before are watched meanwhile)."""
        if self.list_policies is None:
            return self.arns, []
        found = await asyncio.to_thread(self.list_policies)
        left = [arn for arn in self.found if arn not in found]
        for arn in found:
            if arn not in self.found and arn not in self.arns:
                logger.info("Watching lifecycle policy %s, which ListLifecyclePolicies lists", arn)
        for arn in left:
            logger.info("Lifecycle policy %s is no longer listed: listing its executions one last time", arn)
        self.found = found
        return self.arns + [arn for arn in found if arn not in self.arns], [a for a in left if a not in self.arns]

    async def run_round(self, queue):
        """One round: the policy listing (when every policy is watched), one listing per watched ARN, then the events
        of all of them in the order the executions ended. A failure is logged; the next round tries again."""
        failures = 0
        try:
            arns, left = await self._watched()
        except Exception as e:  # pylint: disable=broad-exception-caught
            failures += 1
            self._log_failure("the lifecycle policy listing", e)
            arns, left = self.arns + [arn for arn in self.found if arn not in self.arns], []
        changes = []
        for arn in arns + left:
            try:
                executions = await asyncio.to_thread(self.shared.executions.list_lifecycle_executions, self.client, arn)
            except Exception as e:  # pylint: disable=broad-exception-caught
                if arn in left:
                    # A deleted policy may have no listing left: it is not watched any more, so this is no failure.
                    logger.info("Lifecycle policy %s is no longer watched; its last listing failed: %r", arn, e)
                else:
                    failures += 1
                    self._log_failure(arn, e)
                continue
            changes.extend(self._changes(arn, executions))
        for arn, execution in sorted(changes, key=ended_order):
            execution_id, status = execution["lifecycleExecutionId"], self.shared.common.status_of(execution)
            if (execution_id, status) in self.reported:
                continue  # listed under two watched ARNs
            try:
                event = await asyncio.to_thread(self._event, arn, execution)
            except Exception as e:  # pylint: disable=broad-exception-caught
                # The rest wait for the next round, which finds them again: the order they ended in holds.
                failures += 1
                self._log_failure(f"lifecycle execution {execution_id} of {arn}", e)
                break
            await queue.put(event)
            self.reported.add((execution_id, status))
            self.last[execution_id] = status
        return failures


def describe(settings):
    """What the source watches, for its first log line."""
    watched = []
    if settings["policy_filters"] is not None:
        filters = ", ".join(f"{k}={v}" for k, v in settings["policy_filters"].items())
        watched.append(f"every lifecycle policy ListLifecyclePolicies lists{' with ' + filters if filters else ''}")
    watched.extend(settings["arns"])
    since = settings["since"]
    since = f", since {datetime.datetime.fromtimestamp(since, datetime.timezone.utc).isoformat()}" if since else ""
    return f"{', '.join(watched)} every {settings['interval']} s{since}"


async def main(queue, args):
    """Watch Image Builder lifecycle executions and put an event on the queue when one reaches a reported status."""
    shared = Shared(**{name: module_utils(module) for name, module in SHARED_UTILS.items()})
    started_at = time.time()
    settings = parse_args(args, shared, started_at)
    client = await asyncio.to_thread(connect, settings["connection"], shared.common)
    list_policies = None
    if settings["policy_filters"] is not None:
        list_policies = functools.partial(lifecycle_policy_arns, shared.policies, client, settings["policy_filters"])
    watcher = LifecycleExecutionWatcher(
        client,
        shared,
        settings["arns"],
        settings["statuses"],
        settings["include_resources"],
        started_at,
        since=settings["since"],
        list_policies=list_policies,
    )
    logger.info("Watching the lifecycle executions of %s", describe(settings))
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
