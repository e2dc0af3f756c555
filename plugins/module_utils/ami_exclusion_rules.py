# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AMI exclusion rules, written once: a lifecycle policy rule's ``exclusionRules.amis`` and
StartResourceStateUpdate's ``exclusionRules.amis`` are the same shape of the model
(LifecyclePolicyDetailExclusionRulesAmis), so both modules take them with this spec, these checks and this request
form. Their documentation is the ``ami_exclusion_rules`` doc fragment: change both together. What the rules leave
alone, as the preview reads them, is lifecycle_preview.ami_exclusion().
"""

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import ACCOUNT_ID
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import TIME_UNIT_CHOICES
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import matches
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import tag_map_errors

# LifecyclePolicyDetailExclusionRulesAmisLastLaunched.value: min 1, max 365.
LAST_LAUNCHED_RANGE = (1, 365)


def argument_spec():
    """The options of the AMI exclusion rules, in snake_case as the model names its members."""
    return dict(
        is_public=dict(type="bool"),
        regions=dict(type="list", elements="str"),
        shared_accounts=dict(type="list", elements="str"),
        last_launched=dict(
            type="dict",
            options=dict(
                value=dict(type="int", required=True),
                unit=dict(type="str", required=True, choices=TIME_UNIT_CHOICES),
            ),
        ),
        tag_map=dict(type="dict"),
    )


def given(rules):
    """The rules that were set (the spec gives every option left out as None)."""
    return {name: value for name, value in (rules or {}).items() if value is not None}


def errors(where, rules):
    """Messages for the rules the model refuses, each naming its option under ``where`` (empty when all is well)."""
    rules = given(rules)
    found = []
    last_launched = rules.get("last_launched")
    low, high = LAST_LAUNCHED_RANGE
    if last_launched and not low <= last_launched["value"] <= high:
        found.append(f"{where}.last_launched.value: {last_launched['value']} is not between {low} and {high}")
    for account in rules.get("shared_accounts") or []:
        if not matches(ACCOUNT_ID, account):
            found.append(f"{where}.shared_accounts: {account!r} is not {ACCOUNT_ID.description}")
    return found + tag_map_errors(f"{where}.tag_map", rules.get("tag_map"))


def to_api(rules):
    """The rules in the API's shape (camelCase members, the unit upper case, tag keys as the user wrote them), or None
    when none is set."""
    rules = given(rules)
    last_launched = rules.get("last_launched")
    api = {
        "isPublic": rules.get("is_public"),
        "regions": rules.get("regions"),
        "sharedAccounts": rules.get("shared_accounts"),
        "lastLaunched": (
            {"value": last_launched["value"], "unit": last_launched["unit"].upper()} if last_launched else None
        ),
        "tagMap": rules.get("tag_map") or None,
    }
    return {member: value for member, value in api.items() if value is not None} or None
