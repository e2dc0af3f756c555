# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The AMI exclusion rules, documented once for imagebuilder_lifecycle_execution's exclusion_rules option, with
    # what StartResourceStateUpdate adds. A lifecycle policy rule takes the same shape of the model as
    # policy_details[].exclusion_rules.amis: ansible-test wants every fragment a plain string, so the lifecycle_policy
    # fragment holds the same suboptions, and a unit test (test_ami_exclusion_rules.py) fails when the two differ.
    # Their spec, checks and request are module_utils/ami_exclusion_rules.py: change them together.
    DOCUMENTATION = r"""
options:
  exclusion_rules:
    description:
      - AMIs that are left alone, with their snapshots (the API's C(exclusionRules.amis)); an AMI is left alone
        when any rule matches it.
      - They only take effect on AMIs, so they need O(include_resources.amis=true).
      - With O(resource_state=deleted), an image any of whose AMIs was left alone is kept too; with V(deprecated)
        and V(disabled) the image's own state changes regardless.
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
"""
