# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Use together with one of the check_mode fragments below.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: >-
      Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  action_group:
    description: Use C(group/imagebuilder_ops.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - imagebuilder_ops.aws.aws
    details:
      - The C(imagebuilder_ops.aws.aws) group extends C(amazon.aws.aws), so one C(module_defaults) entry
        serves this collection's modules and amazon.aws's alike.
"""

    CHECK_MODE_READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module only reads, and does the same in check mode.
  diff_mode:
    support: none
"""
