# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The lifecycle_executions event source: its argument checks, change detection, since, watching every policy,
retries and failed rounds, against a stubbed client (ansible-rulebook is not needed: the source imports without it)."""

import asyncio
import datetime
import threading

import pytest
import yaml

from ansible_collections.imagebuilder_ops.aws.extensions.eda.plugins.event_source import lifecycle_executions as source
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_execution as le
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_policy as lp
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_ACCESS_KEY
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SECRET_KEY
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGE_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import T0
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import errors
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution_id

# The collection's module_utils, as the source loads them.
SHARED = source.Shared(common=common, executions=le, policies=lp)

HISTORY, FIRST, SECOND, THIRD = (execution_id(n) for n in (1, 2, 3, 4))
# After the source started: the executions' start times tell their order in a listing (newest first).
STARTED_AT = (T0 - datetime.timedelta(minutes=30)).timestamp()


class Queue:
    """What the source puts on the queue."""

    def __init__(self):
        self.events = []

    async def put(self, event):
        self.events.append(event)


def ex(n_id, status, minutes, **extra):
    return execution(status, execution_id=n_id, start=T0 + datetime.timedelta(minutes=minutes), **extra)


def listing(stubber, items, arn=POLICY_ARN):
    stubber.add_response(
        "list_lifecycle_executions", {"lifecycleExecutions": items}, {"resourceArn": arn, "maxResults": PAGE_SIZE}
    )


def watcher(client, arns=(POLICY_ARN,), statuses=le.TERMINAL_STATUSES, include_resources=False, since=None):
    return source.LifecycleExecutionWatcher(client, SHARED, list(arns), statuses, include_resources, STARTED_AT, since)


def run_round(w, queue):
    return asyncio.run(w.run_round(queue))


def seen(queue):
    return [
        (e["lifecycle_execution"]["lifecycle_execution_id"], e["lifecycle_execution"]["state"]["status"])
        for e in queue.events
    ]


# --- arguments -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, named",
    [
        ({"lifecycle_policy_arns": [IMAGE_ARN]}, "lifecycle_policy_arns: "),
        ({"lifecycle_policy_arns": POLICY_ARN + "\n"}, "lifecycle_policy_arns: "),
        ({"image_arns": [POLICY_ARN]}, "image_arns: "),
        ({"image_arns": [1]}, "image_arns: "),
        ({"image_arns": [IMAGE_ARN], "statuses": ["DONE"]}, "statuses: "),
        ({"image_arns": [IMAGE_ARN], "statuses": []}, "statuses: "),
        ({"image_arns": [IMAGE_ARN], "interval": 0}, "interval: "),
        ({"image_arns": [IMAGE_ARN], "interval": "soon"}, "interval: "),
        ({"image_arns": [IMAGE_ARN], "include_resources": "maybe"}, "include_resources: "),
        ({"image_arns": [IMAGE_ARN], "region": 3}, "region: "),
        ({"image_arns": [IMAGE_ARN], "intervall": 5}, "unknown argument(s): intervall"),
        ({"image_arns": [IMAGE_ARN], "access_key": "AKIA1", "aws_access_key_id": "AKIA2"}, "access_key and aws_"),
        ({"since": "2 hours"}, "since: '2 hours' is not an ISO 8601 time with its offset"),
        ({"lifecycle_policy_filters": "all"}, "lifecycle_policy_filters: 'all' is not a dictionary of name,"),
        ({"lifecycle_policy_filters": {"names": "golden*"}}, "lifecycle_policy_filters: unknown key(s) names"),
        ({"lifecycle_policy_filters": {"name": "gol*den"}}, "lifecycle_policy_filters.name: 'gol*den' has a * inside"),
        ({"lifecycle_policy_filters": {"status": "on"}}, "lifecycle_policy_filters.status: 'on' is not one of enabled"),
        ({"lifecycle_policy_filters": {"resource_type": "ami"}}, "lifecycle_policy_filters.resource_type: 'ami' is"),
    ],
)
def test_bad_arguments_fail_at_start_naming_the_argument_before_any_call(monkeypatch, args, named):
    monkeypatch.setattr(source, "connect", lambda *a: pytest.fail("a client was made"))
    with pytest.raises(ValueError) as raised:
        asyncio.run(source.main(Queue(), args))
    assert named in str(raised.value)


def test_credentials_are_never_echoed():
    with pytest.raises(ValueError) as raised:
        source.parse_args({"image_arns": [IMAGE_ARN], "secret_key": "", "access_key": "AKIA-VISIBLE"}, SHARED)
    assert "secret_key" in str(raised.value)
    assert "AKIA-VISIBLE" not in str(raised.value)


def test_defaults_and_the_names_of_ansible_eda_and_amazon_aws():
    settings = source.parse_args(
        {
            "lifecycle_policy_arns": [POLICY_ARN, POLICY_ARN],
            "image_arns": IMAGE_ARN,
            "aws_profile": "ops",
            "access_key": "AKIA1",
            "aws_secret_access_key": "s",
            "session_token": "t",
            "region": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:1",
        },
        SHARED,
    )
    assert settings["arns"] == [POLICY_ARN, IMAGE_ARN]
    # ARNs named, no filters: only those; no since: only what ends after the start.
    assert settings["policy_filters"] is None
    assert settings["since"] is None
    assert settings["statuses"] == {"SUCCESS", "FAILED", "CANCELLED"}
    assert settings["interval"] == 60
    assert settings["include_resources"] is False
    assert settings["connection"] == {
        "profile_name": "ops",
        "aws_access_key_id": "AKIA1",
        "aws_secret_access_key": "s",
        "aws_session_token": "t",
        "region_name": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:1",
    }
    # What a rulebook's template renders is a string.
    assert source.parse_args({"image_arns": [IMAGE_ARN], "interval": "1", "include_resources": "true"}, SHARED)[
        "interval"
    ] == pytest.approx(1.0)


def test_the_documentation_parses_and_names_every_argument_and_its_examples_are_accepted():
    documentation = yaml.safe_load(source.DOCUMENTATION)
    names = set(documentation["options"])
    names |= {alias for option in documentation["options"].values() for alias in option.get("aliases", [])}
    assert names == source.KNOWN_ARGUMENTS
    assert set(documentation["options"]["lifecycle_policy_filters"]["suboptions"]) == set(source.POLICY_FILTERS)
    for example in yaml.safe_load(source.EXAMPLES):
        source.parse_args(example["imagebuilder_ops.aws.lifecycle_executions"], SHARED)


def test_statuses_are_those_of_the_installed_model():
    assert set(le.TERMINAL_STATUSES) <= set(source.execution_statuses())
    assert "IN_PROGRESS" in source.execution_statuses()


NOW = T0.timestamp()


@pytest.mark.parametrize(
    "since, seconds_before_now",
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        (" 2h ", 7200),
        ("2026-11-28T05:00:00Z", 3600),
        ("2026-11-28T04:00:00+00:00", 7200),
        ("2026-11-28T06:30:00+01:00", 1800),
        ("2026-11-28T05:59:59.5z", 0.5),
        # An unquoted time in a rulebook: YAML's timestamp.
        (datetime.datetime(2026, 11, 28, 5, 0, tzinfo=datetime.timezone.utc), 3600),
    ],
)
def test_since_takes_an_iso_8601_time_or_a_duration_before_the_start(since, seconds_before_now):
    assert source.parse_since(since, NOW) == pytest.approx(NOW - seconds_before_now)


@pytest.mark.parametrize(
    "since",
    [
        "2",
        "2w",
        "2H",
        "0h",
        "-1h",
        "1.5h",
        "h",
        "2h30m",
        "",
        "yesterday",
        "2026-11-28",
        "2026-11-28T05:00:00",
        "2026-11-28 05:00:00Z",
        "2026-13-28T05:00:00Z",
        7200,
        None,
        datetime.datetime(2026, 11, 28, 5, 0),
        datetime.date(2026, 11, 28),
    ],
)
def test_since_refuses_other_forms_naming_the_argument_and_the_forms(since):
    with pytest.raises(ValueError) as raised:
        source.parse_since(since, NOW)
    assert str(raised.value) == f"since: {since!r} is not {source.SINCE_FORM}"


def test_since_refuses_a_time_after_the_start():
    with pytest.raises(ValueError, match=r"^since: '2026-11-28T06:00:01Z' is after the source's start"):
        source.parse_since("2026-11-28T06:00:01Z", NOW)


@pytest.mark.parametrize(
    "args, arns, policy_filters",
    [
        # Nothing named: every policy.
        ({}, [], {}),
        ({"lifecycle_policy_arns": [], "image_arns": None}, [], {}),
        ({"image_arns": [IMAGE_ARN]}, [IMAGE_ARN], None),
        # "All" on top of named ARNs, and filters as the info module takes them.
        ({"image_arns": [IMAGE_ARN], "lifecycle_policy_filters": {}}, [IMAGE_ARN], {}),
        (
            {"lifecycle_policy_filters": {"name": "*cleanup*", "resource_type": "AMI_IMAGE", "status": "enabled"}},
            [],
            {"name": "*cleanup*", "resource_type": "ami_image", "status": "enabled"},
        ),
        ({"lifecycle_policy_filters": {"name": "golden ami*", "status": None}}, [], {"name": "golden ami*"}),
    ],
)
def test_what_is_watched(args, arns, policy_filters):
    settings = source.parse_args(args, SHARED, NOW)
    assert settings["arns"] == arns
    assert settings["policy_filters"] == policy_filters


def test_since_is_counted_from_the_start():
    assert source.parse_args({"since": "2h"}, SHARED, NOW)["since"] == NOW - 7200


# --- change detection ----------------------------------------------------------------------------------------------


def test_first_round_only_records_then_each_change_is_reported_once(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    # Round 1: history already terminal, and two running.
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2), ex(FIRST, "PENDING", 1), ex(HISTORY, "SUCCESS", -60)])
    # Round 2: SECOND failed.
    listing(stubber, [ex(SECOND, "FAILED", 2), ex(FIRST, "IN_PROGRESS", 1), ex(HISTORY, "SUCCESS", -60)])
    # Round 3: FIRST succeeded, THIRD started and was cancelled between two rounds.
    listing(
        stubber,
        [ex(THIRD, "CANCELLED", 3), ex(SECOND, "FAILED", 2), ex(FIRST, "SUCCESS", 1), ex(HISTORY, "SUCCESS", -60)],
    )
    # Round 4: nothing new.
    listing(
        stubber,
        [ex(THIRD, "CANCELLED", 3), ex(SECOND, "FAILED", 2), ex(FIRST, "SUCCESS", 1), ex(HISTORY, "SUCCESS", -60)],
    )

    assert run_round(w, queue) == 0
    assert queue.events == []
    run_round(w, queue)
    assert seen(queue) == [(SECOND, "FAILED")]
    run_round(w, queue)
    run_round(w, queue)
    assert seen(queue) == [(SECOND, "FAILED"), (FIRST, "SUCCESS"), (THIRD, "CANCELLED")]


def test_the_event_is_the_execution_as_the_info_module_returns_it(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [])
    failed = ex(FIRST, "FAILED", 1, endTime=T0 + datetime.timedelta(minutes=9))
    failed["state"]["reason"] = "AMI in use"
    listing(stubber, [failed])
    run_round(w, queue)
    run_round(w, queue)
    assert queue.events == [
        {
            "watched_arn": POLICY_ARN,
            "lifecycle_execution": {
                "lifecycle_execution_id": FIRST,
                "lifecycle_policy_arn": POLICY_ARN,
                "resources_impacted_summary": {"has_impacted_resources": True},
                "state": {"status": "FAILED", "reason": "AMI in use"},
                "start_time": "2026-11-28T06:01:00+00:00",
                "end_time": "2026-11-28T06:09:00+00:00",
            },
        }
    ]
    assert queue.events[0]["lifecycle_execution"] == common.normalize(failed)


def test_statuses_chooses_what_is_reported(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, statuses={"IN_PROGRESS", "FAILED"})
    listing(stubber, [ex(FIRST, "PENDING", 1), ex(HISTORY, "FAILED", -60)])
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1), ex(HISTORY, "FAILED", -60)])
    listing(stubber, [ex(FIRST, "SUCCESS", 1), ex(HISTORY, "FAILED", -60)])
    for _dummy in range(3):
        run_round(w, queue)
    assert seen(queue) == [(FIRST, "IN_PROGRESS")]


def test_answers_without_an_id_or_a_status_are_skipped(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [])
    listing(stubber, [{}, {"lifecycleExecutionId": FIRST}, ex(SECOND, "SUCCESS", 2)])
    run_round(w, queue)
    assert run_round(w, queue) == 0
    assert seen(queue) == [(SECOND, "SUCCESS")]


# --- retries and failed rounds -------------------------------------------------------------------------------------


def test_throttling_is_retried_within_the_round_with_the_collections_backoff(client, sleeps):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    errors(stubber, "list_lifecycle_executions", 3)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    run_round(w, queue)
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "SUCCESS")]
    assert len(sleeps) == 3 and all(0 <= s <= 8 for s in sleeps)


def test_a_round_that_still_fails_is_logged_and_the_next_one_loses_and_repeats_nothing(client, sleeps, caplog):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1), ex(SECOND, "IN_PROGRESS", 2)])
    # A throttling storm that outlasts the backoff, then a denied call, then the endpoint's answer.
    errors(stubber, "list_lifecycle_executions", common.RETRY_ATTEMPTS)
    errors(stubber, "list_lifecycle_executions", 1, "AccessDeniedException", 403)
    listing(stubber, [ex(SECOND, "SUCCESS", 2), ex(FIRST, "FAILED", 1)])
    listing(stubber, [ex(SECOND, "SUCCESS", 2), ex(FIRST, "FAILED", 1)])
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert run_round(w, queue) == 1
    assert queue.events == []
    assert "AccessDeniedException" in caplog.text and POLICY_ARN in caplog.text
    run_round(w, queue)
    run_round(w, queue)
    assert seen(queue) == [(FIRST, "FAILED"), (SECOND, "SUCCESS")]
    assert len(sleeps) == common.RETRY_ATTEMPTS - 1


def test_one_arn_failing_does_not_hold_the_others_back(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, arns=(POLICY_ARN, IMAGE_ARN))
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2)], arn=IMAGE_ARN)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    errors(stubber, "list_lifecycle_executions", 1, "AccessDeniedException", 403)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    listing(stubber, [ex(SECOND, "FAILED", 2)], arn=IMAGE_ARN)
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert [e["watched_arn"] for e in queue.events] == [POLICY_ARN]
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "SUCCESS"), (SECOND, "FAILED")]
    assert [e["watched_arn"] for e in queue.events] == [POLICY_ARN, IMAGE_ARN]


def test_a_first_listing_that_comes_late_reports_what_ended_since_the_start(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    errors(stubber, "list_lifecycle_executions", 1, "AccessDeniedException", 403)
    ended_since = ex(
        FIRST, "SUCCESS", 1, endTime=datetime.datetime.fromtimestamp(STARTED_AT + 5, datetime.timezone.utc)
    )
    ended_before = ex(HISTORY, "SUCCESS", -90, endTime=T0 - datetime.timedelta(hours=1))
    listing(stubber, [ended_since, ended_before])
    run_round(w, queue)
    run_round(w, queue)
    assert seen(queue) == [(FIRST, "SUCCESS")]


def test_an_execution_that_ended_between_the_start_and_its_first_listing_is_reported(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(
        stubber,
        [ex(FIRST, "SUCCESS", 1, endTime=at(STARTED_AT + 1)), ex(HISTORY, "SUCCESS", -60, endTime=at(STARTED_AT - 1))],
    )
    run_round(w, queue)
    assert seen(queue) == [(FIRST, "SUCCESS")]


# --- since ---------------------------------------------------------------------------------------------------------


def at(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


SINCE = STARTED_AT - 3600


def test_since_reports_what_ended_after_it_once_in_the_order_they_ended_across_arns(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, arns=(POLICY_ARN, IMAGE_ARN), since=SINCE)
    # Listed newest first by start; they ended in another order, and under two ARNs.
    listing(
        stubber,
        [
            ex(THIRD, "SUCCESS", 3, endTime=at(SINCE + 60)),
            ex(FIRST, "FAILED", 1, endTime=at(SINCE + 600)),
            ex(HISTORY, "FAILED", -90, endTime=at(SINCE - 1)),
        ],
    )
    listing(stubber, [ex(SECOND, "CANCELLED", 2, endTime=at(SINCE + 300))], arn=IMAGE_ARN)
    listing(stubber, [ex(THIRD, "SUCCESS", 3, endTime=at(SINCE + 60)), ex(FIRST, "FAILED", 1, endTime=at(SINCE + 600))])
    listing(stubber, [ex(SECOND, "CANCELLED", 2, endTime=at(SINCE + 300))], arn=IMAGE_ARN)
    run_round(w, queue)
    run_round(w, queue)
    assert seen(queue) == [(THIRD, "SUCCESS"), (SECOND, "CANCELLED"), (FIRST, "FAILED")]


@pytest.mark.parametrize("since, reported", [(SINCE, [(FIRST, "IN_PROGRESS"), (SECOND, "FAILED")]), (None, [])])
def test_a_reported_status_without_an_end_time_is_news_with_since_and_history_without(client, since, reported):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, statuses={"IN_PROGRESS", "FAILED"}, since=since)
    # When FIRST reached IN_PROGRESS is not in the answer; SECOND's answer lacks its endTime.
    listing(stubber, [ex(SECOND, "FAILED", 2), ex(FIRST, "IN_PROGRESS", -120)])
    run_round(w, queue)
    assert seen(queue) == reported


def test_a_restart_with_since_reports_what_ended_while_down_and_repeats_only_what_ended_within_since(client):
    wrapped, stubber = client
    before = Queue()
    w = watcher(wrapped)
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2), ex(FIRST, "IN_PROGRESS", 1), ex(HISTORY, "SUCCESS", -90)])
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2), ex(FIRST, "FAILED", 1, endTime=at(STARTED_AT + 60))])
    run_round(w, before)
    run_round(w, before)
    assert seen(before) == [(FIRST, "FAILED")]
    # The source stops; SECOND and THIRD end while it is down; it starts again with since before FIRST's end.
    restarted_at = STARTED_AT + 600
    after = Queue()
    w = source.LifecycleExecutionWatcher(
        wrapped, SHARED, [POLICY_ARN], le.TERMINAL_STATUSES, started_at=restarted_at, since=STARTED_AT
    )
    listing(
        stubber,
        [
            ex(THIRD, "CANCELLED", 3, endTime=at(STARTED_AT + 400)),
            ex(SECOND, "SUCCESS", 2, endTime=at(STARTED_AT + 300)),
            ex(FIRST, "FAILED", 1, endTime=at(STARTED_AT + 60)),
            ex(HISTORY, "SUCCESS", -90, endTime=at(STARTED_AT - 3600)),
        ],
    )
    run_round(w, after)
    # At least once: FIRST again, as it ended after since; then what ended while down, in the order they ended.
    assert seen(after) == [(FIRST, "FAILED"), (SECOND, "SUCCESS"), (THIRD, "CANCELLED")]


# --- every lifecycle policy ----------------------------------------------------------------------------------------

OTHER_POLICY = POLICY_ARN.replace("golden-ami-cleanup", "container-cleanup")


def policies(stubber, arns, filters=None):
    expected = {"maxResults": POLICY_PAGE_SIZE, **({"filters": filters} if filters else {})}
    summaries = [{"arn": arn, "name": arn.rsplit("/", 1)[-1]} for arn in arns]
    stubber.add_response("list_lifecycle_policies", {"lifecyclePolicySummaryList": summaries}, expected)


def every_policy(client, policy_filters=None, **kwargs):
    return source.LifecycleExecutionWatcher(
        client,
        SHARED,
        [],
        le.TERMINAL_STATUSES,
        started_at=STARTED_AT,
        list_policies=lambda: source.lifecycle_policy_arns(lp, client, policy_filters or {}),
        **kwargs,
    )


def test_every_policy_is_listed_each_round_and_a_new_one_is_watched_from_the_round_it_appears(client):
    wrapped, stubber = client
    queue = Queue()
    w = every_policy(wrapped, {"name": "*cleanup", "status": "enabled"})
    wanted = [{"name": "name", "values": ["*cleanup"]}, {"name": "status", "values": ["ENABLED"]}]
    policies(stubber, [POLICY_ARN], wanted)
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    # OTHER_POLICY appears: what ended after the source started is news though it ended before it was found.
    # (Listed in the policy listing's order.)
    policies(stubber, [OTHER_POLICY, POLICY_ARN], wanted)
    listing(
        stubber,
        [ex(SECOND, "FAILED", 2, endTime=at(STARTED_AT + 5)), ex(HISTORY, "SUCCESS", -90, endTime=at(STARTED_AT - 5))],
        arn=OTHER_POLICY,
    )
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    assert run_round(w, queue) == 0
    assert run_round(w, queue) == 0
    assert seen(queue) == [(SECOND, "FAILED")]
    assert queue.events[0]["watched_arn"] == OTHER_POLICY


def test_a_policy_that_leaves_the_listing_is_listed_one_last_time_then_no_more_without_an_error(client, caplog):
    wrapped, stubber = client
    queue = Queue()
    w = every_policy(wrapped)
    policies(stubber, [OTHER_POLICY, POLICY_ARN])
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2)], arn=OTHER_POLICY)
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    # Both deleted: the last listing of one finds its cancelled execution; the other's listing is refused.
    policies(stubber, [])
    errors(stubber, "list_lifecycle_executions", 1, "ResourceNotFoundException", 404)
    listing(stubber, [ex(FIRST, "CANCELLED", 1, endTime=at(STARTED_AT + 9))])
    policies(stubber, [])
    run_round(w, queue)
    assert run_round(w, queue) == 0
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "CANCELLED")]
    assert "Round failed" not in caplog.text


def test_a_failed_policy_listing_keeps_watching_the_policies_found_before(client, sleeps):
    wrapped, stubber = client
    queue = Queue()
    w = every_policy(wrapped)
    policies(stubber, [POLICY_ARN])
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    errors(stubber, "list_lifecycle_policies", 1, "AccessDeniedException", 403)
    listing(stubber, [ex(FIRST, "SUCCESS", 1, endTime=at(STARTED_AT + 9))])
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert seen(queue) == [(FIRST, "SUCCESS")]


def test_a_policy_also_named_is_listed_once_per_round(client):
    wrapped, stubber = client
    queue = Queue()
    w = every_policy(wrapped)
    w.arns = [POLICY_ARN]
    policies(stubber, [POLICY_ARN])
    listing(stubber, [ex(FIRST, "SUCCESS", 1, endTime=at(STARTED_AT + 9))])
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "SUCCESS")]


# --- include_resources ---------------------------------------------------------------------------------------------


def test_include_resources_adds_the_tree_and_a_failure_retries_the_event_next_round(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, include_resources=True)
    image = {"resourceId": IMAGE_ARN, "accountId": "123456789012", "region": "us-east-1"}
    ami = {"resourceId": "ami-0123456789abcdef0", "accountId": "123456789012", "region": "us-east-1"}
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    top = {"lifecycleExecutionId": FIRST, "maxResults": PAGE_SIZE}
    errors(stubber, "list_lifecycle_execution_resources", 1, "AccessDeniedException", 403)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [image]}, top)
    stubber.add_response(
        "list_lifecycle_execution_resources", {"resources": [ami]}, {**top, "parentResourceId": IMAGE_ARN}
    )
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert queue.events == []
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "SUCCESS")]
    resources = queue.events[0]["lifecycle_execution"]["resources"]
    assert resources == [
        {
            "resource_id": IMAGE_ARN,
            "account_id": "123456789012",
            "region": "us-east-1",
            "child_resources": [
                {"resource_id": "ami-0123456789abcdef0", "account_id": "123456789012", "region": "us-east-1"}
            ],
        }
    ]


def test_an_event_that_cannot_be_made_holds_back_the_later_ones_so_the_order_holds(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, include_resources=True)
    first_end, second_end = at(STARTED_AT + 10), at(STARTED_AT + 20)
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2), ex(FIRST, "IN_PROGRESS", 1)])
    listing(stubber, [ex(SECOND, "SUCCESS", 2, endTime=second_end), ex(FIRST, "FAILED", 1, endTime=first_end)])
    errors(stubber, "list_lifecycle_execution_resources", 1, "AccessDeniedException", 403)
    listing(stubber, [ex(SECOND, "SUCCESS", 2, endTime=second_end), ex(FIRST, "FAILED", 1, endTime=first_end)])
    for listed_id in (FIRST, SECOND):
        stubber.add_response(
            "list_lifecycle_execution_resources",
            {"resources": []},
            {"lifecycleExecutionId": listed_id, "maxResults": PAGE_SIZE},
        )
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert queue.events == []
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "FAILED"), (SECOND, "SUCCESS")]


# --- main ----------------------------------------------------------------------------------------------------------


class Stop(Exception):
    pass


def test_main_runs_the_calls_off_the_event_loop_and_waits_interval_between_rounds(client, monkeypatch):
    wrapped, stubber = client
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    listing(stubber, [ex(FIRST, "FAILED", 1)])
    monkeypatch.setattr(source, "connect", lambda connection, utils: wrapped)
    threads = []
    real_list = le.list_lifecycle_executions

    def spy(*args):
        threads.append(threading.current_thread())
        return real_list(*args)

    monkeypatch.setattr(le, "list_lifecycle_executions", spy)
    naps = []

    async def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            raise Stop

    monkeypatch.setattr(source.asyncio, "sleep", sleep)
    queue = Queue()
    with pytest.raises(Stop):
        asyncio.run(source.main(queue, {"lifecycle_policy_arns": [POLICY_ARN], "interval": 2}))
    assert naps == [2, 2]
    assert seen(queue) == [(FIRST, "FAILED")]
    assert threads and threading.main_thread() not in threads


def test_main_with_no_arns_lists_every_policy_off_the_event_loop(client, monkeypatch):
    wrapped, stubber = client
    policies(stubber, [POLICY_ARN])
    listing(stubber, [ex(FIRST, "FAILED", 1, endTime=at(NOW - 60)), ex(HISTORY, "FAILED", -90, endTime=at(NOW - 7201))])
    monkeypatch.setattr(source, "connect", lambda connection, utils: wrapped)
    monkeypatch.setattr(source.time, "time", lambda: NOW)
    threads = []
    real_list = lp.list_lifecycle_policies

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_list(*args, **kwargs)

    monkeypatch.setattr(lp, "list_lifecycle_policies", spy)

    async def sleep(seconds):
        raise Stop

    monkeypatch.setattr(source.asyncio, "sleep", sleep)
    queue = Queue()
    with pytest.raises(Stop):
        asyncio.run(source.main(queue, {"since": "2h"}))
    assert seen(queue) == [(FIRST, "FAILED")]
    assert threads and threading.main_thread() not in threads


# Loading the collection's code where ansible-rulebook runs the source from its file: the layouts themselves are
# tested end to end in tests/eda; here, which root the file names and what the one-line failure says.
INSTALLED = "/srv/eda/collections/ansible_collections/imagebuilder_ops/aws/extensions/eda/plugins/event_source"


@pytest.mark.parametrize(
    "source_file, root",
    [
        (INSTALLED + "/lifecycle_executions.py", "/srv/eda/collections"),
        # A checkout is no collections root: the configured paths must hold the collection.
        ("/home/me/imagebuilder_ops/extensions/eda/plugins/event_source/lifecycle_executions.py", None),
        ("/srv/ansible_collections/other/aws/extensions/eda/plugins/event_source/lifecycle_executions.py", None),
    ],
)
def test_collection_root_is_the_installed_collections_path(source_file, root):
    assert source.collection_root(source_file) == root


def test_collection_root_keeps_a_linked_install(tmp_path):
    # A checkout linked into a collections path is found under the link, not where the link points.
    checkout = tmp_path / "checkout"
    (checkout / "extensions/eda/plugins/event_source").mkdir(parents=True)
    namespace = tmp_path / "collections/ansible_collections/imagebuilder_ops"
    namespace.mkdir(parents=True)
    (namespace / "aws").symlink_to(checkout)
    linked = namespace / "aws/extensions/eda/plugins/event_source/lifecycle_executions.py"
    assert source.collection_root(str(linked)) == str(tmp_path / "collections")


def test_import_failure_names_the_collection_and_every_place_looked_in():
    message = source.import_failure(
        "ansible_collections.amazon",
        "/srv/eda/collections",
        ["/srv/eda/collections", "/root/.ansible/collections"],
        False,
    )
    assert message == (
        "imagebuilder_ops.aws.lifecycle_executions cannot import the collection amazon.aws (no module"
        " ansible_collections.amazon); looked in /srv/eda/collections, /root/.ansible/collections, not the Python path"
        " (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH is false). Install it into one of those collections paths or name its"
        " path in ANSIBLE_COLLECTIONS_PATH"
    )


def test_import_failure_of_another_module_names_it_and_the_python_path():
    message = source.import_failure("botocore", None, ["/usr/share/ansible/collections"], True)
    assert message.startswith("imagebuilder_ops.aws.lifecycle_executions cannot import botocore; looked in ")
    assert "/usr/share/ansible/collections, the ansible_collections directories on the Python path of " in message
    assert "\n" not in message


def test_the_region_comes_from_the_argument_else_aws_region_else_boto3_s_own(monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    keys = {"aws_access_key_id": FAKE_ACCESS_KEY, "aws_secret_access_key": FAKE_SECRET_KEY}
    assert source.connect(keys, common).meta.region_name == "eu-west-1"
    assert source.connect(dict(keys, region_name="ap-south-1"), common).meta.region_name == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert source.connect(keys, common).meta.region_name == "us-west-2"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ValueError, match="^region: no region is given"):
        source.connect(keys, common)
