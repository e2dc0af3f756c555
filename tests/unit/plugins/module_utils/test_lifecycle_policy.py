# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Lifecycle policies: the canonical form, the option checks, the requests, and the calls behind a Stubber."""

import copy

import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_policy as lp

POLICY_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"
ROLE_ARN = "arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole"

# The policy as the service echoes it, defaults included.
ECHOED = {
    "arn": POLICY_ARN,
    "name": "golden-ami-cleanup",
    "status": "ENABLED",
    "executionRole": ROLE_ARN,
    "resourceType": "AMI_IMAGE",
    "policyDetails": [
        {
            "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": True, "containers": False}},
            "filter": {"type": "AGE", "value": 180, "unit": "DAYS", "retainAtLeast": 3},
            "exclusionRules": {"amis": {"isPublic": False, "regions": ["us-west-2", "eu-west-1"]}},
        },
        {
            "action": {
                "type": "DEPRECATE",
                "includeResources": {"amis": True, "snapshots": False, "containers": False},
            },
            "filter": {"type": "AGE", "value": 90, "unit": "DAYS"},
        },
    ],
    "resourceSelection": {
        "recipes": [{"name": "b-recipe", "semanticVersion": "x.x.x"}, {"name": "a-recipe", "semanticVersion": "1.x.x"}]
    },
    "tags": {"CostCenter": "platform"},
}

# The same policy as a user writes it: other order, no defaults, the role by name.
OPTIONS = {
    "name": "golden-ami-cleanup",
    "description": None,
    "status": None,
    "execution_role": "ImageBuilderLifecycleRole",
    "resource_type": "ami_image",
    "policy_details": [
        {
            "action": {"type": "deprecate", "include_resources": {"amis": True, "snapshots": None, "containers": None}},
            "filter": {"type": "age", "value": 90, "unit": "days", "retain_at_least": None},
            "exclusion_rules": None,
        },
        {
            "action": {"type": "delete", "include_resources": {"amis": True, "snapshots": True, "containers": None}},
            "filter": {"type": "age", "value": 180, "unit": "days", "retain_at_least": 3},
            "exclusion_rules": {
                "tag_map": None,
                "amis": {
                    "is_public": None,
                    "regions": ["eu-west-1", "us-west-2"],
                    "shared_accounts": None,
                    "last_launched": None,
                    "tag_map": None,
                },
            },
        },
    ],
    "resource_selection": {
        "recipes": [
            {"name": "a-recipe", "semantic_version": "1.x.x"},
            {"name": "b-recipe", "semantic_version": "x.x.x"},
        ],
        "tag_map": None,
    },
    "tags": None,
}


def options(**changes):
    result = copy.deepcopy(OPTIONS)
    result.update(changes)
    return result


def detail(action="delete", flt=None, include=None, exclusion_rules=None):
    return {
        "action": {"type": action, "include_resources": include},
        "filter": flt or {"type": "age", "value": 30, "unit": "days", "retain_at_least": None},
        "exclusion_rules": exclusion_rules,
    }


# --- the canonical form ---------------------------------------------------------------------------------------------


def test_the_echoed_policy_and_the_written_options_are_the_same_policy():
    assert lp.canonical(lp.desired_policy(OPTIONS, ECHOED)) == lp.canonical(ECHOED)
    assert lp.canonical(lp.desired_policy(OPTIONS)) == lp.canonical(ECHOED)


def test_a_role_name_and_its_arn_are_the_same_role():
    assert lp.role_name(ROLE_ARN) == lp.role_name("ImageBuilderLifecycleRole") == "ImageBuilderLifecycleRole"
    assert lp.role_name("arn:aws:iam::123456789012:role/service-role/Lifecycle") == "Lifecycle"


@pytest.mark.parametrize(
    "change",
    [
        {"status": "disabled"},
        {"description": "Retire golden AMIs"},
        {"execution_role": "OtherRole"},
        {"resource_selection": {"recipes": None, "tag_map": {"CostCenter": "platform"}}},
        {"policy_details": OPTIONS["policy_details"][:1]},
    ],
)
def test_each_real_change_is_seen(change):
    assert lp.canonical(lp.desired_policy(options(**change), ECHOED)) != lp.canonical(ECHOED)


