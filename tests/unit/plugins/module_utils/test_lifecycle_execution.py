# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import datetime

import botocore.exceptions
import botocore.parsers
import botocore.session
import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_execution as le
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import resource_state_update as rsu
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import EXECUTION_ID
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGE_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import T0
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import errors
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution_id
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import gets

# --- get and normalise --------------------------------------------------------------------------------------------


def test_normalize_matches_camel_dict_to_snake_dict_with_iso8601_times():
    answer = {
        "lifecycleExecutionId": EXECUTION_ID,
        "resources": [{"imageUris": ["a"], "snapshots": [{"snapshotId": "snap-1", "startTime": T0}]}],
        "lifecycleExecutionState": {"status": "SUCCESS"},
    }
    assert common.normalize(answer) == {
        "lifecycle_execution_id": EXECUTION_ID,
        "resources": [{"image_uris": ["a"], "snapshots": [{"snapshot_id": "snap-1", "start_time": T0.isoformat()}]}],
        "lifecycle_execution_state": {"status": "SUCCESS"},
    }


# The model lists no ResourceNotFoundException for Get; older models describe ClientException as the answer to an
# invalid resource identifier. Whatever comes back, the message names the id and keeps the service's code and words.
@pytest.mark.parametrize(
    "code, status",
    [("ResourceNotFoundException", 404), ("ClientException", 400), ("InvalidRequestException", 400)],
)
def test_an_unknown_execution_is_named_with_the_services_own_error(client, code, status):
    wrapped, stubber = client
    stubber.add_client_error("get_lifecycle_execution", code, "The resource identifier is not valid", status)

    with pytest.raises(common.ImageBuilderError) as raised:
        le.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == f"Failed to get lifecycle execution {EXECUTION_ID}"
    assert raised.value.exception.response["Error"] == {"Code": code, "Message": "The resource identifier is not valid"}


@pytest.mark.parametrize(
    "call, operation, expected",
    [
        (
            lambda c: le.list_lifecycle_executions(c, POLICY_ARN),
            "list_lifecycle_executions",
            f"Failed to list the lifecycle executions of {POLICY_ARN}",
        ),
        (
            lambda c: le.list_lifecycle_execution_resources(c, EXECUTION_ID),
            "list_lifecycle_execution_resources",
            f"Failed to list the resources of lifecycle execution {EXECUTION_ID}",
        ),
        (
            lambda c: le.cancel_lifecycle_execution(c, EXECUTION_ID, "token"),
            "cancel_lifecycle_execution",
            f"Failed to cancel lifecycle execution {EXECUTION_ID}",
        ),
        (
            lambda c: rsu.start_resource_state_update(
                c, {"resourceArn": IMAGE_ARN, "state": {"status": "DISABLED"}, "clientToken": "t"}
            ),
            "start_resource_state_update",
            f"Failed to start a resource state update of {IMAGE_ARN}",
        ),
    ],
)
def test_every_failure_names_what_it_was_doing_to_which_resource(client, call, operation, expected):
    wrapped, stubber = client
    stubber.add_client_error(operation, "ForbiddenException", "denied", 403)

    with pytest.raises(common.ImageBuilderError) as raised:
        call(wrapped)
    assert raised.value.message == expected
    assert "ForbiddenException" in str(raised.value)


def test_a_connection_error_is_reported_as_what_failed(client, monkeypatch):
    wrapped, dummy = client

    def unreachable(**kwargs):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")

    monkeypatch.setattr(wrapped.client, "get_lifecycle_execution", unreachable)
    monkeypatch.delattr(wrapped, "get_lifecycle_execution", raising=False)

    with pytest.raises(common.ImageBuilderError) as raised:
        le.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == f"Failed to get lifecycle execution {EXECUTION_ID}"
    assert "Could not connect to the endpoint URL" in str(raised.value)


# --- retries ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, status",
    [
        ("CallRateLimitExceededException", 429),
        ("ServiceException", 500),
        ("ServiceUnavailableException", 503),
        ("ThrottlingException", 400),
    ],
)
def test_eight_faults_in_a_row_are_survived(client, sleeps, code, status):
    wrapped, stubber = client
    errors(stubber, "get_lifecycle_execution", 8, code, status)
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution()})

    assert le.get_lifecycle_execution(wrapped, EXECUTION_ID)["state"]["status"] == "SUCCESS"
    assert len(sleeps) == 8


