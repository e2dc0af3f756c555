# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # A lifecycle policy's resource type, rules and selection, as imagebuilder_lifecycle_policy and
    # imagebuilder_lifecycle_policy_preview_info take them (so that one spec feeds both). Their argument spec is
    # policy_argument_spec() in module_utils/lifecycle_policy.py: change both together. Each enum takes the API's
    # spelling and lower case (the api_spelling fragment, which every module that includes this one includes too).
    DOCUMENTATION = r"""
options:
  resource_type:
    description:
      - The type of image the policy applies to. Required for a new policy; an existing policy's cannot change.
    type: str
    choices: [AMI_IMAGE, CONTAINER_IMAGE, ami_image, container_image]
  policy_details:
    description:
      - The policy's rules, all of them, in any order. Required for a new policy; left out, an existing policy's rules
        stand.
      - 1 to 3 rules, at most one per action type. A V(container_image) policy allows V(delete) rules only.
    type: list
    elements: dict
    suboptions:
      action:
        description: What the rule does.
        type: dict
        required: true
        suboptions:
          type:
            description: The action.
            type: str
            required: true
            choices: [DELETE, DEPRECATE, DISABLE, delete, deprecate, disable]
          include_resources:
            description:
              - Which resources of the image the action extends to. V(delete) rules can include all three,
                V(deprecate) and V(disable) rules AMIs only; snapshots only together with AMIs.
            type: dict
            suboptions:
              amis:
                description: Its AMIs.
                type: bool
              snapshots:
                description: The snapshots of its AMIs.
                type: bool
              containers:
                description: Its container images (V(container_image) policies only).
                type: bool
      filter:
        description: Which images the rule applies to.
        type: dict
        required: true
        suboptions:
          type:
            description:
              - V(age) applies the rule to images older than O(policy_details[].filter.value) units; V(count) keeps
                the newest O(policy_details[].filter.value) images (with V(delete) rules only).
            type: str
            required: true
            choices: [AGE, COUNT, age, count]
          value:
            description: The age in units, or the number of images to keep, from 1 to 1000.
            type: int
            required: true
          unit:
            description: The unit of an age. Required with V(age).
            type: str
            choices: [DAYS, WEEKS, MONTHS, YEARS, days, weeks, months, years]
          retain_at_least:
            description: With V(age), how many images to keep whatever their age, from 1 to 10.
            type: int
      exclusion_rules:
        description: What the rule leaves alone.
        type: dict
        suboptions:
          tag_map:
            description: Leave alone the images that carry any of these tags (keys as written).
            type: dict
          amis:
            description: Leave alone these AMIs (V(ami_image) policies only).
            type: dict
            suboptions:
              is_public:
                description: Public AMIs.
                type: bool
              regions:
                description: AMIs in these regions.
                type: list
                elements: str
              shared_accounts:
                description: AMIs shared with these AWS accounts (12-digit IDs).
                type: list
                elements: str
              last_launched:
                description:
                  - AMIs launched within this period.
                  - EC2 reports a launch up to 24 hours late, so an AMI launched within the last day may not count yet.
                type: dict
                suboptions:
                  value:
                    description: How many units, from 1 to 365.
                    type: int
                    required: true
                  unit:
                    description: The unit.
                    type: str
                    required: true
                    choices: [DAYS, WEEKS, MONTHS, YEARS, days, weeks, months, years]
              tag_map:
                description: AMIs that carry any of these tags (keys as written).
                type: dict
  resource_selection:
    description:
      - Which images the policy applies to, by exactly one of O(resource_selection.recipes) and
        O(resource_selection.tag_map). Required for a new policy; left out, an existing policy's selection stands.
    type: dict
    suboptions:
      recipes:
        description: The images of these recipes, in any order.
        type: list
        elements: dict
        suboptions:
          name:
            description: The recipe's name.
            type: str
            required: true
          semantic_version:
            description: The recipe's version, with C(x) as a wildcard, such as C(1.0.0), C(1.x.x) or C(x.x.x).
            type: str
            required: true
      tag_map:
        description: The images that carry any of these tags (keys as written).
        type: dict
"""
