# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AMI exclusion rules, one spec, one set of checks and one request form for both modules that take them."""

import botocore.session
import pytest
import yaml

from ansible_collections.imagebuilder_ops.aws.plugins.doc_fragments import ami_exclusion_rules as rules_doc
from ansible_collections.imagebuilder_ops.aws.plugins.doc_fragments import lifecycle_policy as policy_doc
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import ami_exclusion_rules
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_policy as lp
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import resource_state_update as rsu

RULES = dict(
    is_public=True,
    regions=["eu-west-1"],
    shared_accounts=["210987654321"],
    last_launched={"value": 7, "unit": "days"},
    tag_map={"Keep": "true", "team_Name": "platform"},
)


def test_the_policy_s_amis_and_the_state_update_s_amis_are_one_shape_of_the_model():
    model = botocore.session.get_session().get_service_model("imagebuilder")
    policy = model.shape_for("LifecyclePolicyDetailExclusionRules").members["amis"]
    update = model.shape_for("ResourceStateUpdateExclusionRules").members["amis"]
    assert policy.name == update.name == "LifecyclePolicyDetailExclusionRulesAmis"
    assert sorted(policy.members) == sorted(ami_exclusion_rules.to_api(RULES))


def test_both_modules_take_them_with_the_one_spec():
    detail = lp.policy_argument_spec()["policy_details"]["options"]
    assert detail["exclusion_rules"]["options"]["amis"]["options"] == ami_exclusion_rules.argument_spec()


def test_both_modules_document_them_with_the_same_suboptions():
    # ansible-test wants each doc fragment a plain string, so the policy fragment holds a copy: this keeps it one.
    execution = yaml.safe_load(rules_doc.ModuleDocFragment.DOCUMENTATION)["options"]["exclusion_rules"]
    policy = yaml.safe_load(policy_doc.ModuleDocFragment.DOCUMENTATION)["options"]["policy_details"]
    amis = policy["suboptions"]["exclusion_rules"]["suboptions"]["amis"]
    assert amis["suboptions"] == execution["suboptions"]
    assert sorted(amis["suboptions"]) == sorted(ami_exclusion_rules.argument_spec())


def test_the_request_form_is_camel_case_with_the_unit_upper_case_and_tag_keys_as_written():
    assert ami_exclusion_rules.to_api(RULES) == {
        "isPublic": True,
        "regions": ["eu-west-1"],
        "sharedAccounts": ["210987654321"],
        "lastLaunched": {"value": 7, "unit": "DAYS"},
        "tagMap": {"Keep": "true", "team_Name": "platform"},
    }
    assert ami_exclusion_rules.to_api(dict.fromkeys(RULES)) is None


@pytest.mark.parametrize(
    "change, expected",
    [
        (dict(last_launched={"value": 0, "unit": "days"}), "X.last_launched.value: 0 is not between 1 and 365"),
        (dict(last_launched={"value": 366, "unit": "days"}), "X.last_launched.value: 366 is not between 1 and 365"),
        (dict(shared_accounts=["12345"]), "X.shared_accounts: '12345' is not a 12-digit AWS account ID"),
        (dict(tag_map={}), "X.tag_map: must hold 1 to 50 tags, not 0"),
        (dict(tag_map={"aws:x": "y"}), "X.tag_map: key 'aws:x' is not 1 to 128 letters"),
    ],
)
def test_each_rule_of_the_model_is_checked_once_for_both_modules(change, expected):
    (message,) = ami_exclusion_rules.errors("X", dict(RULES, **change))
    assert message.startswith(expected)
    # The state update's option and the policy rule's member say the same, each under its own name.
    params = dict(
        resource_state="disabled",
        include_resources={"amis": True},
        execution_role="r",
        exclusion_rules=dict(RULES, **change),
    )
    assert rsu.validate_state_update(params) == [message.replace("X.", "exclusion_rules.", 1)]