def test_retries_are_bounded(client, sleeps):
    wrapped, stubber = client
    errors(stubber, "get_lifecycle_execution", common.RETRY_ATTEMPTS)

    with pytest.raises(common.ImageBuilderError) as raised:
        le.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert "CallRateLimitExceededException" in str(raised.value)
    assert len(sleeps) == common.RETRY_ATTEMPTS - 1
    assert max(sleeps) <= 8
    assert sum(sleeps) <= 0.5 + 1 + 2 + 4 + 8 * (common.RETRY_ATTEMPTS - 5)


def test_other_client_errors_are_not_retried(client, sleeps):
    wrapped, stubber = client
    stubber.add_client_error("get_lifecycle_execution", "InvalidRequestException", "bad", 400)

    with pytest.raises(common.ImageBuilderError):
        le.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert sleeps == []


# --- listings -----------------------------------------------------------------------------------------------------


def test_listing_reads_every_page_at_the_largest_size_and_survives_a_throttled_page(client, sleeps):
    wrapped, stubber = client
    executions = [execution(execution_id=execution_id(n), start=T0 - datetime.timedelta(hours=n)) for n in range(60)]
    pages = [executions[0:25], executions[25:50], executions[50:60]]
    base = {"resourceArn": POLICY_ARN, "maxResults": PAGE_SIZE}
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": pages[0], "nextToken": "t1"}, base)
    errors(stubber, "list_lifecycle_executions", 3)
    stubber.add_response(
        "list_lifecycle_executions", {"lifecycleExecutions": pages[1], "nextToken": "t2"}, {**base, "nextToken": "t1"}
    )
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": pages[2]}, {**base, "nextToken": "t2"})

    result = le.list_lifecycle_executions(wrapped, POLICY_ARN)

    assert [e["lifecycleExecutionId"] for e in result] == [execution_id(n) for n in range(60)]
    assert len(sleeps) == 3


def test_listing_is_sorted_newest_first_with_unstarted_executions_first(client):
    wrapped, stubber = client
    old = execution(execution_id=execution_id(1), start=T0 - datetime.timedelta(days=2))
    new = execution(execution_id=execution_id(2), start=T0)
    pending = execution("PENDING", execution_id=execution_id(3))
    del pending["startTime"]
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": [old, pending, new]})

    result = le.list_lifecycle_executions(wrapped, POLICY_ARN)

    assert [e["lifecycleExecutionId"] for e in result] == [execution_id(3), execution_id(2), execution_id(1)]


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
    errors(stubber, "list_lifecycle_execution_resources", 1, "ServiceUnavailableException", 503)
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [container]}, {**base, "nextToken": "r1"})

    result = le.describe_lifecycle_execution(
        wrapped, EXECUTION_ID, include_resources=True, parent_resource_id=IMAGE_ARN
    )

    # Both pages, in order, normalised as test_normalize_matches_camel_dict_to_snake_dict_with_iso8601_times shows.
    assert result["resources"] == common.normalize([ami, container])
    assert result["resources"][0]["snapshots"] == [
        {"snapshot_id": "snap-0123456789abcdef0", "state": {"status": "SUCCESS"}}
    ]


# --- waiting ------------------------------------------------------------------------------------------------------


def polls(client, *statuses):
    gets(client[1], *statuses)
    return client[0]


WAIT = {"wait": True, "wait_timeout": 600, "wait_sleep": 15}


@pytest.mark.parametrize("terminal", ["SUCCESS", "FAILED", "CANCELLED"])
def test_wait_polls_once_per_sleep_until_terminal(client, clock, terminal):
    wrapped = polls(client, "PENDING", "IN_PROGRESS", "CANCELLING", terminal)

    result = le.describe_lifecycle_execution(wrapped, EXECUTION_ID, **WAIT, clock=clock, sleep=clock.sleep)

    assert result["state"]["status"] == terminal
    assert clock.sleeps == [15, 15, 15]  # four polls, and Stubber fails on any fifth call


