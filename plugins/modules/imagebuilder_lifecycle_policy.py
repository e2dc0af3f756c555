#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: imagebuilder_lifecycle_policy
version_added: 2.0.0
short_description: Create, update and delete EC2 Image Builder lifecycle policies
description:
  - Makes an Image Builder lifecycle policy (the rules that deprecate, disable and delete old images) match the
    options, idempotently, or deletes it.
  - C(UpdateLifecyclePolicy) replaces the whole policy. An option left out keeps the policy's current value, because
    the module sends the current values again.
  - Policies are compared in a canonical form that fills in the defaults the service echoes, ignores the order of
    rules, recipes, regions and shared accounts, and compares an IAM role name with a role ARN by name. A second
    run of the same task makes no write.
  - Every create or update carries one idempotency token per task, reused on every retry.
author:
  - imagebuilder_ops maintainers (@imagebuilder-ops)
options:
  state:
    description:
      - V(present) creates or updates the policy, V(absent) deletes it (which cancels an execution of it in progress).
    type: str
    default: present
    choices: [present, absent]
  name:
    description:
      - The policy's name, 3 to 128 letters, digits, hyphens, underscores and inner spaces. It identifies the policy.
      - Image Builder makes the policy's ARN from the name in lowercase with hyphens for spaces and underscores, so a
        name that differs from an existing policy's only in that way is refused before any write.
    type: str
    required: true
  description:
    description:
      - The policy's description. Left out, it is kept; V("") removes it.
    type: str
  status:
    description:
      - Whether the policy runs on its schedule. Left out, an existing policy keeps its status and a new one is
        V(enabled).
    type: str
    choices: [ENABLED, DISABLED, enabled, disabled]
  execution_role:
    description:
      - The IAM role name or ARN that Image Builder runs the policy with. Required to create a policy.
      - A role name and an ARN of the role with that name are the same role.
    type: str
notes:
  - "IAM permissions: C(imagebuilder:ListLifecyclePolicies) and C(imagebuilder:GetLifecyclePolicy) always;
    C(imagebuilder:CreateLifecyclePolicy) or C(imagebuilder:UpdateLifecyclePolicy) (with C(iam:PassRole) on
    O(execution_role)) to create or change it; C(imagebuilder:TagResource) and C(imagebuilder:UntagResource) for
    O(tags); C(imagebuilder:DeleteLifecyclePolicy) with O(state=absent)."
  - The rules of C(CreateLifecyclePolicy) and C(UpdateLifecyclePolicy) are checked before any call, and a refused
    option fails with a message that names it.
  - While Image Builder answers that O(execution_role) does not exist yet (IAM propagates a new role within a few
    minutes), the create or update is asked again, for up to two minutes, with the same token.
seealso:
  - module: imagebuilder_ops.aws.imagebuilder_lifecycle_policy_info
  - module: imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info
  - name: CreateLifecyclePolicy API reference
    description: The API call that creates a policy.
    link: https://docs.aws.amazon.com/imagebuilder/latest/APIReference/API_CreateLifecyclePolicy.html
extends_documentation_fragment:
  - imagebuilder_ops.aws.lifecycle_policy
  - imagebuilder_ops.aws.api_spelling
  - imagebuilder_ops.aws.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - Reads the policy and reports whether it would change, without writing.
  diff_mode:
    support: full
    details:
      - The policy before and after, in the canonical form, with its tags, its rules in the order Image Builder
        applies them (deprecate, disable, delete), and without the values nobody set (the service's defaults, such as
        C(is_public=false), empty lists and maps), so that only a change shows.
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Deprecate AMIs after 90 days, delete them after 180 days keeping at least 3
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy:
    name: golden-ami-cleanup
    description: Retire golden AMIs
    execution_role: ImageBuilderLifecycleRole
    resource_type: ami_image
    policy_details:
      - action:
          type: deprecate
          include_resources:
            amis: true
        filter:
          type: age
          value: 90
          unit: days
      - action:
          type: delete
          include_resources:
            amis: true
            snapshots: true
        filter:
          type: age
          value: 180
          unit: days
          retain_at_least: 3
        exclusion_rules:
          amis:
            last_launched:
              value: 7
              unit: days
    resource_selection:
      recipes:
        - name: golden-ami
          semantic_version: 1.x.x
    tags:
      CostCenter: platform

- name: Keep the newest 5 container images
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy:
    name: app-container-cleanup
    execution_role: arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole
    resource_type: container_image
    policy_details:
      - action:
          type: delete
          include_resources:
            containers: true
        filter:
          type: count
          value: 5
    resource_selection:
      tag_map:
        App: web

- name: Disable a policy for a release freeze (everything else is kept)
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy:
    name: golden-ami-cleanup
    status: disabled

- name: Delete a policy
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy:
    name: app-container-cleanup
    state: absent
"""

RETURN = r"""
lifecycle_policy:
  description:
    - The policy as Image Builder returns it, with snake_case keys, ISO 8601 dates, and tag keys (in O(tags) and
      every C(tag_map)) as stored.
    - Empty when the policy does not exist (O(state=absent), or in check mode before it is created).
  returned: always
  type: dict
  sample:
    arn: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
    name: golden-ami-cleanup
    status: ENABLED
    execution_role: ImageBuilderLifecycleRole
    resource_type: AMI_IMAGE
    policy_details:
      - action:
          type: DELETE
          include_resources:
            amis: true
        filter:
          type: COUNT
          value: 5
    resource_selection:
      recipes:
        - name: golden-ami
          semantic_version: 1.x.x
    date_created: "2026-11-28T06:00:00+00:00"
    tags:
      CostCenter: platform
"""


from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_policy as lp


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        name=dict(type="str", required=True),
        description=dict(type="str"),
        status=dict(type="str", choices=lp.STATUS_CHOICES),
        execution_role=dict(type="str"),
        **lp.policy_argument_spec(),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    common.normalize_choices(module.params, argument_spec)
    errors = lp.validate_policy(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = common.connect(module)
    try:
        current = lp.find_lifecycle_policy(client, module.params["name"])
        if module.params["state"] == "present":
            result = lp.ensure_present(module, client, current)
        else:
            result = lp.ensure_absent(module, client, current)
    except common.ImageBuilderError as e:
        module.fail_json_aws_error(e)

    module.exit_json(**result)


if __name__ == "__main__":
    main()
