# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The wait options of every module that can wait for a lifecycle execution. Their argument spec is
    # WAIT_ARGUMENT_SPEC in module_utils/imagebuilder.py, their defaults WAIT_DEFAULTS: change them together. The spec
    # has no default for wait_timeout and wait_sleep (so that one given without wait=true is warned about), so this
    # documents the defaults in words.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the lifecycle execution reaches a terminal status (C(SUCCESS), C(FAILED) or C(CANCELLED)).
      - C(PENDING), C(IN_PROGRESS) and C(CANCELLING) keep the wait going, and so does an answer without a status.
        C(PENDING) means that Image Builder paused the execution until the next scheduled run of lifecycle policies,
        which run once a day, so a wait on it can take up to a day; choose O(wait_timeout) accordingly.
      - Each poll is exactly one C(GetLifecycleExecution) call, and no call is made once a terminal status is
        seen; an execution that is already terminal costs one call in all.
      - A C(FAILED) or C(CANCELLED) execution does not fail the task; use C(failed_when) on the returned status
        if it should.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait at most, when O(wait=true). 1800 when not given.
      - When it runs out the task fails with a message that names the last status seen (and, for C(PENDING), what
        that means), and still returns the last lifecycle execution read.
      - Must be greater than 0.
      - Given without O(wait=true), it has no effect, and the module warns.
    type: int
  wait_sleep:
    description:
      - How many seconds to sleep between two polls, when O(wait=true). 15 when not given.
      - Must be at least 1.
      - Given without O(wait=true), it has no effect, and the module warns.
    type: int
"""
