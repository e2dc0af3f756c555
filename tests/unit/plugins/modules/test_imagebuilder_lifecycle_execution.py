# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""main() of the action module end to end, against a Stubber-checked client."""

import datetime
import re

import pytest
from botocore.stub import ANY

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import resource_state_update as rsu
from ansible_collections.imagebuilder_ops.aws.plugins.modules import imagebuilder_lifecycle_execution as module
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import EXECUTION_ID
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGE_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import described
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution_id
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import gets

# A start that runs as a lifecycle execution (resources included), and one that Image Builder applies at once.
START = {
    "state": "started",
    "image_arn": IMAGE_ARN,
    "resource_state": "deprecated",
    "include_resources": {"amis": True},
    "execution_role": "ImageBuilderLifecycleRole",
}
AT_ONCE = {"state": "started", "image_arn": IMAGE_ARN, "resource_state": "disabled"}
CANCEL = {"state": "cancelled", "lifecycle_execution_id": EXECUTION_ID}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def image(stubber, status="AVAILABLE", image_type="AMI", amis=()):
    """GetImage's answer; ``amis`` are (AMI ID, region[, owner account]) of its outputResources."""
    answer = {"arn": IMAGE_ARN, "type": image_type, "state": {"status": status}}
    if amis:
        answer["outputResources"] = {
            "amis": [
                {"image": ami[0], "region": ami[1], "accountId": ami[2] if len(ami) > 2 else ACCOUNT} for ami in amis
            ]
        }
    stubber.add_response("get_image", {"image": answer}, {"imageBuildVersionArn": IMAGE_ARN})


ACCOUNT = IMAGE_ARN.split(":")[4]
AMI_NOW = datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc)
AMI_A, AMI_B, AMI_C = "ami-0000000000000000a", "ami-0000000000000000b", "ami-0000000000000000c"
PAST, FUTURE = "2020-01-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z"


def ec2_image(ami_id, state="available", deprecation_time=None, **more):
    """An Image of DescribeImages' answer."""
    answer = dict(ImageId=ami_id, State=state, OwnerId=ACCOUNT, **more)
    if deprecation_time:
        answer["DeprecationTime"] = deprecation_time
    return answer


def started(stubber, expected=None, lifecycle_execution_id=EXECUTION_ID):
    answer = {"resourceArn": IMAGE_ARN}
    if lifecycle_execution_id:
        answer["lifecycleExecutionId"] = lifecycle_execution_id
    stubber.add_response("start_resource_state_update", answer, expected)


# --- state: started -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource_state, unit", [("deprecated", "days"), ("DEPRECATED", "DAYS")])
def test_start_sends_the_options_in_the_apis_shape(run_module, client, tokens, resource_state, unit):
    started(
        client[1],
        {
            "resourceArn": IMAGE_ARN,
            "state": {"status": "DEPRECATED"},
            "includeResources": {"amis": True},
            "exclusionRules": {
                "amis": {
                    "isPublic": True,
                    "regions": ["eu-west-1"],
                    "sharedAccounts": ["210987654321"],
                    "lastLaunched": {"value": 7, "unit": "DAYS"},
                    "tagMap": {"keep_me": "yes", "Owner-Team": "platform"},
                }
            },
            "executionRole": "arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole",
            "updateAt": datetime.datetime(2099, 12, 31, tzinfo=datetime.timezone.utc),
            "clientToken": ANY,
        },
    )

    result, _made = run_module(
        module.main,
        dict(
            START,
            resource_state=resource_state,
            include_resources={"amis": True},
            exclusion_rules={
                "is_public": True,
                "regions": ["eu-west-1"],
                "shared_accounts": ["210987654321"],
                "last_launched": {"value": 7, "unit": unit},
                "tag_map": {"keep_me": "yes", "Owner-Team": "platform"},
            },
            execution_role="arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole",
            update_at="2099-12-31T00:00:00Z",
        ),
    )

    assert result["changed"] is True
    assert result["lifecycle_execution_id"] == EXECUTION_ID
    assert result["resource_arn"] == IMAGE_ARN
    assert "lifecycle_execution" not in result
    assert len(tokens) == 1 and UUID.match(tokens[0])


