# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Could a deleted AMI be restored: the Recycle Bin rules of its region as the EBS user guide states them (tag-level
rules on any one of their tags, Region-level rules with exclusion tags, only available rules, the longest retention),
and an AMI only as long as its deleted snapshots are retained."""

import datetime

import botocore

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import recycle_bin as rb
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import Unchecked
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import has_exclusions

NOW = datetime.datetime(2026, 3, 31, 2, 0, tzinfo=datetime.timezone.utc)
AMI = {"image": "ami-0123456789abcdef0", "tags": {"team": "platform"}}


def rule(identifier, days, tags=(), exclude=(), status="available", lock_state=None, unseen=None):
    return {
        "identifier": identifier,
        "resource_type": "EC2_IMAGE",
        "retention_days": days,
        "resource_tags": list(tags),
        "exclude_resource_tags": list(exclude),
        "status": status,
        "lock_state": lock_state,
        "lock_end_time": None,
        "exclusions_unseen": unseen,
    }


def snapshot(snapshot_id, deleted=True, tags=None):
    return {"snapshot_id": snapshot_id, "tags": tags or {}, "deleted": deleted}


def test_rules_are_listed_then_each_read_with_get_rule(rbin_client):
    # RuleSummary carries no tags and no status: each rule is read again.
    rbin, stubber = rbin_client
    stubber.add_response(
        "list_rules",
        {"Rules": [{"Identifier": "a1b2c3d4e5f"}], "NextToken": "next"},
        {"ResourceType": "EC2_IMAGE", "MaxResults": 1000},
    )
    stubber.add_response(
        "list_rules",
        {"Rules": [{"Identifier": "f5e4d3c2b1a"}]},
        {"ResourceType": "EC2_IMAGE", "MaxResults": 1000, "NextToken": "next"},
    )
    region_level = {
        "Identifier": "a1b2c3d4e5f",
        "RetentionPeriod": {"RetentionPeriodValue": 30, "RetentionPeriodUnit": "DAYS"},
        "Status": "available",
        "LockState": "locked",
    }
    if has_exclusions(rbin):
        region_level["ExcludeResourceTags"] = [{"ResourceTagKey": "scratch", "ResourceTagValue": "yes"}]
    stubber.add_response("get_rule", region_level, {"Identifier": "a1b2c3d4e5f"})
    stubber.add_response(
        "get_rule",
        {
            "Identifier": "f5e4d3c2b1a",
            "RetentionPeriod": {"RetentionPeriodValue": 7, "RetentionPeriodUnit": "DAYS"},
            "ResourceTags": [{"ResourceTagKey": "team", "ResourceTagValue": "platform"}],
            "Status": "pending",
        },
        {"Identifier": "f5e4d3c2b1a"},
    )
    rules = rb.retention_rules(rbin, "EC2_IMAGE")
    unseen = (
        None
        if has_exclusions(rbin)
        else f"the installed botocore {botocore.__version__} lacks GetRuleResponse.ExcludeResourceTags (it arrived in"
        " botocore 1.35.66)"
    )
    assert rules == [
        dict(
            rule("a1b2c3d4e5f", 30, lock_state="locked", unseen=unseen),
            exclude_resource_tags=[("scratch", "yes")] if has_exclusions(rbin) else [],
        ),
        rule("f5e4d3c2b1a", 7, tags=[("team", "platform")], status="pending"),
    ]


def test_a_denied_listing_makes_the_answer_unknown_with_its_reason(rbin_client):
    rbin, stubber = rbin_client
    stubber.add_client_error("list_rules", service_error_code="AccessDeniedException", http_status_code=403)
    stubber.add_client_error("list_rules", service_error_code="AccessDeniedException", http_status_code=403)
    image_rules, snapshot_rules = rb.region_rules(rbin)
    answer = rb.recoverability(AMI, [], image_rules, snapshot_rules, NOW)
    assert answer == {
        "status": "unknown",
        "reason": "denied rbin:ListRules (AccessDeniedException)",
        "open_questions": [],
    }


def test_a_tag_level_rule_retains_a_resource_with_any_one_of_its_tags():
    rules = [rule("tagged", 14, tags=[("env", "prod"), ("team", "platform")])]
    assert rb.rule_for(rules, {"team": "platform"})[0]["identifier"] == "tagged"
    # Both the key and the value must match.
    assert rb.rule_for(rules, {"team": "web"}) == (None, "no available Recycle Bin rule retains it")
    # A rule's tag without a value retains an empty value only (the open case rule_tag_without_value).
    keyed = [rule("keyed", 14, tags=[("backup", "")])]
    assert rb.rule_for(keyed, {"backup": ""})[0]["identifier"] == "keyed"
    assert rb.rule_for(keyed, {"backup": "daily"})[0] is None


def test_a_region_level_rule_retains_all_but_a_resource_with_an_exclusion_tag():
    rules = [rule("region", 10, exclude=[("scratch", "yes"), ("tmp", "")])]
    assert rb.rule_for(rules, {})[0]["identifier"] == "region"
    assert rb.rule_for(rules, {"scratch": "yes"})[0] is None
    # An exclusion tag without a value excludes every value of its key (the open case rule_tag_without_value).
    assert rb.rule_for(rules, {"tmp": "anything"})[0] is None


def test_only_available_rules_retain_and_the_pending_one_is_named():
    rules = [rule("pending1", 30, status="pending")]
    assert rb.rule_for(rules, {}) == (
        None,
        "no available Recycle Bin rule retains it (rule(s) pending1 not available: only available rules retain)",
    )


def test_the_longest_retention_wins():
    rules = [rule("short", 7), rule("long", 90, tags=[("team", "platform")]), rule("mid", 30)]
    assert rb.rule_for(rules, {"team": "platform"})[0]["identifier"] == "long"


def test_a_region_level_rule_whose_exclusions_botocore_cannot_see_makes_it_unknown():
    rules = [rule("seen", 7, tags=[("team", "platform")]), rule("blind", 30, unseen="the installed botocore lacks it")]
    answer = rb.recoverability(AMI, [], rules, [], NOW)
    assert answer["status"] == "unknown"
    assert answer["reason"] == "Region-level rule blind may exclude it: the installed botocore lacks it"


def test_an_ami_is_recoverable_until_its_rule_ends_when_its_deleted_snapshots_are_kept_as_long():
    answer = rb.recoverability(
        AMI,
        [snapshot("snap-0a"), snapshot("snap-0b", deleted=False)],
        [rule("images", 30, lock_state="locked")],
        [rule("snaps", 60)],
        NOW,
    )
    assert answer == {
        "status": "recoverable",
        "recoverable_until": "2026-04-30T02:00:00+00:00",
        "rule": "images",
        "lock_state": "locked",
        "retained": ["AMI ami-0123456789abcdef0 by rule images", "snapshot snap-0a by rule snaps"],
        "reason": "recoverable until 2026-04-30T02:00:00+00:00 by rule images",
        "open_questions": [],
    }


def test_a_snapshot_kept_fewer_days_ends_the_ami_s_recovery_sooner():
    answer = rb.recoverability(AMI, [snapshot("snap-0a")], [rule("images", 30)], [rule("snaps", 7)], NOW)
    assert answer["recoverable_until"] == "2026-04-07T02:00:00+00:00"
    assert answer["reason"] == (
        "recoverable until 2026-04-07T02:00:00+00:00, not 2026-04-30T02:00:00+00:00: rule snaps keeps a snapshot 7"
        " days, fewer than rule images keeps the AMI"
    )


def test_an_ami_whose_deleted_snapshot_no_rule_retains_is_not_recoverable():
    answer = rb.recoverability(AMI, [snapshot("snap-0a")], [rule("images", 30)], [], NOW)
    assert answer == {
        "status": "not_recoverable",
        "reason": "snapshot snap-0a: no available Recycle Bin rule retains it, and an AMI cannot be restored without"
        " its snapshots",
        "open_questions": [],
    }


def test_an_ami_no_rule_retains_is_not_recoverable():
    answer = rb.recoverability(AMI, [], [rule("other", 30, tags=[("env", "dev")])], [], NOW)
    assert answer["status"] == "not_recoverable"
    assert answer["reason"] == "AMI ami-0123456789abcdef0: no available Recycle Bin rule retains it"


def test_deregistration_protection_blocks_the_delete_and_says_the_report_is_undocumented():
    answer = rb.recoverability(AMI, [], [], [], NOW, deregistration_protection="enabled-with-cooldown")
    assert answer["status"] == "blocked"
    assert answer["reason"].startswith("deregistration protection is enabled-with-cooldown: the AMI cannot be")
    assert answer["open_questions"] == ["deregistration_protection"]
    assert rb.recoverability(AMI, [], [], [], NOW, deregistration_protection="disabled")["status"] == "not_recoverable"


def test_unreadable_rules_are_unknown_not_unrecoverable():
    answer = rb.recoverability(AMI, [], Unchecked("denied rbin:GetRule (AccessDeniedException)"), [], NOW)
    assert answer["status"] == "unknown" and answer["reason"] == "denied rbin:GetRule (AccessDeniedException)"