def test_a_changed_value_inside_a_rule_is_seen():
    changed = options()
    changed["policy_details"][1]["filter"]["retain_at_least"] = 4
    assert lp.canonical(lp.desired_policy(changed, ECHOED)) != lp.canonical(ECHOED)


def test_an_empty_description_removes_it_and_a_new_policy_is_enabled():
    desired = lp.desired_policy(options(description=""), dict(ECHOED, description="old"))
    assert "description" not in desired
    assert lp.desired_policy(OPTIONS)["status"] == "ENABLED"


def test_tag_keys_are_kept_as_written_in_requests_and_output():
    written = options(resource_selection={"recipes": None, "tag_map": {"CostCenter": "x", "Owner-Team": "y"}})
    written["policy_details"][1]["exclusion_rules"] = {"tag_map": {"KeepMe": "1"}, "amis": {"tag_map": {"DoNot": "2"}}}
    desired = lp.desired_policy(written)
    assert desired["resourceSelection"] == {"tagMap": {"CostCenter": "x", "Owner-Team": "y"}}
    assert desired["policyDetails"][1]["exclusionRules"] == {
        "tagMap": {"KeepMe": "1"},
        "amis": {"tagMap": {"DoNot": "2"}},
    }
    out = lp.normalize_policy(dict(desired, tags={"CostCenter": "platform"}, dateCreated=None))
    assert out["tags"] == {"CostCenter": "platform"}
    assert out["resource_selection"] == {"tag_map": {"CostCenter": "x", "Owner-Team": "y"}}
    assert out["policy_details"][1]["exclusion_rules"] == {
        "tag_map": {"KeepMe": "1"},
        "amis": {"tag_map": {"DoNot": "2"}},
    }
    assert out["execution_role"] == "ImageBuilderLifecycleRole"


def test_names_that_differ_in_case_spaces_or_underscores_share_an_arn():
    assert lp.arn_name("Golden AMI_Cleanup") == lp.arn_name("golden-ami-cleanup") == "golden-ami-cleanup"


# --- the rules, checked before any call ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": "a"}, "name: 'a' is not"),
        ({"policy_details": []}, "1 to 3 rules, not 0"),
        ({"policy_details": [detail(), detail("deprecate"), detail("disable"), detail()]}, "1 to 3 rules, not 4"),
        ({"policy_details": [detail(), detail()]}, "at most one delete rule"),
        (
            {
                "policy_details": [
                    detail("deprecate", {"type": "count", "value": 5, "unit": None, "retain_at_least": None})
                ]
            },
            "a count filter goes with a delete rule only",
        ),
        (
            {"policy_details": [detail(flt={"type": "age", "value": 5, "unit": None, "retain_at_least": None})]},
            "an age filter needs a unit",
        ),
        (
            {"policy_details": [detail(flt={"type": "age", "value": 1001, "unit": "days", "retain_at_least": None})]},
            "1001 is not between 1 and 1000",
        ),
        (
            {"policy_details": [detail(flt={"type": "age", "value": 0, "unit": "days", "retain_at_least": None})]},
            "0 is not between 1 and 1000",
        ),
        (
            {"policy_details": [detail(flt={"type": "age", "value": 5, "unit": "days", "retain_at_least": 11})]},
            "11 is not between 1 and 10",
        ),
        (
            {"policy_details": [detail(flt={"type": "count", "value": 5, "unit": None, "retain_at_least": 2})]},
            "retain_at_least: only with an age filter",
        ),
        ({"policy_details": [detail(include={"snapshots": True})]}, "snapshots only together with amis"),
        ({"policy_details": [detail("deprecate", include={"amis": True, "snapshots": True})]}, "AMIs only"),
        ({"policy_details": [detail("disable", include={"containers": True})]}, "AMIs only"),
        ({"policy_details": [detail(include={"containers": True})]}, "an ami_image policy includes no containers"),
        (
            {"resource_type": "container_image", "policy_details": [detail("deprecate")]},
            "a container_image policy allows delete rules only",
        ),
        (
            {
                "resource_type": "container_image",
                "policy_details": [detail(exclusion_rules={"tag_map": None, "amis": {"is_public": True}})],
            },
            "a container_image policy has no AMI exclusions",
        ),
        (
            {"resource_selection": {"recipes": [{"name": "abc", "semantic_version": "1.0"}], "tag_map": {"a": "b"}}},
            "exactly one of recipes or tag_map",
        ),
        ({"resource_selection": {"recipes": None, "tag_map": None}}, "exactly one of recipes or tag_map"),
        (
            {"resource_selection": {"recipes": [{"name": "abc", "semantic_version": "1.0"}], "tag_map": None}},
            "'1.0' is not a version",
        ),
        (
            {"policy_details": [detail(exclusion_rules={"amis": {"last_launched": {"value": 366, "unit": "days"}}})]},
            "366 is not between 1 and 365",
        ),
        (
            {"policy_details": [detail(exclusion_rules={"amis": {"shared_accounts": ["12345"]}})]},
            "'12345' is not a 12-digit AWS account ID",
        ),
        ({"tags": {"aws:owner": "x"}}, "starts with 'aws:'"),
        ({"resource_selection": {"recipes": None, "tag_map": {"aws:x": "y"}}}, "starts with 'aws:'"),
        ({"execution_role": "not a role"}, "is not an IAM role name or ARN"),
    ],
)
def test_each_rule_is_checked(change, message):
    errors = lp.validate_policy(options(**change))
    assert any(message in e for e in errors), errors


