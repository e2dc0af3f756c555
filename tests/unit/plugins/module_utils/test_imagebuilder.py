# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import datetime

import botocore.session
import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import imagebuilder as ib
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import EXECUTION_ID
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGE_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import T0
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution_id


def throttle(stubber, operation, times, code="CallRateLimitExceededException", status=429):
    for _dummy in range(times):
        stubber.add_client_error(operation, service_error_code=code, http_status_code=status)


# --- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, pattern",
    [
        ("LifecycleExecutionId", ib.LIFECYCLE_EXECUTION_ID_PATTERN),
        ("LifecyclePolicyArn", ib.LIFECYCLE_POLICY_ARN_PATTERN),
        ("ImageBuildVersionArn", ib.IMAGE_BUILD_VERSION_ARN_PATTERN),
        ("RoleNameOrArn", ib.ROLE_NAME_OR_ARN_PATTERN),
    ],
)
def test_patterns_are_the_installed_botocore_models(shape, pattern):
    model = botocore.session.get_session().get_service_model("imagebuilder")
    assert model.shape_for(shape).metadata["pattern"] == pattern


def test_well_formed_options_pass():
    params = dict(
        lifecycle_execution_id=EXECUTION_ID,
        lifecycle_policy_arn=POLICY_ARN,
        image_arn=IMAGE_ARN,
        wait_timeout=1,
        wait_sleep=1,
    )
    assert ib.validate_options(params) == []


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("lifecycle_execution_id", "lce-123", "a lifecycle execution ID such as lce-"),
        ("lifecycle_execution_id", "", "a lifecycle execution ID"),
        ("lifecycle_execution_id", EXECUTION_ID + "0", "a lifecycle execution ID"),
        ("lifecycle_execution_id", EXECUTION_ID + "\n", "a lifecycle execution ID"),
        ("parent_resource_id", "", "a resource ID of 1 to 1024 characters"),
        ("parent_resource_id", "x" * 1025, "a resource ID of 1 to 1024 characters"),
        ("lifecycle_execution_id", EXECUTION_ID.replace("lce-", "ami-"), "a lifecycle execution ID"),
        ("lifecycle_policy_arn", "golden-ami-cleanup", "a lifecycle policy ARN such as arn:aws:imagebuilder:"),
        ("lifecycle_policy_arn", IMAGE_ARN, "a lifecycle policy ARN"),
        ("image_arn", POLICY_ARN, "an image build version ARN such as"),
        ("image_arn", "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0", "an image build version"),
        ("wait_timeout", 0, "greater than 0"),
        ("wait_timeout", -5, "greater than 0"),
        ("wait_sleep", 0, "at least 1"),
    ],
)
def test_malformed_options_are_named_with_their_expected_form(option, value, expected):
    (message,) = ib.validate_options({option: value})
    assert message.startswith(f"{option}: ")
    assert expected in message


# --- get and normalise --------------------------------------------------------------------------------------------


def test_get_returns_snake_case_with_iso8601_times(client):
    wrapped, stubber = client
    answer = execution(
        "SUCCESS", endTime=T0 + datetime.timedelta(minutes=4), state={"status": "SUCCESS", "reason": "ok"}
    )
    stubber.add_response(
        "get_lifecycle_execution", {"lifecycleExecution": answer}, {"lifecycleExecutionId": EXECUTION_ID}
    )

    result = ib.describe_lifecycle_execution(wrapped, {"lifecycle_execution_id": EXECUTION_ID})

    assert result == {
        "lifecycle_execution_id": EXECUTION_ID,
        "lifecycle_policy_arn": POLICY_ARN,
        "resources_impacted_summary": {"has_impacted_resources": True},
        "state": {"status": "SUCCESS", "reason": "ok"},
        "start_time": "2026-11-28T06:00:00+00:00",
        "end_time": "2026-11-28T06:04:00+00:00",
    }


def test_normalize_matches_camel_dict_to_snake_dict_with_iso8601_times():
    answer = {
        "lifecycleExecutionId": EXECUTION_ID,
        "resources": [{"imageUris": ["a"], "snapshots": [{"snapshotId": "snap-1", "startTime": T0}]}],
        "lifecycleExecutionState": {"status": "SUCCESS"},
    }
    assert ib.normalize(answer) == {
        "lifecycle_execution_id": EXECUTION_ID,
        "resources": [{"image_uris": ["a"], "snapshots": [{"snapshot_id": "snap-1", "start_time": T0.isoformat()}]}],
        "lifecycle_execution_state": {"status": "SUCCESS"},
    }


def test_normalize_drops_response_metadata():
    assert ib.normalize({"ResponseMetadata": {"RequestId": "x"}, "nextToken": "t"}) == {"next_token": "t"}


def test_unknown_execution_is_named(client):
    wrapped, stubber = client
    stubber.add_client_error("get_lifecycle_execution", "ResourceNotFoundException", "nope", 404)

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == f"Lifecycle execution {EXECUTION_ID} was not found"


