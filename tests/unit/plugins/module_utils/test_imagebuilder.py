# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import datetime

import botocore.exceptions
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
    assert ib.validate_options(params, ["lifecycle_execution_id", "lifecycle_policy_arn", "image_arn"]) == []


def test_only_the_options_a_module_declares_are_checked_each_with_the_form_it_names():
    # An image_arn of another module, holding something else, is not checked as an image build version ARN.
    assert ib.validate_options({"image_arn": "arn:aws:ec2:us-east-1::image/ami-1", "arn": POLICY_ARN}, []) == []
    (message,) = ib.validate_options({"arn": IMAGE_ARN}, {"arn": "lifecycle_policy_arn"})
    assert message.startswith(f"arn: {IMAGE_ARN!r} is not a lifecycle policy ARN such as")


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("lifecycle_execution_id", "lce-123", "a lifecycle execution ID such as lce-"),
        ("lifecycle_execution_id", "", "a lifecycle execution ID"),
        ("lifecycle_execution_id", EXECUTION_ID + "0", "a lifecycle execution ID"),
        ("lifecycle_execution_id", EXECUTION_ID + "\n", "a lifecycle execution ID"),
        ("parent_resource_id", "", "an image build version ARN"),
        ("parent_resource_id", "ami-0123456789abcdef0", "an image build version ARN such as"),
        ("parent_resource_id", IMAGE_ARN + "\n", "an image build version ARN"),
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
    (message,) = ib.validate_options({option: value}, [option] if option in ib.OPTION_FORMS else [])
    assert message.startswith(f"{option}: ")
    assert expected in message


# --- the region rule ----------------------------------------------------------------------------------------------

ARN_OPTIONS = ["lifecycle_policy_arn", "image_arn", "parent_resource_id"]


def test_an_arn_of_another_region_is_refused_naming_the_option_and_both_regions():
    elsewhere = POLICY_ARN.replace(":us-east-1:", ":eu-west-1:")
    params = {"lifecycle_policy_arn": elsewhere, "image_arn": None, "parent_resource_id": None}

    assert ib.arn_region_errors(params, ARN_OPTIONS, "us-east-1") == [
        f"lifecycle_policy_arn: {elsewhere!r} is in region eu-west-1, and this module works in region us-east-1,"
        " where Image Builder knows nothing of it; set region: eu-west-1 (or AWS_REGION) to use this ARN"
    ]


def test_each_arn_option_is_checked():
    params = {option: IMAGE_ARN.replace(":us-east-1:", ":ap-southeast-2:") for option in ARN_OPTIONS}
    errors = ib.arn_region_errors(params, ARN_OPTIONS, "us-east-1")
    assert [e.split(":", 1)[0] for e in errors] == ARN_OPTIONS
    assert ib.arn_region_errors(params, ARN_OPTIONS, "ap-southeast-2") == []


@pytest.mark.parametrize(
    "arn, region",
    [
        (POLICY_ARN, "us-east-1"),
        # Another account's image (one shared with the caller) and an AWS-managed one: the account is not compared.
        ("arn:aws:imagebuilder:us-east-1:210987654321:image/shared-ami/1.0.0/1", "us-east-1"),
        ("arn:aws:imagebuilder:us-east-1:aws:image/amazon-linux-2023-x86/2025.1.1/1", "us-east-1"),
        ("arn:aws-cn:imagebuilder:cn-north-1:123456789012:lifecycle-policy/golden", "cn-north-1"),
        ("arn:aws-us-gov:imagebuilder:us-gov-west-1:123456789012:image/golden/1.0.0/1", "us-gov-west-1"),
    ],
)
def test_an_arn_of_the_client_s_region_passes_whatever_its_account(arn, region):
    assert ib.arn_region_errors({"image_arn": arn}, ["image_arn"], region) == []


class RegionModule:
    """A module whose client is in ``region``; fail_json raises, as AnsibleModule exits."""

    def __init__(self, params, region="us-east-1"):
        self._name = "imagebuilder_lifecycle_execution_info"
        self.params = params
        self.region = region

    def client(self, service, **kwargs):
        return botocore.session.get_session().create_client(service, region_name=self.region)

    def fail_json(self, msg):
        raise SystemExit(msg)


def test_connect_fails_on_another_region_s_arn_before_any_call():
    module = RegionModule({"image_arn": IMAGE_ARN.replace(":us-east-1:", ":eu-west-1:")})
    with pytest.raises(SystemExit, match="^image_arn: .* is in region eu-west-1, .* in region us-east-1"):
        ib.connect(module, arn_options=["image_arn"])
    assert ib.connect(RegionModule({"image_arn": IMAGE_ARN}), arn_options=["image_arn"]).meta.region_name == "us-east-1"


