# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""main() of imagebuilder_lifecycle_policy_info end to end, against a Stubber-checked client."""

import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.modules import imagebuilder_lifecycle_policy_info as module
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_PAGE_SIZE

ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/{}"
RULE = {"action": {"type": "DELETE"}, "filter": {"type": "COUNT", "value": 5}}


def policy(name):
    return {"arn": ARN.format(name), "name": name, "status": "ENABLED", "tags": {"CostCenter": "platform"}}


def test_an_unknown_arn_gives_an_empty_list(run_module, client):
    client[1].add_client_error("get_lifecycle_policy", "ResourceNotFoundException", http_status_code=404)
    result, _made = run_module(module.main, {"arn": ARN.format("gone")})
    assert result["lifecycle_policies"] == []
    assert result["changed"] is False


def test_every_page_read_in_full_sorted_by_name_tags_as_stored(run_module, client):
    stubber = client[1]
    expected = {
        "filters": [{"name": "name", "values": ["*cleanup"]}, {"name": "status", "values": ["ENABLED"]}],
        "maxResults": POLICY_PAGE_SIZE,
    }
    stubber.add_response(
        "list_lifecycle_policies", {"lifecyclePolicySummaryList": [policy("b-cleanup")], "nextToken": "t"}, expected
    )
    stubber.add_response(
        "list_lifecycle_policies", {"lifecyclePolicySummaryList": [policy("a-cleanup")]}, dict(expected, nextToken="t")
    )
    for name in ("b-cleanup", "a-cleanup"):
        stubber.add_response(
            "get_lifecycle_policy",
            {"lifecyclePolicy": dict(policy(name), policyDetails=[RULE])},
            {"lifecyclePolicyArn": ARN.format(name)},
        )
    result, _made = run_module(module.main, {"name": "*cleanup", "status": "enabled"})
    assert [p["name"] for p in result["lifecycle_policies"]] == ["a-cleanup", "b-cleanup"]
    assert result["lifecycle_policies"][0]["tags"] == {"CostCenter": "platform"}
    assert result["lifecycle_policies"][0]["policy_details"] == [
        {"action": {"type": "DELETE"}, "filter": {"type": "COUNT", "value": 5}}
    ]


def test_summaries_only_without_details(run_module, client):
    client[1].add_response(
        "list_lifecycle_policies",
        {"lifecyclePolicySummaryList": [policy("a-cleanup")]},
        {"filters": [{"name": "resourceType", "values": ["AMI_IMAGE"]}], "maxResults": POLICY_PAGE_SIZE},
    )
    result, _made = run_module(module.main, {"resource_type": "ami_image", "details": False})
    assert [p["name"] for p in result["lifecycle_policies"]] == ["a-cleanup"]


def test_a_malformed_arn_fails_before_any_client_is_made(run_module, client):
    result, made = run_module(module.main, {"arn": "golden"})
    assert result["failed"] is True and made == []


def test_the_api_spelling_filters_as_lower_case_does(run_module, client):
    client[1].add_response(
        "list_lifecycle_policies",
        {"lifecyclePolicySummaryList": [policy("a-cleanup")]},
        {
            "filters": [
                {"name": "resourceType", "values": ["CONTAINER_IMAGE"]},
                {"name": "status", "values": ["DISABLED"]},
            ],
            "maxResults": POLICY_PAGE_SIZE,
        },
    )
    result, _made = run_module(
        module.main, {"resource_type": "CONTAINER_IMAGE", "status": "DISABLED", "details": False}
    )
    assert [p["name"] for p in result["lifecycle_policies"]] == ["a-cleanup"]


def test_an_arn_of_another_region_fails_naming_both_regions_before_any_call(run_module, client):
    elsewhere = ARN.format("golden").replace(":us-east-1:", ":eu-west-1:")
    result, made = run_module(
        module.main, {"arn": elsewhere}
    )  # the Stubber holds no answer: a call would fail the test
    assert result["failed"] is True and made == ["imagebuilder"]
    assert result["msg"].startswith(
        f"arn: {elsewhere!r} is in region eu-west-1, and this module works in region us-east-1"
    )
    assert "lifecycle_policies" not in result


@pytest.mark.parametrize(
    "name, expected",
    [
        ("golden*ami", "name: 'golden*ami' has a * inside: a * may only start or end it"),
        ("**cleanup", "name: '**cleanup' has a * inside"),
        ("ab", "name: 'ab' is not 3 to 128 letters, digits, hyphens, underscores or inner spaces"),
        ("golden.ami", "name: 'golden.ami' is not 3 to 128 letters"),
        ("golden:*", "name: 'golden:*' can match no policy name"),
        ("*" + "a" * 129, "can match no policy name"),
    ],
)
def test_a_name_filter_that_can_match_nothing_fails_before_any_client_is_made(run_module, name, expected):
    result, made = run_module(module.main, {"name": name})
    assert result["failed"] is True and made == []
    assert expected in result["msg"]


@pytest.mark.parametrize("name", ["golden-ami cleanup", "golden*", "*cleanup*", "*", "*_-"])
def test_a_name_filter_a_policy_name_can_match_is_sent(run_module, client, name):
    client[1].add_response(
        "list_lifecycle_policies",
        {"lifecyclePolicySummaryList": []},
        {"filters": [{"name": "name", "values": [name]}], "maxResults": POLICY_PAGE_SIZE},
    )
    result, _made = run_module(module.main, {"name": name})
    assert result["lifecycle_policies"] == []