def test_other_errors_say_what_failed(client):
    wrapped, stubber = client
    stubber.add_client_error("get_lifecycle_execution", "ForbiddenException", "denied", 403)

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == "Failed to get lifecycle execution"
    assert "ForbiddenException" in str(raised.value)


# --- retries ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, status",
    [("CallRateLimitExceededException", 429), ("ServiceException", 500), ("ServiceUnavailableException", 503)],
)
def test_eight_faults_in_a_row_are_survived(client, sleeps, code, status):
    wrapped, stubber = client
    throttle(stubber, "get_lifecycle_execution", 8, code, status)
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution()})

    assert ib.get_lifecycle_execution(wrapped, EXECUTION_ID)["state"]["status"] == "SUCCESS"
    assert len(sleeps) == 8


def test_retries_are_bounded(client, sleeps):
    wrapped, stubber = client
    throttle(stubber, "get_lifecycle_execution", ib.RETRY_ATTEMPTS)

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert "CallRateLimitExceededException" in str(raised.value)
    assert len(sleeps) == ib.RETRY_ATTEMPTS - 1
    assert max(sleeps) <= 8
    assert sum(sleeps) <= 0.5 + 1 + 2 + 4 + 8 * (ib.RETRY_ATTEMPTS - 5)


def test_other_client_errors_are_not_retried(client, sleeps):
    wrapped, stubber = client
    stubber.add_client_error("get_lifecycle_execution", "InvalidRequestException", "bad", 400)

    with pytest.raises(ib.ImageBuilderError):
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert sleeps == []


# --- listings -----------------------------------------------------------------------------------------------------


def test_listing_reads_every_page_at_the_largest_size_and_survives_a_throttled_page(client, sleeps):
    wrapped, stubber = client
    executions = [execution(execution_id=execution_id(n), start=T0 - datetime.timedelta(hours=n)) for n in range(60)]
    pages = [executions[0:25], executions[25:50], executions[50:60]]
    base = {"resourceArn": POLICY_ARN, "maxResults": PAGE_SIZE}
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": pages[0], "nextToken": "t1"}, base)
    throttle(stubber, "list_lifecycle_executions", 3)
    stubber.add_response(
        "list_lifecycle_executions", {"lifecycleExecutions": pages[1], "nextToken": "t2"}, {**base, "nextToken": "t1"}
    )
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": pages[2]}, {**base, "nextToken": "t2"})

    result = ib.list_lifecycle_executions_for(wrapped, {"lifecycle_policy_arn": POLICY_ARN})

    assert [e["lifecycle_execution_id"] for e in result] == [execution_id(n) for n in range(60)]
    assert len(sleeps) == 3


def test_listing_is_sorted_newest_first_with_unstarted_executions_first(client):
    wrapped, stubber = client
    old = execution(execution_id=execution_id(1), start=T0 - datetime.timedelta(days=2))
    new = execution(execution_id=execution_id(2), start=T0)
    pending = execution("PENDING", execution_id=execution_id(3))
    del pending["startTime"]
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": [old, pending, new]})

    result = ib.list_lifecycle_executions_for(wrapped, {"lifecycle_policy_arn": POLICY_ARN})

    assert [e["lifecycle_execution_id"] for e in result] == [execution_id(3), execution_id(2), execution_id(1)]


def test_listing_by_image_passes_it_as_resource_arn_and_returns_empty_list(client):
    wrapped, stubber = client
    stubber.add_response(
        "list_lifecycle_executions", {"lifecycleExecutions": []}, {"resourceArn": IMAGE_ARN, "maxResults": PAGE_SIZE}
    )

    assert ib.list_lifecycle_executions_for(wrapped, {"image_arn": IMAGE_ARN}) == []


def test_resources_are_paged_with_the_parent_filter_and_normalised(client, sleeps):
    wrapped, stubber = client
    ami = {
        "accountId": "123456789012",
        "resourceId": "ami-0123456789abcdef0",
        "state": {"status": "SUCCESS"},
        "action": {"name": "DEPRECATE", "reason": "older than 90 days"},
        "region": "us-east-1",
        "snapshots": [{"snapshotId": "snap-0123456789abcdef0", "state": {"status": "SUCCESS"}}],
        "startTime": T0,
    }
    container = {"accountId": "123456789012", "resourceId": "golden-container", "imageUris": ["repo:1.0.0-3"]}
    base = {"lifecycleExecutionId": EXECUTION_ID, "parentResourceId": IMAGE_ARN, "maxResults": PAGE_SIZE}
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution()})
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [ami], "nextToken": "r1"}, base)
    throttle(stubber, "list_lifecycle_execution_resources", 1, "ServiceUnavailableException", 503)
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [container]}, {**base, "nextToken": "r1"})

    result = ib.describe_lifecycle_execution(
        wrapped, {"lifecycle_execution_id": EXECUTION_ID, "include_resources": True, "parent_resource_id": IMAGE_ARN}
    )

    assert result["resources"] == [
        {
            "account_id": "123456789012",
            "resource_id": "ami-0123456789abcdef0",
            "state": {"status": "SUCCESS"},
            "action": {"name": "DEPRECATE", "reason": "older than 90 days"},
            "region": "us-east-1",
            "snapshots": [{"snapshot_id": "snap-0123456789abcdef0", "state": {"status": "SUCCESS"}}],
            "start_time": "2026-11-28T06:00:00+00:00",
        },
        {"account_id": "123456789012", "resource_id": "golden-container", "image_uris": ["repo:1.0.0-3"]},
    ]