# --- two spellings of an enum -------------------------------------------------------------------------------------


def test_api_choices_are_the_api_spelling_then_lower_case():
    assert ib.api_choices("AMI_IMAGE", "CONTAINER_IMAGE") == [
        "AMI_IMAGE",
        "CONTAINER_IMAGE",
        "ami_image",
        "container_image",
    ]


def test_normalize_choices_lowers_every_enum_at_any_depth_and_nothing_else():
    spec = dict(
        state=dict(type="str", choices=["present", "absent"]),
        status=dict(type="str", choices=ib.api_choices("ENABLED", "DISABLED")),
        name=dict(type="str"),
        rules=dict(
            type="list",
            elements="dict",
            options=dict(
                unit=dict(type="str", choices=ib.TIME_UNIT_CHOICES),
                last_launched=dict(type="dict", options=dict(unit=dict(type="str", choices=ib.TIME_UNIT_CHOICES))),
                tag_map=dict(type="dict"),
            ),
        ),
        missing=dict(type="dict", options=dict(unit=dict(type="str", choices=ib.TIME_UNIT_CHOICES))),
    )
    params = {
        "state": "present",
        "status": "DISABLED",
        "name": "Golden-AMI",
        "rules": [
            {"unit": "DAYS", "last_launched": {"unit": "WEEKS"}, "tag_map": {"Unit": "DAYS"}},
            {"unit": "years", "last_launched": None, "tag_map": None},
        ],
        "missing": None,
    }

    assert ib.normalize_choices(params, spec) is params
    assert params == {
        "state": "present",
        "status": "disabled",
        "name": "Golden-AMI",
        "rules": [
            {"unit": "days", "last_launched": {"unit": "weeks"}, "tag_map": {"Unit": "DAYS"}},
            {"unit": "years", "last_launched": None, "tag_map": None},
        ],
        "missing": None,
    }


# --- get and normalise --------------------------------------------------------------------------------------------


def test_get_returns_snake_case_with_iso8601_times(client):
    wrapped, stubber = client
    answer = execution(
        "SUCCESS", endTime=T0 + datetime.timedelta(minutes=4), state={"status": "SUCCESS", "reason": "ok"}
    )
    stubber.add_response(
        "get_lifecycle_execution", {"lifecycleExecution": answer}, {"lifecycleExecutionId": EXECUTION_ID}
    )

    result = ib.describe_lifecycle_execution(wrapped, EXECUTION_ID)

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


# The model lists no ResourceNotFoundException for Get; older models describe ClientException as the answer to an
# invalid resource identifier. Whatever comes back, the message names the id and keeps the service's code and words.
@pytest.mark.parametrize(
    "code, status",
    [("ResourceNotFoundException", 404), ("ClientException", 400), ("InvalidRequestException", 400)],
)
def test_an_unknown_execution_is_named_with_the_services_own_error(client, code, status):
    wrapped, stubber = client
    stubber.add_client_error("get_lifecycle_execution", code, "The resource identifier is not valid", status)

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == f"Failed to get lifecycle execution {EXECUTION_ID}"
    assert raised.value.exception.response["Error"] == {"Code": code, "Message": "The resource identifier is not valid"}