def test_wait_on_a_terminal_execution_costs_one_call_and_no_sleep(client, clock):
    wrapped = polls(client, "FAILED")

    assert (
        le.describe_lifecycle_execution(wrapped, EXECUTION_ID, **WAIT, clock=clock, sleep=clock.sleep)["state"][
            "status"
        ]
        == "FAILED"
    )
    assert clock.sleeps == []


def test_wait_times_out_with_the_last_execution_seen(client, clock):
    wrapped = polls(client, "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS")
    with pytest.raises(common.WaitTimeout) as raised:
        le.describe_lifecycle_execution(
            wrapped, EXECUTION_ID, wait=True, wait_timeout=40, wait_sleep=15, clock=clock, sleep=clock.sleep
        )

    # Polls at 0, 15, 30 and a last one at the deadline (40 s): the last sleep is cut to what is left.
    assert clock.sleeps == [15, 15, 10]
    assert raised.value.last["state"]["status"] == "IN_PROGRESS"
    assert raised.value.message == (
        f"Timed out after 40 seconds waiting for lifecycle execution {EXECUTION_ID} to finish; "
        "last status seen: IN_PROGRESS"
    )


def test_wait_polls_are_retried_when_throttled(client, clock, sleeps):
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution("IN_PROGRESS")})
    errors(stubber, "get_lifecycle_execution", 2)
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution("SUCCESS")})

    result = le.describe_lifecycle_execution(wrapped, EXECUTION_ID, **WAIT, clock=clock, sleep=clock.sleep)

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

    result = le.describe_lifecycle_execution(
        wrapped, EXECUTION_ID, **WAIT, include_resources=True, clock=clock, sleep=clock.sleep
    )

    assert result["resources"] == []
    assert result["state"]["status"] == "SUCCESS"


# --- unreadable answers -------------------------------------------------------------------------------------------


def test_an_empty_or_unreadable_get_answer_is_an_error(client):
    # botocore parses a non-JSON or cut-short body into an answer with no member at all.
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {})

    with pytest.raises(common.ImageBuilderError) as raised:
        le.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == (
        "The answer to GetLifecycleExecution has no lifecycleExecution: it was empty or unreadable"
    )


def test_an_unreadable_page_fails_the_listing_instead_of_ending_it(client):
    wrapped, stubber = client
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": [execution()], "nextToken": "t1"})
    stubber.add_response("list_lifecycle_executions", {})

    with pytest.raises(common.ImageBuilderError) as raised:
        le.list_lifecycle_executions(wrapped, POLICY_ARN)
    assert "has no lifecycleExecutions" in raised.value.message


@pytest.mark.parametrize(
    "error",
    [
        AttributeError("'list' object has no attribute 'get'"),
        # The query and ec2 protocols' parser (Auto Scaling, EC2) on a body that is not XML.
        botocore.parsers.ResponseParserError("Unable to parse response (syntax error), invalid XML received"),
    ],
)
def test_an_answer_botocore_cannot_parse_is_an_error(client, monkeypatch, error):
    wrapped, dummy = client

    def broken_parser(**kwargs):
        raise error

    monkeypatch.setattr(wrapped.client, "get_lifecycle_execution", broken_parser)
    monkeypatch.delattr(wrapped, "get_lifecycle_execution", raising=False)

    with pytest.raises(common.ImageBuilderError) as raised:
        le.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == "AWS sent an unreadable answer to GetLifecycleExecution"


# --- waiting on what the model allows: PENDING for a day, an answer without a state --------------------------------


def test_an_answer_without_a_state_keeps_the_wait_going_and_times_out_clearly(client, clock):
    wrapped, stubber = client
    for _dummy in range(2):
        stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": {}})

    with pytest.raises(common.WaitTimeout) as raised:
        le.describe_lifecycle_execution(
            wrapped, EXECUTION_ID, wait=True, wait_timeout=15, wait_sleep=15, clock=clock, sleep=clock.sleep
        )

    assert raised.value.message.endswith("last status seen: none (the answer had no state)")
    assert raised.value.last == {}