def test_one_token_is_reused_on_every_retry(run_module, client, tokens, sleeps):
    image(client[1])
    for _dummy in range(3):
        client[1].add_client_error("start_resource_state_update", "CallRateLimitExceededException", "slow", 429)
    started(client[1])

    result, _made = run_module(module.main, START)

    assert result["lifecycle_execution_id"] == EXECUTION_ID
    assert len(tokens) == 4 and len(set(tokens)) == 1
    assert len(sleeps) == 3


def test_a_given_client_token_is_used(run_module, client, tokens):
    image(client[1])
    started(client[1])

    run_module(module.main, dict(START, client_token="nightly-deprecation-2026-11-28"))

    assert tokens == ["nightly-deprecation-2026-11-28"]


def test_an_answer_without_any_member_is_a_change_applied_at_once(run_module, client):
    # Neither member of StartResourceStateUpdate's answer is required by the model.
    image(client[1], "AVAILABLE")
    client[1].add_response("start_resource_state_update", {})

    result, _made = run_module(module.main, dict(AT_ONCE, wait=True))

    assert "failed" not in result
    assert result["changed"] is True
    assert result["lifecycle_execution_id"] is None
    assert result["resource_arn"] == IMAGE_ARN  # the image asked for, which the answer did not repeat


def test_start_and_wait_returns_the_execution_as_it_ended(run_module, client, wait_sleeps):
    image(client[1])
    started(client[1])
    gets(client[1], "PENDING", "IN_PROGRESS", "SUCCESS")

    result, _made = run_module(module.main, dict(START, wait=True, wait_sleep=2))

    assert result["lifecycle_execution"]["state"]["status"] == "SUCCESS"
    assert wait_sleeps == [2, 2]


def test_start_wait_timeout_fails_with_the_change_and_the_last_state(run_module, client, wait_sleeps):
    image(client[1])
    started(client[1])
    gets(client[1], "IN_PROGRESS", "IN_PROGRESS")

    result, _made = run_module(module.main, dict(START, wait=True, wait_timeout=5, wait_sleep=5))

    assert result["failed"] is True
    assert result["changed"] is True
    assert result["lifecycle_execution_id"] == EXECUTION_ID
    assert result["lifecycle_execution"]["state"]["status"] == "IN_PROGRESS"
    assert result["msg"].startswith("Timed out after 5 seconds")


def test_a_change_at_once_to_the_state_the_image_has_changes_nothing_and_writes_nothing(run_module, client, tokens):
    image(client[1], "DISABLED")

    result, _made = run_module(module.main, dict(AT_ONCE, _ansible_diff=True))

    assert result["changed"] is False
    assert result["lifecycle_execution_id"] is None
    assert tokens == []  # and Stubber fails the test on any StartResourceStateUpdate
    assert result["diff"] == {"before": {"resource_state": "DISABLED"}, "after": {"resource_state": "DISABLED"}}


def test_check_mode_reads_the_image_and_reports_the_change_without_writing(run_module, client, tokens):
    image(client[1], "AVAILABLE")

    result, _made = run_module(module.main, dict(AT_ONCE, _ansible_check_mode=True))

    assert result["changed"] is True
    assert tokens == []


def test_check_mode_with_resources_finds_an_execution_that_holds_the_image(run_module, client, tokens):
    image(client[1], "AVAILABLE")
    client[1].add_response(
        "list_lifecycle_executions",
        {"lifecycleExecutions": [execution("PENDING", execution_id(2))]},
        {"resourceArn": IMAGE_ARN, "maxResults": PAGE_SIZE},
    )

    result, _made = run_module(module.main, dict(START, _ansible_check_mode=True))

    assert result["failed"] is True
    assert result["changed"] is False
    assert (
        result["msg"] == f"Image {IMAGE_ARN} already has a lifecycle execution in progress: {execution_id(2)} (PENDING)"
    )
    assert tokens == []