# --- waiting ------------------------------------------------------------------------------------------------------


def polls(client, *statuses):
    wrapped, stubber = client
    for status in statuses:
        stubber.add_response(
            "get_lifecycle_execution", {"lifecycleExecution": execution(status)}, {"lifecycleExecutionId": EXECUTION_ID}
        )
    return wrapped


WAIT = {"lifecycle_execution_id": EXECUTION_ID, "wait": True, "wait_timeout": 600, "wait_sleep": 15}


@pytest.mark.parametrize("terminal", ["SUCCESS", "FAILED", "CANCELLED"])
def test_wait_polls_once_per_sleep_until_terminal(client, clock, terminal):
    wrapped = polls(client, "PENDING", "IN_PROGRESS", "CANCELLING", terminal)

    result = ib.describe_lifecycle_execution(wrapped, WAIT, clock=clock, sleep=clock.sleep)

    assert result["state"]["status"] == terminal
    assert clock.sleeps == [15, 15, 15]  # four polls, and Stubber fails on any fifth call


def test_wait_on_a_terminal_execution_costs_one_call_and_no_sleep(client, clock):
    wrapped = polls(client, "FAILED")

    assert ib.describe_lifecycle_execution(wrapped, WAIT, clock=clock, sleep=clock.sleep)["state"]["status"] == "FAILED"
    assert clock.sleeps == []


def test_wait_times_out_with_the_last_execution_seen(client, clock):
    wrapped = polls(client, "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS")
    params = dict(WAIT, wait_timeout=40)

    with pytest.raises(ib.LifecycleExecutionWaitTimeout) as raised:
        ib.describe_lifecycle_execution(wrapped, params, clock=clock, sleep=clock.sleep)

    # Polls at 0, 15, 30 and a last one at the deadline (40 s): the last sleep is cut to what is left.
    assert clock.sleeps == [15, 15, 10]
    assert raised.value.lifecycle_execution["state"]["status"] == "IN_PROGRESS"
    assert raised.value.message == (
        f"Timed out after 40 seconds waiting for lifecycle execution {EXECUTION_ID} to finish; "
        "last status seen: IN_PROGRESS"
    )


def test_wait_polls_are_retried_when_throttled(client, clock, sleeps):
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution("IN_PROGRESS")})
    throttle(stubber, "get_lifecycle_execution", 2)
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution("SUCCESS")})

    result = ib.describe_lifecycle_execution(wrapped, WAIT, clock=clock, sleep=clock.sleep)

    assert result["state"]["status"] == "SUCCESS"
    assert clock.sleeps == [15]
    assert len(sleeps) == 2


def test_resources_are_read_once_after_the_wait(client, clock):
    wrapped, stubber = client
    for status in ("IN_PROGRESS", "SUCCESS"):
        stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution(status)})
    stubber.add_response(
        "list_lifecycle_execution_resources",
        {"resources": []},
        {"lifecycleExecutionId": EXECUTION_ID, "maxResults": PAGE_SIZE},
    )

    result = ib.describe_lifecycle_execution(
        wrapped, dict(WAIT, include_resources=True), clock=clock, sleep=clock.sleep
    )

    assert result["resources"] == []
    assert result["state"]["status"] == "SUCCESS"


# --- unreadable answers -------------------------------------------------------------------------------------------


def test_an_empty_or_unreadable_get_answer_is_an_error(client):
    # botocore parses a non-JSON or cut-short body into an answer with no member at all.
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {})

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == (
        "Image Builder's answer to GetLifecycleExecution has no lifecycleExecution: it was empty or unreadable"
    )


def test_an_unreadable_page_fails_the_listing_instead_of_ending_it(client):
    wrapped, stubber = client
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": [execution()], "nextToken": "t1"})
    stubber.add_response("list_lifecycle_executions", {})

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.list_lifecycle_executions(wrapped, POLICY_ARN)
    assert "has no lifecycleExecutions" in raised.value.message


def test_an_answer_botocore_cannot_parse_is_an_error(client, monkeypatch):
    wrapped, dummy = client

    def broken_parser(**kwargs):
        raise AttributeError("'list' object has no attribute 'get'")

    monkeypatch.setattr(wrapped.client, "get_lifecycle_execution", broken_parser)
    monkeypatch.delattr(wrapped, "get_lifecycle_execution", raising=False)

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == "Image Builder sent an unreadable answer to GetLifecycleExecution"
