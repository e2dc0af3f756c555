# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The wait options of every module that waits, for any resource: each poll is one read, and the resource is done
    # when a predicate says so (_common.wait_until). Their argument spec is WAIT_ARGUMENT_SPEC in
    # module_utils/_common.py, their defaults WAIT_DEFAULTS: change them together. The spec has no default for
    # wait_timeout and wait_sleep (so that one given without wait=true is warned about), so this documents the
    # defaults in words.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the resource the module acts on or reads is done. For a lifecycle execution, done is a terminal
        status (C(SUCCESS), C(FAILED) or C(CANCELLED)); C(PENDING), C(IN_PROGRESS) and C(CANCELLING) keep the wait
        going, and so does an answer without a status. C(PENDING) means that Image Builder paused the execution
        until the next scheduled run of lifecycle policies, which run once a day, so a wait on it can take up to a
        day; choose O(wait_timeout) accordingly.
      - Each poll is exactly one read (for a lifecycle execution, one C(GetLifecycleExecution) call), and no call is
        made once the resource is done; a resource that is done already costs one call in all.
      - An end that is not a success (a C(FAILED) or C(CANCELLED) execution) does not fail the task; use
        C(failed_when) on the returned status if it should.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait at most, when O(wait=true). 1800 when not given.
      - When it runs out the task fails with a message that names the last status seen (and, for C(PENDING), what
        that means), and still returns the last answer read.
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