def test_check_mode_with_resources_on_a_free_image_reports_the_change(run_module, client, ec2_client, tokens):
    # The image is deprecated already, but one of its AMIs is not: an execution would still change something.
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1")])
    described(ec2_client[1], [AMI_A], [ec2_image(AMI_A)])
    client[1].add_response("list_lifecycle_executions", {"lifecycleExecutions": [execution("SUCCESS")]})

    result, _made = run_module(module.main, dict(START, _ansible_check_mode=True))

    assert result["changed"] is True
    assert tokens == []


def test_check_mode_on_an_image_that_does_not_exist_fails_as_the_real_run_would(run_module, client):
    client[1].add_client_error("get_image", "ResourceNotFoundException", "Image not found", 404)

    result, _made = run_module(module.main, dict(AT_ONCE, _ansible_check_mode=True))

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to get image {IMAGE_ARN}: ")
    assert result["error"]["code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("check_mode", [True, False])
@pytest.mark.parametrize(
    "status, image_type, resource_state, expected",
    [
        ("FAILED", "AMI", "available", "is FAILED: it can only go to resource_state=deleted"),
        ("CANCELLED", "AMI", "disabled", "is CANCELLED: it can only go to resource_state=deleted"),
        ("AVAILABLE", "DOCKER", "deprecated", "is a container image: it can only go to resource_state=deleted"),
        ("BUILDING", "AMI", "disabled", "is BUILDING: Image Builder updates only images that are AVAILABLE, DEPREC"),
    ],
)
def test_a_state_the_image_cannot_go_to_is_refused_before_any_write(
    run_module, client, tokens, check_mode, status, image_type, resource_state, expected
):
    image(client[1], status, image_type)

    result, _made = run_module(
        module.main, dict(AT_ONCE, resource_state=resource_state, _ansible_check_mode=check_mode)
    )

    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].startswith(f"Image {IMAGE_ARN} {expected}")
    assert tokens == []


def test_diff_shows_the_images_state_before_and_after(run_module, client):
    image(client[1], "AVAILABLE")
    started(client[1])

    result, _made = run_module(module.main, dict(START, _ansible_diff=True))

    assert result["changed"] is True
    assert result["diff"] == {"before": {"resource_state": "AVAILABLE"}, "after": {"resource_state": "DEPRECATED"}}


# --- a second run of a state update with resources -----------------------------------------------------------------

DEPRECATED_AGAIN = dict(START, resource_state="deprecated")