# --- the impacted resources as a tree -----------------------------------------------------------------------------

IMAGE_2_ARN = IMAGE_ARN.replace("/1.0.0/3", "/1.0.0/4")


def resources_page(stubber, resources, parent=None, token=None, next_token=None):
    expected = {"lifecycleExecutionId": EXECUTION_ID, "maxResults": PAGE_SIZE}
    if parent is not None:
        expected["parentResourceId"] = parent
    if token is not None:
        expected["nextToken"] = token
    answer = {"resources": resources}
    if next_token is not None:
        answer["nextToken"] = next_token
    stubber.add_response("list_lifecycle_execution_resources", answer, expected)


def test_include_resources_returns_each_image_with_its_own_resources_every_page(client, sleeps):
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution()})
    resources_page(stubber, [{"resourceId": IMAGE_ARN}], next_token="p2")
    resources_page(stubber, [{"resourceId": IMAGE_2_ARN}, {"resourceId": "some-other-kind"}], token="p2")
    resources_page(stubber, [{"resourceId": "ami-1"}], parent=IMAGE_ARN, next_token="c2")
    errors(stubber, "list_lifecycle_execution_resources", 1)
    resources_page(stubber, [{"resourceId": "ami-2"}], parent=IMAGE_ARN, token="c2")
    resources_page(stubber, [], parent=IMAGE_2_ARN)

    result = le.describe_lifecycle_execution(wrapped, EXECUTION_ID, include_resources=True)

    assert result["resources"] == [
        {"resource_id": IMAGE_ARN, "child_resources": [{"resource_id": "ami-1"}, {"resource_id": "ami-2"}]},
        {"resource_id": IMAGE_2_ARN, "child_resources": []},
        {"resource_id": "some-other-kind"},
    ]
    assert len(sleeps) == 1


# --- answers with every optional member left out --------------------------------------------------------------------


def test_reads_work_on_answers_without_any_optional_member(client):
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": {}})
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [{}, {"resourceId": IMAGE_ARN}]})
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [{}]})
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": [{}, execution(), {}]})

    described = le.describe_lifecycle_execution(wrapped, EXECUTION_ID, include_resources=True)
    listed = le.list_lifecycle_executions(wrapped, POLICY_ARN)

    assert described == {"resources": [{}, {"resource_id": IMAGE_ARN, "child_resources": [{}]}]}
    assert listed == [{}, {}, execution()]  # no startTime: not started yet, so newest


# --- a busy image -------------------------------------------------------------------------------------------------


def busy(stubber, listed):
    stubber.add_client_error("start_resource_state_update", "ResourceInUseException", "Image is in use", 400)
    stubber.add_response(
        "list_lifecycle_executions",
        {"lifecycleExecutions": listed},
        {"resourceArn": IMAGE_ARN, "maxResults": PAGE_SIZE},
    )


REQUEST = {"resourceArn": IMAGE_ARN, "state": {"status": "DISABLED"}, "clientToken": "t"}


def test_a_busy_image_names_its_own_executions_in_progress(client):
    wrapped, stubber = client
    busy(stubber, [execution("SUCCESS", execution_id(1)), execution("PENDING", execution_id(2)), {}])

    with pytest.raises(common.ImageBuilderError) as raised:
        rsu.start_resource_state_update(wrapped, REQUEST)
    assert raised.value.message == (
        f"Image {IMAGE_ARN} already has a lifecycle execution in progress: {execution_id(2)} (PENDING)"
    )
    assert "Image is in use" in str(raised.value)


def test_an_image_held_by_a_policys_execution_says_where_to_look(client):
    # The image's own listing shows only what StartResourceStateUpdate started for it.
    wrapped, stubber = client
    busy(stubber, [execution("SUCCESS", execution_id(1))])

    with pytest.raises(common.ImageBuilderError) as raised:
        rsu.start_resource_state_update(wrapped, REQUEST)
    assert raised.value.message.startswith(
        f"Image {IMAGE_ARN} is in use by a lifecycle execution that is not among its own executions, so a lifecycle"
        " policy's execution holds it: list the executions of the lifecycle policies"
    )
    assert "ResourceInUseException" in str(raised.value)
