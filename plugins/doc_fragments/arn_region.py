# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The region rule of every module that takes an Image Builder ARN. The code is arn_region_errors() in
    # module_utils/_common.py, applied by connect(): change both together.
    DOCUMENTATION = r"""
options: {}
notes:
  - "The region rule: an Image Builder ARN given to this module (a lifecycle policy's, an image build version's) must
    name the module's region, O(region) (or C(AWS_REGION), or the profile's region). Image Builder answers for its own
    region only, where another region's ARN is not found or lists nothing; so the module fails before any call, with
    a message that names the option and both regions. It never moves the call to the ARN's region: set O(region) to
    it. The ARN's account is not compared with the caller's, which is not known without a call of its own, and may
    rightly differ (an image shared with the account, or an AWS-managed one)."
"""