@pytest.mark.parametrize(
    "call, operation, expected",
    [
        (
            lambda c: ib.list_lifecycle_executions(c, POLICY_ARN),
            "list_lifecycle_executions",
            f"Failed to list the lifecycle executions of {POLICY_ARN}",
        ),
        (
            lambda c: ib.list_lifecycle_execution_resources(c, EXECUTION_ID),
            "list_lifecycle_execution_resources",
            f"Failed to list the resources of lifecycle execution {EXECUTION_ID}",
        ),
        (
            lambda c: ib.cancel_lifecycle_execution(c, EXECUTION_ID, "token"),
            "cancel_lifecycle_execution",
            f"Failed to cancel lifecycle execution {EXECUTION_ID}",
        ),
        (
            lambda c: ib.start_resource_state_update(
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

    with pytest.raises(ib.ImageBuilderError) as raised:
        call(wrapped)
    assert raised.value.message == expected
    assert "ForbiddenException" in str(raised.value)


def test_a_connection_error_is_reported_as_what_failed(client, monkeypatch):
    wrapped, dummy = client

    def unreachable(**kwargs):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")

    monkeypatch.setattr(wrapped.client, "get_lifecycle_execution", unreachable)
    monkeypatch.delattr(wrapped, "get_lifecycle_execution", raising=False)

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.get_lifecycle_execution(wrapped, EXECUTION_ID)
    assert raised.value.message == f"Failed to get lifecycle execution {EXECUTION_ID}"
    assert "Could not connect to the endpoint URL" in str(raised.value)


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

    result = ib.list_lifecycle_executions(wrapped, POLICY_ARN)

    assert [e["lifecycleExecutionId"] for e in result] == [execution_id(n) for n in range(60)]
    assert len(sleeps) == 3


def test_listing_is_sorted_newest_first_with_unstarted_executions_first(client):
    wrapped, stubber = client
    old = execution(execution_id=execution_id(1), start=T0 - datetime.timedelta(days=2))
    new = execution(execution_id=execution_id(2), start=T0)
    pending = execution("PENDING", execution_id=execution_id(3))
    del pending["startTime"]
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": [old, pending, new]})

    result = ib.list_lifecycle_executions(wrapped, POLICY_ARN)

    assert [e["lifecycleExecutionId"] for e in result] == [execution_id(3), execution_id(2), execution_id(1)]


def test_listing_by_image_passes_it_as_resource_arn_and_returns_empty_list(client):
    wrapped, stubber = client
    stubber.add_response(
        "list_lifecycle_executions", {"lifecycleExecutions": []}, {"resourceArn": IMAGE_ARN, "maxResults": PAGE_SIZE}
    )

    assert ib.list_lifecycle_executions(wrapped, IMAGE_ARN) == []


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
        wrapped, EXECUTION_ID, include_resources=True, parent_resource_id=IMAGE_ARN
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


WAIT = {"wait": True, "wait_timeout": 600, "wait_sleep": 15}


@pytest.mark.parametrize("terminal", ["SUCCESS", "FAILED", "CANCELLED"])
def test_wait_polls_once_per_sleep_until_terminal(client, clock, terminal):
    wrapped = polls(client, "PENDING", "IN_PROGRESS", "CANCELLING", terminal)

    result = ib.describe_lifecycle_execution(wrapped, EXECUTION_ID, **WAIT, clock=clock, sleep=clock.sleep)

    assert result["state"]["status"] == terminal
    assert clock.sleeps == [15, 15, 15]  # four polls, and Stubber fails on any fifth call


def test_wait_on_a_terminal_execution_costs_one_call_and_no_sleep(client, clock):
    wrapped = polls(client, "FAILED")

    assert (
        ib.describe_lifecycle_execution(wrapped, EXECUTION_ID, **WAIT, clock=clock, sleep=clock.sleep)["state"][
            "status"
        ]
        == "FAILED"
    )
    assert clock.sleeps == []


def test_wait_times_out_with_the_last_execution_seen(client, clock):
    wrapped = polls(client, "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS")
    with pytest.raises(ib.LifecycleExecutionWaitTimeout) as raised:
        ib.describe_lifecycle_execution(
            wrapped, EXECUTION_ID, wait=True, wait_timeout=40, wait_sleep=15, clock=clock, sleep=clock.sleep
        )

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

    result = ib.describe_lifecycle_execution(wrapped, EXECUTION_ID, **WAIT, clock=clock, sleep=clock.sleep)

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
        wrapped, EXECUTION_ID, **WAIT, include_resources=True, clock=clock, sleep=clock.sleep
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


# --- waiting on what the model allows: PENDING for a day, an answer without a state --------------------------------


def test_a_wait_that_times_out_while_pending_says_pending_waits_for_the_next_daily_run(client, clock):
    wrapped = polls(client, "PENDING", "PENDING")

    with pytest.raises(ib.LifecycleExecutionWaitTimeout) as raised:
        ib.describe_lifecycle_execution(
            wrapped, EXECUTION_ID, wait=True, wait_timeout=15, wait_sleep=15, clock=clock, sleep=clock.sleep
        )

    assert raised.value.message == (
        f"Timed out after 15 seconds waiting for lifecycle execution {EXECUTION_ID} to finish; last status seen:"
        " PENDING. PENDING means Image Builder paused the execution until the next scheduled run of lifecycle"
        " policies, which run once a day: wait again later, or give wait_timeout up to a day (86400)"
    )


def test_an_answer_without_a_state_keeps_the_wait_going_and_times_out_clearly(client, clock):
    wrapped, stubber = client
    for _dummy in range(2):
        stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": {}})

    with pytest.raises(ib.LifecycleExecutionWaitTimeout) as raised:
        ib.describe_lifecycle_execution(
            wrapped, EXECUTION_ID, wait=True, wait_timeout=15, wait_sleep=15, clock=clock, sleep=clock.sleep
        )

    assert raised.value.message.endswith("last status seen: none (the answer had no state)")
    assert raised.value.lifecycle_execution == {}


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
    throttle(stubber, "list_lifecycle_execution_resources", 1)
    resources_page(stubber, [{"resourceId": "ami-2"}], parent=IMAGE_ARN, token="c2")
    resources_page(stubber, [], parent=IMAGE_2_ARN)

    result = ib.describe_lifecycle_execution(wrapped, EXECUTION_ID, include_resources=True)

    assert result["resources"] == [
        {"resource_id": IMAGE_ARN, "child_resources": [{"resource_id": "ami-1"}, {"resource_id": "ami-2"}]},
        {"resource_id": IMAGE_2_ARN, "child_resources": []},
        {"resource_id": "some-other-kind"},
    ]
    assert len(sleeps) == 1


def test_a_parent_resource_id_returns_that_images_resources_flat(client):
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": execution()})
    resources_page(stubber, [{"resourceId": "ami-1"}], parent=IMAGE_ARN)

    result = ib.describe_lifecycle_execution(
        wrapped, EXECUTION_ID, include_resources=True, parent_resource_id=IMAGE_ARN
    )

    assert result["resources"] == [{"resource_id": "ami-1"}]


# --- answers with every optional member left out --------------------------------------------------------------------


def test_reads_work_on_answers_without_any_optional_member(client):
    wrapped, stubber = client
    stubber.add_response("get_lifecycle_execution", {"lifecycleExecution": {}})
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [{}, {"resourceId": IMAGE_ARN}]})
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [{}]})
    stubber.add_response("list_lifecycle_executions", {"lifecycleExecutions": [{}, execution(), {}]})

    described = ib.describe_lifecycle_execution(wrapped, EXECUTION_ID, include_resources=True)
    listed = ib.list_lifecycle_executions(wrapped, POLICY_ARN)

    assert described == {"resources": [{}, {"resource_id": IMAGE_ARN, "child_resources": [{}]}]}
    assert listed == [{}, {}, execution()]  # no startTime: not started yet, so newest


