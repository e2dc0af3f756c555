"""Recycle Bin's ListRules and GetRule, from the scenario's ``recycle_bin_rules``: each written as GetRule answers it
(API-named members, checked against GetRuleResponse when the scenario loads; ``RuleArn`` is made from the region and
the Identifier), plus ``region`` (default the scenario's)."""

import copy

from .common import EndpointError
from .common import ScenarioError
from .common import checked_shape
from .common import epoch
from .common import listed

RULE_DEFAULTS = {"Status": "available", "Description": ""}
SUMMARY_MEMBERS = ("Identifier", "Description", "RetentionPeriod", "LockState", "RuleArn")
# ListRulesRequest.MaxResults: 1 to 1000 (the model); without it, every rule in one answer (a choice: the model and
# the API Reference state no default).
PAGE_BOUNDS = (1, 1000)


def load(scenario, world, model):
    """[(region, rule)], each checked: the model's shape, and what its documentation says in words: ResourceTags are
    "[Tag-level retention rules only]", ExcludeResourceTags and the lock "[Region-level retention rules only]"."""
    rules = []
    for entry, where in listed(scenario, "recycle_bin_rules"):
        if not isinstance(entry, dict):
            raise ScenarioError(f"{where}: expected an object")
        rule = copy.deepcopy(entry)
        region = rule.pop("region", world.region)
        for member, value in RULE_DEFAULTS.items():
            rule.setdefault(member, value)
        identifier = rule.get("Identifier")
        rule["RuleArn"] = f"arn:aws:rbin:{region}:{world.account_id}:rule/{identifier}"
        if "LockEndTime" in rule:
            rule["LockEndTime"] = epoch(rule["LockEndTime"], f"{where}.LockEndTime")
        for member in ("Identifier", "ResourceType", "RetentionPeriod"):
            if member not in rule:
                raise ScenarioError(f"{where}.{member}: required")
        checked_shape(model, "GetRuleResponse", rule, where)
        tag_level = bool(rule.get("ResourceTags"))
        if tag_level and (rule.get("ExcludeResourceTags") or "LockState" in rule or "LockConfiguration" in rule):
            message = "a tag-level rule (ResourceTags) has no ExcludeResourceTags, LockState nor LockConfiguration"
            raise ScenarioError(f"{where}: {message}: they are for Region-level rules only")
        if ("LockState" in rule) != ("LockConfiguration" in rule):
            raise ScenarioError(f"{where}: a locked rule has both LockState and LockConfiguration, others neither")
        if ("LockEndTime" in rule) != (rule.get("LockState") == "pending_unlock"):
            raise ScenarioError(f"{where}.LockEndTime: given exactly when LockState is pending_unlock")
        if any(r == region and other["Identifier"] == identifier for r, other in rules):
            raise ScenarioError(f"{where}.Identifier: {identifier} appears twice in {region}")
        rules.append((region, rule))
    return rules


def list_rules(world, params, region, now):  # pylint: disable=unused-argument
    """The region's rules of ``ResourceType`` ("Only retention rules that retain the specified resource type are
    listed"), with ``LockState`` ("Only retention rules with the specified lock state are returned"). ``ResourceTags``
    and ``ExcludeResourceTags`` ("[Tag-level retention rules only]", "[Region-level retention rules only]"): the
    rules holding every tag given (a reading: the model does not say whether one tag or all must match; an empty list
    filters nothing). As RuleSummary: no tags, no status."""
    rules = [rule for r, rule in world.rbin_rules if r == region and rule["ResourceType"] == params["ResourceType"]]
    if "LockState" in params:
        rules = [rule for rule in rules if rule.get("LockState") == params["LockState"]]
    for member in ("ResourceTags", "ExcludeResourceTags"):
        if member in params:
            wanted = [tag_pair(tag) for tag in params[member]]
            rules = [rule for rule in rules if holds(rule, member, wanted)]
    rules = sorted(rules, key=lambda rule: rule["Identifier"])
    summaries = [{key: rule[key] for key in SUMMARY_MEMBERS if key in rule} for rule in rules]
    invalid = EndpointError("ValidationException", "The NextToken is not valid for this request.", 400)
    paging = ("MaxResults", "NextToken", *PAGE_BOUNDS, None, "ValidationException", invalid)
    page, token = world.regional_page("ListRules", params, region, summaries, paging)
    return dict({"Rules": page}, **({"NextToken": token} if token is not None else {}))


def tag_pair(tag):
    return tag["ResourceTagKey"], tag.get("ResourceTagValue", "")


def holds(rule, member, wanted):
    """A rule whose ``member`` (ResourceTags or ExcludeResourceTags) holds every tag ``wanted`` (none: any rule)."""
    have = {tag_pair(tag) for tag in rule.get(member, [])}
    return all(tag in have for tag in wanted)


def get_rule(world, params, region, now):  # pylint: disable=unused-argument
    for r, rule in world.rbin_rules:
        if r == region and rule["Identifier"] == params["Identifier"]:
            return copy.deepcopy(rule)
    message = f"The retention rule with identifier {params['Identifier']} does not exist."
    raise EndpointError("ResourceNotFoundException", message, 404)


OPERATIONS = {"ListRules": list_rules, "GetRule": get_rule}