def test_a_second_deprecation_of_a_deprecated_image_and_amis_changes_nothing(run_module, client, ec2_client, tokens):
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1"), (AMI_B, "eu-west-1"), (AMI_C, "us-east-1")])
    # One read per region, every AMI of the region in it (the stubbed EC2 client answers for both regions).
    described(ec2_client[1], [AMI_B], [ec2_image(AMI_B, deprecation_time=PAST)])
    described(
        ec2_client[1],
        [AMI_A, AMI_C],
        [ec2_image(AMI_A, deprecation_time=PAST), ec2_image(AMI_C, deprecation_time=PAST)],
    )

    result, made = run_module(module.main, DEPRECATED_AGAIN)

    assert result["changed"] is False
    assert result["lifecycle_execution_id"] is None
    assert result["msg"] == (
        f"Image {IMAGE_ARN} is DEPRECATED already, and so are the 3 AMIs the request includes: nothing to change"
    )
    assert tokens == []  # and Stubber fails the test on any StartResourceStateUpdate
    assert made == ["imagebuilder", "ec2/eu-west-1", "ec2/us-east-1"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_check_mode_and_diff_agree_with_the_run_that_changes_nothing(run_module, client, ec2_client, check_mode):
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1")])
    described(ec2_client[1], [AMI_A], [ec2_image(AMI_A, deprecation_time=PAST)])

    result, _made = run_module(module.main, dict(DEPRECATED_AGAIN, _ansible_check_mode=check_mode, _ansible_diff=True))

    assert result["changed"] is False
    state = {"resource_state": "DEPRECATED", "amis": {AMI_A: "deprecated"}}
    assert result["diff"] == {"before": state, "after": state}


def test_an_ami_not_yet_in_the_state_starts_the_update_and_the_diff_shows_it(run_module, client, ec2_client):
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1"), (AMI_B, "us-east-1")])
    described(ec2_client[1], [AMI_A, AMI_B], [ec2_image(AMI_A, deprecation_time=PAST), ec2_image(AMI_B)])
    started(client[1])

    result, _made = run_module(module.main, dict(DEPRECATED_AGAIN, _ansible_diff=True))

    assert result["changed"] is True
    assert result["lifecycle_execution_id"] == EXECUTION_ID
    assert result["diff"] == {
        "before": {"resource_state": "DEPRECATED", "amis": {AMI_A: "deprecated", AMI_B: "available"}},
        "after": {"resource_state": "DEPRECATED", "amis": {AMI_A: "deprecated", AMI_B: "deprecated"}},
    }


@pytest.mark.parametrize(
    "details, expected",
    [
        (None, "deleted"),  # DescribeImages did not return it to its owner
        ({"state": "deregistered"}, "deleted"),
        ({"state": "disabled", "deprecation_time": AMI_NOW - datetime.timedelta(days=1)}, "disabled"),
        ({"state": "available", "deprecation_time": None}, "available"),
        ({"state": "available", "deprecation_time": AMI_NOW}, "deprecated"),
        (
            {"state": "available", "deprecation_time": AMI_NOW + datetime.timedelta(minutes=1)},
            "available, to be deprecated",
        ),
        ({"state": "pending"}, "pending"),
        ({}, "unknown"),
    ],
)
def test_an_amis_state_in_resource_state_words(details, expected):
    assert rsu.ami_resource_state(details, AMI_NOW).startswith(expected)


@pytest.mark.parametrize(
    "resource_state, ec2_images",
    [
        ("disabled", [ec2_image(AMI_A, "disabled", PAST)]),
        ("available", [ec2_image(AMI_A)]),
    ],
)
def test_each_target_state_is_recognised_in_ec2(run_module, client, ec2_client, resource_state, ec2_images):
    image(client[1], resource_state.upper(), amis=[(AMI_A, "us-east-1")])
    described(ec2_client[1], [AMI_A], ec2_images)

    result, _made = run_module(module.main, dict(START, resource_state=resource_state))

    assert result["changed"] is False


def test_amis_the_exclusion_rules_leave_alone_do_not_count(run_module, client, ec2_client):
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1"), (AMI_B, "us-east-1"), (AMI_C, "eu-west-1")])
    # AMI_C's region is excluded: it is not read. AMI_B carries an excluded tag: its state does not matter.
    described(
        ec2_client[1],
        [AMI_A, AMI_B],
        [ec2_image(AMI_A, deprecation_time=PAST), ec2_image(AMI_B, Tags=[{"Key": "Keep", "Value": "yes"}])],
    )
    rules = {"regions": ["eu-west-1"], "tag_map": {"Keep": "yes"}}

    result, made = run_module(module.main, dict(DEPRECATED_AGAIN, exclusion_rules=rules))

    assert result["changed"] is False
    assert result["msg"].endswith("and so are the 1 AMIs the request includes: nothing to change")
    assert made == ["imagebuilder", "ec2/us-east-1"]


def test_shared_accounts_rules_are_read_once_per_account(run_module, client, ec2_client):
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1")])
    described(ec2_client[1], [AMI_A], [ec2_image(AMI_A)])
    described(ec2_client[1], [AMI_A], [ec2_image(AMI_A)], ExecutableUsers=["210987654321"])

    result, _made = run_module(
        module.main, dict(DEPRECATED_AGAIN, exclusion_rules={"shared_accounts": ["210987654321"]})
    )

    assert result["changed"] is False  # not deprecated, but shared with an excluded account: left alone


@pytest.mark.parametrize(
    "include_resources",
    [{"amis": True, "snapshots": True}, {"containers": True}],
)
def test_a_deleted_image_has_nothing_left_to_delete_whatever_the_request_includes(
    run_module, client, tokens, include_resources
):
    image(client[1], "DELETED", amis=[(AMI_A, "us-east-1")])

    result, made = run_module(module.main, dict(START, resource_state="deleted", include_resources=include_resources))

    assert result["changed"] is False and "failed" not in result
    assert result["msg"] == (
        f"Image {IMAGE_ARN} is DELETED already, and Image Builder updates no deleted image: nothing to change"
    )
    assert tokens == [] and made == ["imagebuilder"]  # no EC2 read


def test_an_ami_of_another_account_cannot_be_told_so_the_update_starts(run_module, client):
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1"), (AMI_B, "eu-west-1", "210987654321")])
    started(client[1])

    result, made = run_module(module.main, DEPRECATED_AGAIN)

    assert result["changed"] is True
    assert result["lifecycle_execution_id"] == EXECUTION_ID
    assert f"AMI {AMI_B} in eu-west-1 is not owned by {ACCOUNT}" in result["msg"]
    assert made == ["imagebuilder"]  # no EC2 read


def test_a_scheduled_deprecation_reads_nothing_and_starts(run_module, client, tokens):
    started(client[1])

    result, _made = run_module(module.main, dict(DEPRECATED_AGAIN, update_at="2099-12-31T00:00:00Z"))

    assert result["changed"] is True and len(tokens) == 1


def test_a_denied_ec2_read_warns_and_starts_as_before(run_module, client, ec2_client):
    image(client[1], "DEPRECATED", amis=[(AMI_A, "us-east-1")])
    ec2_client[1].add_client_error("describe_images", "UnauthorizedOperation", "not authorized", 403)
    started(client[1])

    result, _made = run_module(module.main, DEPRECATED_AGAIN)

    assert result["changed"] is True
    assert result["lifecycle_execution_id"] == EXECUTION_ID
    assert "UnauthorizedOperation" in result["msg"]
    assert ["UnauthorizedOperation" in str(w) and "the update is started" in str(w) for w in result["warnings"]] == [
        True
    ]


# --- state: cancelled ---------------------------------------------------------------------------------------------


def test_cancel_a_running_execution_and_wait_for_cancelled(run_module, client, tokens, wait_sleeps):
    gets(client[1], "IN_PROGRESS")
    client[1].add_response(
        "cancel_lifecycle_execution",
        {"lifecycleExecutionId": EXECUTION_ID},
        {"lifecycleExecutionId": EXECUTION_ID, "clientToken": ANY},
    )
    gets(client[1], "CANCELLING", "CANCELLED")

    result, _made = run_module(module.main, dict(CANCEL, wait=True, wait_sleep=3))

    assert result["changed"] is True
    assert result["lifecycle_execution"]["state"]["status"] == "CANCELLED"
    assert UUID.match(tokens[0])
    assert wait_sleeps == [3]


@pytest.mark.parametrize("status", ["SUCCESS", "FAILED", "CANCELLED"])
def test_cancel_an_ended_execution_changes_nothing_and_costs_one_call(run_module, client, tokens, status):
    gets(client[1], status)

    result, _made = run_module(module.main, dict(CANCEL, wait=True))

    assert tokens == []
    assert result["changed"] is False
    assert result["lifecycle_execution"]["state"]["status"] == status


def test_cancel_a_cancelling_execution_changes_nothing_and_can_wait(run_module, client, tokens, wait_sleeps):
    gets(client[1], "CANCELLING", "CANCELLED")

    result, _made = run_module(module.main, dict(CANCEL, wait=True, wait_sleep=1))

    assert tokens == []  # no cancellation was asked for
    assert result["changed"] is False
    assert result["lifecycle_execution"]["state"]["status"] == "CANCELLED"


def test_cancel_without_wait_returns_the_execution_as_read_before_and_warns_of_wait_options(
    run_module, client, wait_sleeps
):
    gets(client[1], "PENDING")
    client[1].add_response("cancel_lifecycle_execution", {"lifecycleExecutionId": EXECUTION_ID})

    result, _made = run_module(module.main, dict(CANCEL, wait_sleep=5))

    assert result["changed"] is True and wait_sleeps == []
    assert result["lifecycle_execution"]["state"]["status"] == "PENDING"
    assert ["wait_sleep: only used with wait=true" in str(w) for w in result["warnings"]] == [True]


def test_an_execution_that_ends_before_the_cancel_lands_is_no_change(run_module, client):
    gets(client[1], "IN_PROGRESS")
    client[1].add_client_error("cancel_lifecycle_execution", "ResourceInUseException", "already done", 400)
    gets(client[1], "SUCCESS")

    result, _made = run_module(module.main, CANCEL)

    assert result["changed"] is False
    assert result["lifecycle_execution"]["state"]["status"] == "SUCCESS"


def test_a_cancel_refused_for_another_reason_fails(run_module, client):
    gets(client[1], "IN_PROGRESS")
    client[1].add_client_error("cancel_lifecycle_execution", "ForbiddenException", "denied", 403)
    gets(client[1], "IN_PROGRESS")

    result, _made = run_module(module.main, CANCEL)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to cancel lifecycle execution {EXECUTION_ID}: ")
    assert result["error"]["code"] == "ForbiddenException"


def test_an_execution_read_without_a_state_is_cancelled_and_the_service_decides(run_module, client, tokens):
    client[1].add_response("get_lifecycle_execution", {"lifecycleExecution": {}})
    client[1].add_response("cancel_lifecycle_execution", {})

    result, _made = run_module(module.main, CANCEL)

    assert result["changed"] is True
    assert result["lifecycle_execution_id"] == EXECUTION_ID
    assert result["lifecycle_execution"] == {}
    assert len(tokens) == 1


def test_check_mode_cancel_reads_and_reports_what_it_would_do(run_module, client):
    gets(client[1], "IN_PROGRESS")

    result, _made = run_module(module.main, dict(CANCEL, wait=True, _ansible_check_mode=True, _ansible_diff=True))

    assert result["changed"] is True
    assert result["lifecycle_execution"]["state"]["status"] == "IN_PROGRESS"
    assert result["diff"] == {"before": {"status": "IN_PROGRESS"}, "after": {"status": "CANCELLING"}}


# --- StartResourceStateUpdate's rules, before any call --------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole"
NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    "params",
    [
        {"resource_state": "disabled"},
        {"resource_state": "deprecated", "update_at": "2026-11-29T00:00:00Z"},
        {"resource_state": "deprecated", "include_resources": {"amis": True}, "execution_role": ROLE},
        {"resource_state": "deleted", "include_resources": {"amis": True, "snapshots": True}, "execution_role": ROLE},
        {"resource_state": "deleted", "include_resources": {"containers": True}, "execution_role": "LifecycleRole"},
        {
            "resource_state": "disabled",
            "include_resources": {"amis": True},
            "execution_role": ROLE,
            "exclusion_rules": {"is_public": True, "last_launched": {"value": 365, "unit": "days"}},
        },
    ],
)
def test_state_updates_the_api_accepts_pass(params):
    assert rsu.validate_state_update(params, now=NOW) == []


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"resource_state": "disabled", "execution_role": ROLE}, "execution_role: can only be used with include_res"),
        ({"resource_state": "disabled", "include_resources": {"amis": True}}, "include_resources: requires execution_"),
        (
            {
                "resource_state": "deprecated",
                "include_resources": {"amis": True, "snapshots": True},
                "execution_role": ROLE,
            },
            "include_resources.snapshots: can only be true with resource_state=deleted",
        ),
        (
            {"resource_state": "available", "include_resources": {"containers": True}, "execution_role": ROLE},
            "include_resources.containers: can only be true with resource_state=deleted",
        ),
        ({"resource_state": "deleted"}, "resource_state: deleted requires include_resources"),
        (
            {"resource_state": "deleted", "include_resources": {"amis": False}},
            "resource_state: deleted requires include_resources",
        ),
        ({"resource_state": "deprecated", "update_at": "2026-11-28T11:59:59Z"}, "update_at: '2026-11-28T11:59:59Z' is"),
        ({"resource_state": "deprecated", "update_at": "tomorrow"}, "update_at: 'tomorrow' is not an ISO 8601 time"),
        ({"resource_state": "disabled", "update_at": "2099-01-01"}, "update_at: can only be used with resource_state"),
        (
            {"resource_state": "disabled", "exclusion_rules": {"is_public": True}},
            "exclusion_rules: only take effect on AMIs, so they need include_resources.amis=true",
        ),
        (
            {
                "resource_state": "deleted",
                "include_resources": {"containers": True},
                "execution_role": ROLE,
                "exclusion_rules": {"regions": ["eu-west-1"]},
            },
            "exclusion_rules: only take effect on AMIs",
        ),
    ],
)
def test_state_updates_the_api_would_refuse_are_named(params, expected):
    (message,) = rsu.validate_state_update(params, now=NOW)
    assert message.startswith(expected)


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"state": "started", "image_arn": IMAGE_ARN}, "state is started but all of the following are missing"),
        ({"state": "cancelled"}, "state is cancelled but all of the following are missing: lifecycle_execution_id"),
        ({"state": "stopped"}, "value of state must be one of: started, cancelled"),
        (dict(START, image_arn="golden-ami"), "image_arn: 'golden-ami' is not an image build version ARN"),
        (dict(START, resource_state="retired"), "value of resource_state must be one of"),
        (dict(START, lifecycle_execution_id=EXECUTION_ID), "lifecycle_execution_id: cannot be used with state=started"),
        (dict(CANCEL, image_arn=IMAGE_ARN), "image_arn: cannot be used with state=cancelled"),
        (dict(CANCEL, lifecycle_execution_id="lce-1"), "lifecycle_execution_id: 'lce-1' is not a lifecycle execution"),
        (dict(AT_ONCE, include_resources={"amis": True}), "include_resources: requires execution_role"),
        (dict(START, exclusion_rules={"last_launched": {"value": 0, "unit": "days"}}), "between 1 and 365"),
        (dict(START, exclusion_rules={"last_launched": {"value": 3}}), "missing required arguments: unit"),
        (dict(START, execution_role="arn:aws:iam::1:role/x y"), "execution_role: "),
        (dict(START, client_token=""), "client_token: '' is not a string of 1 to 64 characters"),
        (dict(START, client_token="x" * 65), "client_token: 'xxxx"),
        (dict(START, include_resources={"amis": True, "volumes": True}), "volumes"),
        (dict(START, exclusion_rules={"last_launched": {"value": "x", "unit": "days"}}), "'value' is of type"),
        # ansible-core refuses a string for a dict option with suboptions before the module runs, in its own words.
        (dict(START, include_resources="all of them"), "dictionary requested"),
        ({"state": "started", "resource_state": "deprecated"}, "missing: image_arn"),
        ({}, "missing required arguments: state"),
        (dict(CANCEL, force=True), "module: force"),
    ],
)
def test_bad_input_is_refused_before_any_client_or_call(run_module, args, expected):
    result, made = run_module(module.main, args)

    assert result["failed"] is True
    assert expected in result["msg"]
    assert made == []


def test_an_image_of_another_region_fails_naming_both_regions_before_any_call(run_module, client):
    elsewhere = IMAGE_ARN.replace(":us-east-1:", ":eu-west-1:")
    result, made = run_module(module.main, dict(START, image_arn=elsewhere))  # the Stubber holds no answer
    assert result["failed"] is True and made == ["imagebuilder"]
    assert result["msg"].startswith(
        f"image_arn: {elsewhere!r} is in region eu-west-1, and this module works in region us-east-1"
    )
    assert not result.get("changed")