def test_writes_answered_without_any_member_are_successes(client):
    wrapped, stubber = client
    stubber.add_response("start_resource_state_update", {})
    stubber.add_response("cancel_lifecycle_execution", {})

    request = {"resourceArn": IMAGE_ARN, "state": {"status": "DISABLED"}, "clientToken": "t"}
    assert ib.start_resource_state_update(wrapped, request) == {}
    assert ib.cancel_lifecycle_execution(wrapped, EXECUTION_ID, "t") == {}


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

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.start_resource_state_update(wrapped, REQUEST)
    assert raised.value.message == (
        f"Image {IMAGE_ARN} already has a lifecycle execution in progress: {execution_id(2)} (PENDING)"
    )
    assert "Image is in use" in str(raised.value)


def test_an_image_held_by_a_policys_execution_says_where_to_look(client):
    # The image's own listing shows only what StartResourceStateUpdate started for it.
    wrapped, stubber = client
    busy(stubber, [execution("SUCCESS", execution_id(1))])

    with pytest.raises(ib.ImageBuilderError) as raised:
        ib.start_resource_state_update(wrapped, REQUEST)
    assert raised.value.message.startswith(
        f"Image {IMAGE_ARN} is in use by a lifecycle execution that is not among its own executions, so a lifecycle"
        " policy's execution holds it: list the executions of the lifecycle policies"
    )
    assert "ResourceInUseException" in str(raised.value)


# --- the client ---------------------------------------------------------------------------------------------------


class RecordingModule:
    def __init__(self, name):
        self._name = name
        self.calls = []

    def client(self, service, **kwargs):
        self.calls.append((service, kwargs))
        return "client"


@pytest.mark.parametrize(
    "name", ["imagebuilder_lifecycle_execution_info", "imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info"]
)
def test_the_client_retries_with_our_policy_and_names_the_module_in_its_user_agent(name):
    module = RecordingModule(name)

    assert ib.connect(module) == "client"

    ((service, kwargs),) = module.calls
    assert service == "imagebuilder"
    assert kwargs["retry_decorator"] is ib.retry_decorator
    assert kwargs["config"].user_agent_extra == "ansible-module/imagebuilder_lifecycle_execution_info"
    assert "endpoint" not in kwargs and "region" not in kwargs


def test_an_ec2_client_is_made_in_its_region_without_image_builder_s_endpoint_url():
    module = RecordingModule("imagebuilder_lifecycle_policy_preview_info")

    ib.connect(module, "ec2", "eu-west-1")

    ((service, kwargs),) = module.calls
    assert service == "ec2" and kwargs["region"] == "eu-west-1" and kwargs["endpoint"] is None
    assert kwargs["retry_decorator"] is ib.retry_decorator
    assert kwargs["config"].user_agent_extra == "ansible-module/imagebuilder_lifecycle_policy_preview_info"
