# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Every option whose choices are an API enum takes them in both spellings: api_choices() and normalize_choices()
    # in module_utils/_common.py.
    DOCUMENTATION = r"""
options: {}
notes:
  - Each option whose choices are the API's values takes them as the API spells them (such as V(AMI_IMAGE),
    V(ENABLED), V(DELETE), V(AGE), V(DAYS)), which is how the info modules return them and the AWS CLI and Terraform
    write them, or in lower case (V(ami_image)); both spellings are the same value. A policy read with
    M(imagebuilder_ops.aws.imagebuilder_lifecycle_policy_info) can be passed back to
    M(imagebuilder_ops.aws.imagebuilder_lifecycle_policy) as it is.
"""