def test_well_formed_options_pass():
    assert lp.validate_policy(OPTIONS) == []


def test_an_existing_policys_type_applies_when_the_options_leave_it_out():
    errors = lp.validate_policy(options(resource_type=None, policy_details=[detail("disable")]), "container_image")
    assert errors == ["policy_details[0].action.type: a container_image policy allows delete rules only"]


# --- the calls --------------------------------------------------------------------------------------------------------


def test_create_is_asked_again_while_the_role_propagates(client, monkeypatch):
    wrapped, stubber = client
    slept = []
    now = [0.0]
    monkeypatch.setattr(lp.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(lp.time, "sleep", lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    request = lp.create_request(lp.desired_policy(OPTIONS), None, "one-token")
    for _attempt in range(2):
        stubber.add_client_error(
            "create_lifecycle_policy",
            "InvalidParameterValueException",
            lp.ROLE_NOT_READY_MESSAGE,
            400,
            expected_params=request,
        )
    stubber.add_response("create_lifecycle_policy", {"lifecyclePolicyArn": POLICY_ARN}, request)
    assert lp.create_lifecycle_policy(wrapped, request) == POLICY_ARN
    assert slept == [lp.ROLE_PROPAGATION_SLEEP] * 2


def test_the_role_wait_is_bounded(client, monkeypatch):
    wrapped, stubber = client
    now = [0.0]
    monkeypatch.setattr(lp.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(lp.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    attempts = lp.ROLE_PROPAGATION_TIMEOUT // lp.ROLE_PROPAGATION_SLEEP + 1
    for _attempt in range(attempts):
        stubber.add_client_error(
            "update_lifecycle_policy", "InvalidParameterValueException", lp.ROLE_NOT_READY_MESSAGE, 400
        )
    request = lp.update_request(lp.desired_policy(OPTIONS), POLICY_ARN, "one-token")
    with pytest.raises(common.ImageBuilderError, match="Failed to update lifecycle policy"):
        lp.update_lifecycle_policy(wrapped, request)


def test_the_diff_view_lists_rules_as_they_apply_and_leaves_out_what_nobody_set():
    rule = {"filter": {"type": "AGE", "value": 30, "unit": "DAYS"}, "exclusionRules": {"amis": {"isPublic": False}}}
    policy = {
        "name": "golden",
        "status": "ENABLED",
        "resourceType": "AMI_IMAGE",
        "policyDetails": [
            dict(rule, action={"type": action, "includeResources": {"amis": False, "snapshots": False}})
            for action in ("DELETE", "DISABLE", "DEPRECATE")
        ],
        "resourceSelection": {"tagMap": {"Team": "platform"}},
    }

    view = lp.diff_view(policy)

    assert [d["action"]["type"] for d in view["policy_details"]] == ["deprecate", "disable", "delete"]
    assert view == {
        "name": "golden",
        "status": "enabled",
        "resource_type": "ami_image",
        "policy_details": [
            {"action": {"type": action}, "filter": {"type": "age", "value": 30, "unit": "days"}}
            for action in ("deprecate", "disable", "delete")
        ],
        "resource_selection": {"tag_map": {"Team": "platform"}},
    }
