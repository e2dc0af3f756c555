# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""main() end to end: module arguments in, the JSON Ansible reads out, against a Stubber-checked client."""

import json

import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.modules import imagebuilder_lifecycle_execution_info as module
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import EXECUTION_ID
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import FAKE_ACCESS_KEY
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import FAKE_SECRET_KEY
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGE_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import gets


def test_get_one_execution(run_module, client):
    gets(client[1], "SUCCESS")

    result, _made = run_module(module.main, {"lifecycle_execution_id": EXECUTION_ID})

    assert result["changed"] is False
    assert "failed" not in result
    assert result["lifecycle_execution"]["lifecycle_execution_id"] == EXECUTION_ID
    assert result["lifecycle_execution"]["state"] == {"status": "SUCCESS"}
    assert result["lifecycle_execution"]["start_time"] == "2026-11-28T06:00:00+00:00"
    assert "lifecycle_executions" not in result


def test_check_mode_returns_the_same(run_module, client):
    gets(client[1], "SUCCESS")

    result, _made = run_module(module.main, {"lifecycle_execution_id": EXECUTION_ID, "_ansible_check_mode": True})

    assert result["changed"] is False
    assert result["lifecycle_execution"]["state"]["status"] == "SUCCESS"


@pytest.mark.parametrize("option, value", [("lifecycle_policy_arn", POLICY_ARN), ("image_arn", IMAGE_ARN)])
def test_list_by_policy_or_image(run_module, client, option, value):
    client[1].add_response(
        "list_lifecycle_executions",
        {"lifecycleExecutions": [execution()]},
        {"resourceArn": value, "maxResults": PAGE_SIZE},
    )

    result, _made = run_module(module.main, {option: value})

    assert [e["lifecycle_execution_id"] for e in result["lifecycle_executions"]] == [EXECUTION_ID]
    assert "lifecycle_execution" not in result


def test_list_with_no_executions_is_an_empty_list(run_module, client):
    client[1].add_response("list_lifecycle_executions", {"lifecycleExecutions": []})

    result, _made = run_module(module.main, {"lifecycle_policy_arn": POLICY_ARN})

    assert result["lifecycle_executions"] == []


@pytest.mark.parametrize("terminal", ["FAILED", "CANCELLED"])
def test_a_failed_or_cancelled_execution_is_information_not_failure(run_module, client, wait_sleeps, terminal):
    gets(client[1], "IN_PROGRESS")
    gets(client[1], terminal)

    result, _made = run_module(module.main, {"lifecycle_execution_id": EXECUTION_ID, "wait": True, "wait_sleep": 5})

    assert "failed" not in result
    assert result["lifecycle_execution"]["state"]["status"] == terminal
    assert wait_sleeps == [5]


@pytest.mark.parametrize(
    "given, warned",
    [
        ({"wait_timeout": 3600}, "wait_timeout: only used with wait=true"),
        ({"wait_sleep": 5, "wait": False}, "wait_sleep: only used with wait=true"),
        ({"wait_timeout": 3600, "wait_sleep": 5}, "wait_timeout and wait_sleep: only used with wait=true"),
        ({}, None),
    ],
)
def test_wait_options_without_wait_give_a_warning(run_module, client, given, warned):
    gets(client[1], "IN_PROGRESS")

    result, _made = run_module(module.main, dict({"lifecycle_execution_id": EXECUTION_ID}, **given))

    assert result["lifecycle_execution"]["state"]["status"] == "IN_PROGRESS"  # one read, no wait
    wait_warnings = [str(w) for w in result.get("warnings", []) if "wait=true" in str(w)]
    assert len(wait_warnings) == (0 if warned is None else 1)
    assert warned is None or warned in wait_warnings[0]


def test_a_wait_without_wait_options_polls_every_15_seconds_for_up_to_1800(run_module, client, wait_sleeps):
    for _dummy in range(121):  # a read at 0, 15, ..., 1800 s
        gets(client[1], "IN_PROGRESS")

    result, _made = run_module(module.main, {"lifecycle_execution_id": EXECUTION_ID, "wait": True})

    assert result["msg"].startswith("Timed out after 1800 seconds")
    assert wait_sleeps == [15] * 120
    assert "warnings" not in result


def test_wait_timeout_fails_and_still_returns_the_execution(run_module, client, wait_sleeps):
    for _dummy in range(3):
        gets(client[1], "PENDING")

    result, _made = run_module(
        module.main, {"lifecycle_execution_id": EXECUTION_ID, "wait": True, "wait_timeout": 20, "wait_sleep": 10}
    )

    assert result["failed"] is True
    assert result["msg"] == (
        f"Timed out after 20 seconds waiting for lifecycle execution {EXECUTION_ID} to finish; last status seen:"
        " PENDING. PENDING means Image Builder paused the execution until the next scheduled run of lifecycle"
        " policies, which run once a day: wait again later, or give wait_timeout up to a day (86400)"
    )
    assert result["lifecycle_execution"]["state"]["status"] == "PENDING"
    assert result["lifecycle_execution"]["lifecycle_execution_id"] == EXECUTION_ID


