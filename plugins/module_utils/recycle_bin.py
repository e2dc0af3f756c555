# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Could a deleted AMI be brought back? The Recycle Bin retention rules of a region (rbin ListRules, then GetRule per
rule), which rule would retain an AMI or a snapshot, and the answer for an AMI a DELETE reaches: "recoverable until
... by rule ..." or "not recoverable: ...", "blocked" when deregistration protection keeps it, "unknown" when the rules
could not be read.

Sentences followed (EBS user guide, "Work with Recycle Bin retention rules" and "Considerations for Recycle Bin";
botocore's rbin model) are quoted where they are applied.
"""

import datetime

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import paginate
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import Unchecked
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import checked
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import lacks_member

IMAGE = "EC2_IMAGE"
SNAPSHOT = "EBS_SNAPSHOT"
# GetRuleResponse.Status: "Only retention rules that are in the available state retain resources."
RETAINING_STATUS = "available"


@common.error_handler("list the Recycle Bin rules for {resource_type}")
def _list_rules(rbin, resource_type):
    return paginate(rbin, rbin.list_rules, "ListRules", "Rules", ResourceType=resource_type)


@common.error_handler("get Recycle Bin rule {identifier}")
def _get_rule(rbin, identifier):
    return common.call(rbin.get_rule, "GetRule", "Identifier", Identifier=identifier)


def _tags(items):
    return [(item.get("ResourceTagKey"), item.get("ResourceTagValue") or "") for item in items or []]


def retention_rules(rbin, resource_type):
    """The rules of the client's region that retain ``resource_type`` (EC2_IMAGE or EBS_SNAPSHOT), each from GetRule:
    ListRules' RuleSummary has Identifier, Description, RetentionPeriod, LockState and RuleArn only (no ResourceTags,
    ExcludeResourceTags nor Status), so every rule is read again. Raises Unchecked when a read fails.

    A Region-level rule whose exclusion tags the installed botocore cannot see (GetRuleResponse.ExcludeResourceTags
    arrived in botocore 1.35.66; an older one drops it silently) carries ``exclusions_unseen``: the reason.
    """
    action = "rbin:ListRules"
    summaries = checked(action, _list_rules, rbin, resource_type)
    unseen = lacks_member(rbin, "GetRuleResponse", "ExcludeResourceTags")
    rules = []
    for summary in summaries:
        rule = checked("rbin:GetRule", _get_rule, rbin, summary["Identifier"])
        period = rule.get("RetentionPeriod") or summary.get("RetentionPeriod") or {}
        resource_tags = _tags(rule.get("ResourceTags"))
        rules.append(
            {
                "identifier": rule["Identifier"],
                "resource_type": resource_type,
                # RetentionPeriodUnit: "Currently, only DAYS is supported."
                "retention_days": period.get("RetentionPeriodValue"),
                "resource_tags": resource_tags,
                "exclude_resource_tags": _tags(rule.get("ExcludeResourceTags")),
                "status": rule.get("Status"),
                "lock_state": rule.get("LockState"),
                "lock_end_time": rule.get("LockEndTime"),
                "exclusions_unseen": unseen if not resource_tags else None,
            }
        )
    return rules


def _has_tag(tags, tag):
    """Whether a resource's tags hold ``tag`` (key, value): both must match; a rule's tag without a value matches an
    empty value only (the open case rule_tag_without_value)."""
    key, value = tag
    return key in tags and (tags[key] or "") == value


def _excluded_by(tags, tag):
    """Whether an exclusion tag ignores a resource: both must match; an exclusion tag without a value matches every
    value of its key (the open case rule_tag_without_value: fewer resources are shown recoverable)."""
    key, value = tag
    return key in tags and (value == "" or tags[key] == value)


def rule_for(rules, tags):
    """The rule that would retain a resource with these tags when it is deleted, or (None, why not), or raises
    Unchecked when whether a rule applies cannot be told: (rule, None) or (None, reason).

    - Only ``available`` rules retain (GetRuleResponse.Status).
    - A tag-level rule: "Resources of the specified type that are tagged with at least one of the tag key and value
      pairs that are specified in the retention rule are automatically retained in the Recycle Bin upon deletion."
      The tags are the resource's own.
    - A Region-level rule: "A Region-level retention rule does not have any resource tags specified. It applies to all
      of the resources of the specified type in the Region in which the rule is created, even if the resources are not
      tagged", "but can exclude resources that have specific tags" (any one exclusion tag: the open case
      exclusion_tags_match).
    - "If a resource matches more than one retention rule upon deletion, then the retention rule with the longest
      retention period takes precedence."
    """
    matching, unseen = [], []
    for rule in rules:
        if rule["status"] != RETAINING_STATUS:
            continue
        if rule["resource_tags"]:
            if any(_has_tag(tags, tag) for tag in rule["resource_tags"]):
                matching.append(rule)
        elif not any(_excluded_by(tags, tag) for tag in rule["exclude_resource_tags"]):
            if rule["exclusions_unseen"]:
                unseen.append(rule)
            else:
                matching.append(rule)
    best = max(matching, key=lambda rule: (rule["retention_days"] or 0, rule["identifier"]), default=None)
    longer_unseen = [rule for rule in unseen if best is None or (rule["retention_days"] or 0) > best["retention_days"]]
    if longer_unseen:
        rule = longer_unseen[0]
        raise Unchecked(f"Region-level rule {rule['identifier']} may exclude it: {rule['exclusions_unseen']}")
    if best:
        return best, None
    pending = sorted(rule["identifier"] for rule in rules if rule["status"] != RETAINING_STATUS)
    why = "no available Recycle Bin rule retains it"
    if pending:
        why += f" (rule(s) {', '.join(pending)} not available: only available rules retain)"
    return None, why


def _until(now, rule):
    return (now + datetime.timedelta(days=rule["retention_days"])).isoformat()


def recoverability(ami, snapshots, image_rules, snapshot_rules, now, deregistration_protection=None):
    """Whether an AMI a DELETE reaches could be restored from the Recycle Bin, if it were deleted at ``now``.

    ``ami``: {"image", "tags"}; ``snapshots``: [{"snapshot_id", "tags", "deleted"}] its snapshots, ``deleted`` when
    the action deletes them too (a snapshot left in place needs no rule); ``image_rules``, ``snapshot_rules``:
    retention_rules() of the region, or an Unchecked (the rules could not be read).

    "If you have retention rules for AMIs and for their associated snapshots, make the retention period for the
    snapshots the same or longer than the retention period for the AMIs. This ensures that Recycle Bin does not delete
    the snapshots associated with an AMI before deleting the AMI itself, as this would make the AMI unrecoverable." So
    the AMI is recoverable until the earliest of its rule's end and its deleted snapshots' rules' ends, and not at all
    when a deleted snapshot is not retained.
    """
    if deregistration_protection and deregistration_protection != "disabled":
        return {
            "status": "blocked",
            "reason": f"deregistration protection is {deregistration_protection}: the AMI cannot be deregistered, so"
            " the delete does not remove it; what Image Builder then reports for it is not documented",
            "open_questions": ["deregistration_protection"],
        }
    try:
        for rules in (image_rules, snapshot_rules):
            if isinstance(rules, Unchecked):
                raise rules
        rule, why = rule_for(image_rules, ami.get("tags") or {})
        if rule is None:
            return {"status": "not_recoverable", "reason": f"AMI {ami['image']}: {why}", "open_questions": []}
        limits = [(rule["retention_days"], f"AMI {ami['image']} by rule {rule['identifier']}", rule)]
        for snap in snapshots:
            if not snap.get("deleted"):
                continue
            snap_rule, why = rule_for(snapshot_rules, snap.get("tags") or {})
            if snap_rule is None:
                return {
                    "status": "not_recoverable",
                    "reason": f"snapshot {snap['snapshot_id']}: {why}, and an AMI cannot be restored without its"
                    " snapshots",
                    "open_questions": [],
                }
            limits.append(
                (
                    snap_rule["retention_days"],
                    f"snapshot {snap['snapshot_id']} by rule {snap_rule['identifier']}",
                    snap_rule,
                )
            )
    except Unchecked as e:
        return {"status": "unknown", "reason": e.reason, "open_questions": []}
    days, dummy, limiting = min(limits, key=lambda limit: limit[0])
    answer = {
        "status": "recoverable",
        "recoverable_until": _until(now, limiting),
        "rule": rule["identifier"],
        "lock_state": rule["lock_state"],
        "retained": [text for dummy, text, dummy2 in limits],
        "open_questions": [],
    }
    if days < rule["retention_days"]:
        answer["reason"] = (
            f"recoverable until {answer['recoverable_until']}, not {_until(now, rule)}: rule {limiting['identifier']}"
            f" keeps a snapshot {days} days, fewer than rule {rule['identifier']} keeps the AMI"
        )
    else:
        answer["reason"] = f"recoverable until {answer['recoverable_until']} by rule {rule['identifier']}"
    return answer


def region_rules(rbin):
    """(image rules, snapshot rules) of the client's region, each a list or the Unchecked that says why not."""
    answers = []
    for resource_type in (IMAGE, SNAPSHOT):
        try:
            answers.append(retention_rules(rbin, resource_type))
        except Unchecked as e:
            answers.append(e)
    return tuple(answers)


def rule_open_questions(*rule_lists):
    """The open cases the rules of a region meet: exclusion tags (exclusion_tags_match), a tag without a value
    (rule_tag_without_value). An Unchecked in place of a list meets none."""
    cases = set()
    for rules in rule_lists:
        for rule in rules if isinstance(rules, list) else []:
            if rule["status"] != RETAINING_STATUS:
                continue
            if len(rule["exclude_resource_tags"]) > 1:
                cases.add("exclusion_tags_match")
            if any(value == "" for dummy, value in rule["resource_tags"] + rule["exclude_resource_tags"]):
                cases.add("rule_tag_without_value")
    return cases
