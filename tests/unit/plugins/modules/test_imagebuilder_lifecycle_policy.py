# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""main() of imagebuilder_lifecycle_policy end to end, against a Stubber-checked client."""

import copy

import pytest
from botocore.stub import ANY

from ansible_collections.imagebuilder_ops.aws.plugins.modules import imagebuilder_lifecycle_policy as module
from ansible_collections.imagebuilder_ops.aws.plugins.modules import imagebuilder_lifecycle_policy_info as info_module
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import every_policy
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import found_by_name

NAME = "golden-ami-cleanup"
ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"
ROLE_ARN = "arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole"

TASK = {
    "name": NAME,
    "execution_role": "ImageBuilderLifecycleRole",
    "resource_type": "ami_image",
    "policy_details": [
        {"action": {"type": "delete", "include_resources": {"amis": True}}, "filter": {"type": "count", "value": 5}},
        {
            "action": {"type": "deprecate", "include_resources": {"amis": True}},
            "filter": {"type": "age", "value": 90, "unit": "days"},
        },
    ],
    "resource_selection": {"recipes": [{"name": "golden-ami", "semantic_version": "1.x.x"}]},
    "tags": {"CostCenter": "platform"},
}

# The same task in the API's spelling, as the info module returns it and the AWS CLI and Terraform write it.
API_TASK = dict(
    TASK,
    resource_type="AMI_IMAGE",
    policy_details=[
        {"action": {"type": "DELETE", "include_resources": {"amis": True}}, "filter": {"type": "COUNT", "value": 5}},
        {
            "action": {"type": "DEPRECATE", "include_resources": {"amis": True}},
            "filter": {"type": "AGE", "value": 90, "unit": "DAYS"},
        },
    ],
)

# What the service answers for that policy: rules in another order, the role as an ARN, defaults echoed.
STORED = {
    "arn": ARN,
    "name": NAME,
    "status": "ENABLED",
    "executionRole": ROLE_ARN,
    "resourceType": "AMI_IMAGE",
    "policyDetails": [
        {
            "action": {
                "type": "DEPRECATE",
                "includeResources": {"amis": True, "snapshots": False, "containers": False},
            },
            "filter": {"type": "AGE", "value": 90, "unit": "DAYS"},
            "exclusionRules": {"amis": {"isPublic": False}},
        },
        {
            "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": False, "containers": False}},
            "filter": {"type": "COUNT", "value": 5},
        },
    ],
    "resourceSelection": {"recipes": [{"name": "golden-ami", "semanticVersion": "1.x.x"}]},
    "tags": {"CostCenter": "platform"},
}


def stored(**changes):
    return dict(copy.deepcopy(STORED), **changes)


@pytest.mark.parametrize("task", [TASK, API_TASK], ids=["lower case", "the API's spelling"])
def test_creates_with_one_token_and_returns_the_policy(run_module, client, task):
    stubber = client[1]
    found_by_name(stubber, None)
    every_policy(stubber)
    stubber.add_response(
        "create_lifecycle_policy",
        {"lifecyclePolicyArn": ARN},
        {
            "name": NAME,
            "status": "ENABLED",
            "executionRole": "ImageBuilderLifecycleRole",
            "resourceType": "AMI_IMAGE",
            "policyDetails": [
                {
                    "action": {"type": "DELETE", "includeResources": {"amis": True}},
                    "filter": {"type": "COUNT", "value": 5},
                },
                {
                    "action": {"type": "DEPRECATE", "includeResources": {"amis": True}},
                    "filter": {"type": "AGE", "value": 90, "unit": "DAYS"},
                },
            ],
            "resourceSelection": {"recipes": [{"name": "golden-ami", "semanticVersion": "1.x.x"}]},
            "tags": {"CostCenter": "platform"},
            "clientToken": ANY,
        },
    )
    stubber.add_response("get_lifecycle_policy", {"lifecyclePolicy": STORED}, {"lifecyclePolicyArn": ARN})

    result, _made = run_module(module.main, task)

    assert result["changed"] is True
    assert result["lifecycle_policy"]["arn"] == ARN
    assert result["lifecycle_policy"]["tags"] == {"CostCenter": "platform"}