def test_resources_with_a_parent_filter(run_module, client):
    gets(client[1], "SUCCESS")
    client[1].add_response(
        "list_lifecycle_execution_resources",
        {"resources": [{"resourceId": "ami-0123456789abcdef0", "snapshots": [{"snapshotId": "snap-1"}]}]},
        {"lifecycleExecutionId": EXECUTION_ID, "parentResourceId": IMAGE_ARN, "maxResults": PAGE_SIZE},
    )

    result, _made = run_module(
        module.main,
        {"lifecycle_execution_id": EXECUTION_ID, "include_resources": True, "parent_resource_id": IMAGE_ARN},
    )

    assert result["lifecycle_execution"]["resources"] == [
        {"resource_id": "ami-0123456789abcdef0", "snapshots": [{"snapshot_id": "snap-1"}]}
    ]


def test_unknown_id_is_named_with_the_services_code_and_message(run_module, client):
    client[1].add_client_error("get_lifecycle_execution", "ClientException", "The value is not valid.", 400)

    result, _made = run_module(module.main, {"lifecycle_execution_id": EXECUTION_ID})

    assert result["failed"] is True
    assert result["msg"] == (
        f"Failed to get lifecycle execution {EXECUTION_ID}: An error occurred (ClientException) when calling the"
        " GetLifecycleExecution operation: The value is not valid."
    )
    assert result["error"] == {"code": "ClientException", "message": "The value is not valid."}


def test_credentials_never_appear_in_the_output(run_module, client):
    client[1].add_client_error("get_lifecycle_execution", "ForbiddenException", "denied", 403)

    result, _made = run_module(
        module.main,
        {"lifecycle_execution_id": EXECUTION_ID, "access_key": FAKE_ACCESS_KEY, "secret_key": FAKE_SECRET_KEY},
    )

    assert result["failed"] is True
    assert FAKE_SECRET_KEY not in json.dumps(result)


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"lifecycle_execution_id": "lce-1234"}, "lifecycle_execution_id: 'lce-1234' is not a lifecycle execution ID"),
        ({"lifecycle_policy_arn": "golden"}, "lifecycle_policy_arn: 'golden' is not a lifecycle policy ARN"),
        ({"image_arn": POLICY_ARN}, "image_arn: '" + POLICY_ARN + "' is not an image build version ARN"),
        ({"lifecycle_execution_id": EXECUTION_ID, "wait_timeout": 0}, "wait_timeout: 0 is not a number"),
        ({"lifecycle_execution_id": EXECUTION_ID, "wait_sleep": 0}, "wait_sleep: 0 is not a number"),
        ({"lifecycle_execution_id": EXECUTION_ID, "wait_timeout": "soon"}, "wait_timeout"),
        ({"lifecycle_execution_id": EXECUTION_ID, "image_arn": IMAGE_ARN}, "mutually exclusive"),
        ({}, "one of the following is required: lifecycle_execution_id, lifecycle_policy_arn, image_arn"),
        ({"lifecycle_policy_arn": POLICY_ARN, "include_resources": True}, "include_resources is True but"),
        ({"lifecycle_policy_arn": POLICY_ARN, "wait": True}, "wait is True but"),
        (
            {"lifecycle_execution_id": EXECUTION_ID, "parent_resource_id": IMAGE_ARN},
            "parent_resource_id: can only be used with include_resources=true",
        ),
        ({"lifecycle_execution_id": EXECUTION_ID, "statuses": ["SUCCESS"]}, "Unsupported parameters"),
        ({"lifecycle_execution_id": EXECUTION_ID, "lifecycle_policy_arn": POLICY_ARN}, "mutually exclusive"),
        ({"image_arn": IMAGE_ARN, "wait": True}, "wait is True but all of the following are missing"),
        ({"lifecycle_execution_id": [EXECUTION_ID]}, "lifecycle_execution_id: \"['lce-"),
        ({"lifecycle_execution_id": EXECUTION_ID, "wait": "sometimes"}, "argument 'wait' is of type"),
        ({"lifecycle_execution_id": EXECUTION_ID, "wait": True, "wait_sleep": -1}, "wait_sleep: -1 is not a number"),
        (
            {"lifecycle_execution_id": EXECUTION_ID, "include_resources": True, "parent_resource_id": "ami-0123"},
            "parent_resource_id: 'ami-0123' is not an image build version ARN",
        ),
    ],
)
def test_bad_input_is_refused_before_any_client_or_call(run_module, args, expected):
    result, made = run_module(module.main, args)

    assert result["failed"] is True
    assert expected in result["msg"]
    assert made == []  # Stubber would also fail the test on any API call


@pytest.mark.parametrize(
    "option, others",
    [
        ("lifecycle_policy_arn", {}),
        ("image_arn", {}),
        ("parent_resource_id", {"lifecycle_execution_id": EXECUTION_ID, "include_resources": True}),
    ],
)
def test_an_arn_of_another_region_fails_naming_both_regions_before_any_call(run_module, option, others):
    elsewhere = (POLICY_ARN if option == "lifecycle_policy_arn" else IMAGE_ARN).replace(":us-east-1:", ":eu-west-1:")

    result, made = run_module(module.main, dict(others, **{option: elsewhere}))  # the Stubber holds no answer

    assert result["failed"] is True and made == ["imagebuilder"]
    assert result["msg"] == (
        f"{option}: {elsewhere!r} is in region eu-west-1, and this module works in region us-east-1, where Image"
        " Builder knows nothing of it; set region: eu-west-1 (or AWS_REGION) to use this ARN"
    )
    assert "lifecycle_executions" not in result and "lifecycle_execution" not in result
