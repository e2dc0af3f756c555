#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: imagebuilder_lifecycle_policy_info
version_added: 2.0.0
short_description: Read EC2 Image Builder lifecycle policies
description:
  - Reads one lifecycle policy by O(arn), or lists the policies, filtered by O(name), O(resource_type) and O(status),
    every page, sorted by name.
author:
  - imagebuilder_ops maintainers (@imagebuilder-ops)
options:
  arn:
    description:
      - The policy to read, such as C(arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/my-policy).
      - An ARN that names no policy gives an empty list.
    type: str
  name:
    description:
      - List the policies with this name, as written when each was created (case matters). A C(*) at the start, the
        end or both matches any text there, such as C(golden*) or C(*cleanup*).
      - Checked before any call. Without a C(*), a policy name (3 to 128 letters, digits, hyphens, underscores or inner
        spaces); with one, what lies between may hold only those characters. A C(*) anywhere else is refused.
    type: str
  resource_type:
    description: List the policies for this type of image.
    type: str
    choices: [AMI_IMAGE, CONTAINER_IMAGE, ami_image, container_image]
  status:
    description: List the policies with this status.
    type: str
    choices: [ENABLED, DISABLED, enabled, disabled]
  details:
    description:
      - V(true) reads each listed policy in full (its rules and selection, one C(GetLifecyclePolicy) per policy);
        V(false) returns the list's summaries only.
    type: bool
    default: true
notes:
  - "IAM permissions: C(imagebuilder:GetLifecyclePolicy) with O(arn) or O(details=true);
    C(imagebuilder:ListLifecyclePolicies) without O(arn)."
seealso:
  - module: imagebuilder_ops.aws.imagebuilder_lifecycle_policy
extends_documentation_fragment:
  - imagebuilder_ops.aws.arn_region
  - imagebuilder_ops.aws.api_spelling
  - imagebuilder_ops.aws.attributes
  - imagebuilder_ops.aws.attributes.check_mode_read_only
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Read one policy
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy_info:
    arn: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
  register: one

- name: List the disabled AMI policies whose names start with golden, summaries only
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy_info:
    name: golden*
    resource_type: ami_image
    status: disabled
    details: false
  register: frozen
"""

RETURN = r"""
lifecycle_policies:
  description:
    - The policies, sorted by name, with the same keys as
      RV(imagebuilder_ops.aws.imagebuilder_lifecycle_policy#module:lifecycle_policy).
    - With O(details=false), the list's summaries (no C(policy_details) or C(resource_selection)).
  returned: always
  type: list
  elements: dict
  sample:
    - arn: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
      name: golden-ami-cleanup
      status: ENABLED
      resource_type: AMI_IMAGE
      execution_role: ImageBuilderLifecycleRole
      tags:
        CostCenter: platform
"""


from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_policy as lp


def main():
    argument_spec = dict(
        arn=dict(type="str"),
        name=dict(type="str"),
        resource_type=dict(type="str", choices=lp.RESOURCE_TYPE_CHOICES),
        status=dict(type="str", choices=lp.STATUS_CHOICES),
        details=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("arn", "name"), ("arn", "resource_type"), ("arn", "status")],
        supports_check_mode=True,
    )
    params = common.normalize_choices(module.params, argument_spec)
    errors = common.validate_options(params, {"arn": common.LIFECYCLE_POLICY_ARN})
    if errors:
        module.fail_json(msg="; ".join(errors))
    if params["name"] is not None and lp.name_filter_errors(params["name"]):
        module.fail_json(msg="; ".join(lp.name_filter_errors(params["name"])))

    client = common.connect(module, arn_options=["arn"])
    try:
        policies = lp.describe_lifecycle_policies(
            client,
            arn=params["arn"],
            name=params["name"],
            resource_type=params["resource_type"],
            status=params["status"],
            details=params["details"],
        )
    except common.ImageBuilderError as e:
        module.fail_json_aws_error(e)

    module.exit_json(changed=False, lifecycle_policies=policies)


if __name__ == "__main__":
    main()