def test_a_second_run_makes_no_write(run_module, client):
    found_by_name(client[1], stored())
    result, _made = run_module(module.main, dict(TASK, _ansible_diff=True))
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_a_policy_read_with_the_info_module_and_passed_back_unchanged_makes_no_write(run_module, client):
    policy = stored(description="Retire golden AMIs", status="DISABLED")
    client[1].add_response("get_lifecycle_policy", {"lifecyclePolicy": policy}, {"lifecyclePolicyArn": ARN})
    info, _made = run_module(info_module.main, {"arn": ARN})
    (read,) = info["lifecycle_policies"]
    assert read["status"] == "DISABLED" and read["policy_details"][0]["filter"]["unit"] == "DAYS"
    options = ("description", "status", "execution_role", "resource_type", "policy_details", "resource_selection")

    found_by_name(client[1], policy)  # the Stubber holds no write: one would fail the test
    result, _made = run_module(module.main, dict({o: read[o] for o in options}, name=read["name"], tags=read["tags"]))

    assert result["changed"] is False


@pytest.mark.parametrize("upper", [False, True], ids=["lower case", "the API's spelling"])
def test_rules_are_checked_alike_in_either_spelling(run_module, client, upper):
    spelled = str.upper if upper else str.lower
    refused = {"action": {"type": spelled("deprecate")}, "filter": {"type": spelled("count"), "value": 5}}
    accepted = {
        "action": {"type": spelled("delete"), "include_resources": {"amis": True, "snapshots": True}},
        "filter": {"type": spelled("age"), "value": 90, "unit": spelled("days")},
    }
    result, made = run_module(module.main, dict(TASK, policy_details=[refused, accepted]))
    assert result["failed"] is True and made == []
    assert result["msg"] == "policy_details[0].filter: a count filter goes with a delete rule only"


def test_a_mixed_case_spelling_is_refused_with_both_spellings_listed(run_module, client):
    result, made = run_module(module.main, dict(TASK, status="Disabled"))
    assert result["failed"] is True and made == []
    assert "value of status must be one of: ENABLED, DISABLED, enabled, disabled, got: Disabled" in result["msg"]


def test_check_mode_writes_nothing_and_reports_the_change(run_module, client):
    found_by_name(client[1], stored())
    result, _made = run_module(module.main, dict(TASK, status="disabled", _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True
    assert result["diff"]["before"]["status"] == "enabled"
    assert result["diff"]["after"]["status"] == "disabled"


def test_the_diff_shows_the_change_only_with_rules_in_the_order_they_apply(run_module, client):
    found_by_name(client[1], stored())
    details = copy.deepcopy(TASK["policy_details"])
    details[1]["filter"]["value"] = 30  # the deprecate rule, given second

    result, _made = run_module(
        module.main, dict(TASK, policy_details=details, _ansible_check_mode=True, _ansible_diff=True)
    )

    deprecate = {"action": {"type": "deprecate", "include_resources": {"amis": True}}}
    delete = {
        "action": {"type": "delete", "include_resources": {"amis": True}},
        "filter": {"type": "count", "value": 5},
    }
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["policy_details"] == [
        dict(deprecate, filter={"type": "age", "value": 90, "unit": "days"}),
        delete,
    ]
    assert after["policy_details"] == [dict(deprecate, filter={"type": "age", "value": 30, "unit": "days"}), delete]
    assert {key: value for key, value in before.items() if key != "policy_details"} == {
        key: value for key, value in after.items() if key != "policy_details"
    }
    assert before["resource_selection"] == {"recipes": [{"name": "golden-ami", "semantic_version": "1.x.x"}]}
    assert "description" not in before and before["tags"] == {"CostCenter": "platform"}


def test_a_status_change_resends_everything_else(run_module, client):
    stubber = client[1]
    found_by_name(stubber, stored(description="Retire golden AMIs"))
    stubber.add_response(
        "update_lifecycle_policy",
        {"lifecyclePolicyArn": ARN},
        {
            "lifecyclePolicyArn": ARN,
            "description": "Retire golden AMIs",
            "status": "DISABLED",
            "executionRole": ROLE_ARN,
            "resourceType": "AMI_IMAGE",
            "policyDetails": STORED["policyDetails"],
            "resourceSelection": STORED["resourceSelection"],
            "clientToken": ANY,
        },
    )
    stubber.add_response(
        "get_lifecycle_policy", {"lifecyclePolicy": stored(status="DISABLED")}, {"lifecyclePolicyArn": ARN}
    )
    result, _made = run_module(module.main, {"name": NAME, "status": "disabled"})
    assert result["changed"] is True


def test_a_run_without_status_keeps_a_disabled_policy_disabled(run_module, client):
    found_by_name(client[1], stored(status="DISABLED"))
    result, _made = run_module(module.main, TASK)
    assert result["changed"] is False


def test_tags_change_through_the_tag_calls_only(run_module, client):
    stubber = client[1]
    found_by_name(stubber, stored(tags={"CostCenter": "platform", "Old": "x"}))
    stubber.add_response("untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["Old"]})
    stubber.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": {"CostCenter": "finance"}})
    stubber.add_response(
        "get_lifecycle_policy", {"lifecyclePolicy": stored(tags={"CostCenter": "finance"})}, {"lifecyclePolicyArn": ARN}
    )
    result, _made = run_module(module.main, dict(TASK, tags={"CostCenter": "finance"}))
    assert result["changed"] is True
    assert result["lifecycle_policy"]["tags"] == {"CostCenter": "finance"}


def test_creating_without_the_required_options_names_them_all_before_any_write(run_module, client):
    found_by_name(client[1], None)
    result, _made = run_module(module.main, {"name": NAME})
    assert result["failed"] is True
    assert "execution_role, resource_type, policy_details, resource_selection" in result["msg"]


def test_a_different_resource_type_fails_without_writing(run_module, client):
    found_by_name(client[1], stored())
    result, _made = run_module(
        module.main, dict(TASK, resource_type="container_image", policy_details=TASK["policy_details"][:1])
    )
    assert result["failed"] is True
    assert "cannot change" in result["msg"]


def test_a_name_that_takes_another_policys_arn_fails_before_create(run_module, client):
    stubber = client[1]
    found_by_name(stubber, None)
    every_policy(stubber, ["Golden AMI_Cleanup"])
    result, _made = run_module(module.main, TASK)
    assert result["failed"] is True
    assert "'Golden AMI_Cleanup'" in result["msg"]


def test_absent_deletes_then_changes_nothing(run_module, client):
    stubber = client[1]
    found_by_name(stubber, stored())
    stubber.add_response("delete_lifecycle_policy", {"lifecyclePolicyArn": ARN}, {"lifecyclePolicyArn": ARN})
    result, _made = run_module(module.main, {"name": NAME, "state": "absent"})
    assert result["changed"] is True
    found_by_name(stubber, None)
    result, _made = run_module(module.main, {"name": NAME, "state": "absent"})
    assert result["changed"] is False


def test_a_policy_deleted_since_it_was_read_is_absent_without_a_change(run_module, client):
    stubber = client[1]
    found_by_name(stubber, stored())
    stubber.add_client_error(
        "delete_lifecycle_policy",
        "ResourceNotFoundException",
        "Lifecycle policy not found",
        404,
        {"lifecyclePolicyArn": ARN},
    )
    result, _made = run_module(module.main, {"name": NAME, "state": "absent"})
    assert result.get("failed") is not True and result["changed"] is False


def test_another_refusal_to_delete_still_fails_naming_the_policy(run_module, client):
    stubber = client[1]
    found_by_name(stubber, stored())
    stubber.add_client_error(
        "delete_lifecycle_policy", "AccessDeniedException", "not authorized", 403, {"lifecyclePolicyArn": ARN}
    )
    result, _made = run_module(module.main, {"name": NAME, "state": "absent"})
    assert result["failed"] is True and result["msg"].startswith(f"Failed to delete lifecycle policy {ARN}")


def test_absent_in_check_mode_writes_nothing(run_module, client):
    found_by_name(client[1], stored())
    result, _made = run_module(module.main, {"name": NAME, "state": "absent", "_ansible_check_mode": True})
    assert result["changed"] is True


def test_a_throttled_create_is_retried_with_one_token(run_module, client, sleeps, tokens):
    stubber = client[1]
    found_by_name(stubber, None)
    every_policy(stubber)
    stubber.add_client_error("create_lifecycle_policy", "CallRateLimitExceededException", http_status_code=429)
    stubber.add_response("create_lifecycle_policy", {"lifecyclePolicyArn": ARN})
    stubber.add_response("get_lifecycle_policy", {"lifecyclePolicy": STORED}, {"lifecyclePolicyArn": ARN})

    result, _made = run_module(module.main, TASK)

    assert result["changed"] is True
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert len(sleeps) == 1
