"""Lifecycle executions: their scripted timelines, and GetLifecycleExecution, ListLifecycleExecutions,
ListLifecycleExecutionResources, CancelLifecycleExecution and StartResourceStateUpdate."""

import copy
import uuid

from . import rules
from .common import ScenarioError

RUNNING = frozenset(("PENDING", "IN_PROGRESS"))
BUSY = frozenset(("PENDING", "IN_PROGRESS", "CANCELLING"))
TERMINAL = frozenset(("SUCCESS", "FAILED", "CANCELLED"))
DEFAULT_TIMELINE = (("PENDING", 1, None), ("IN_PROGRESS", 2, None), ("SUCCESS", None, None))
STATE_TO_ACTION = {"AVAILABLE": "AVAILABLE", "DEPRECATED": "DEPRECATE", "DISABLED": "DISABLE", "DELETED": "DELETE"}


class Execution:
    """One lifecycle execution and its scripted status timeline."""

    def __init__(self, spec):
        self.execution_id = spec["id"]
        self.policy_arn = spec.get("policy")
        self.images = list(spec.get("images", ()))
        self.start_time = spec["start"]
        self.end_time = spec.get("end")
        self.reason = spec.get("reason")
        self.has_impacted = spec["has_impacted"]
        self.timeline = spec.get("timeline")
        self.timeline_seconds = spec.get("timeline_seconds")
        self.cancel_polls = spec.get("cancel_polls", 1)
        self.children = {}
        for resource in spec.get("resources", []):
            self.children.setdefault(resource.get("parentResourceId"), []).append(resource)
        generated = spec.get("generated")
        if generated is not None:
            generated.explicit = self.children.get(generated.parent, [])
            self.children[generated.parent] = generated
        self.get_count = 0
        self.first_get = None
        self.cancelled_at = None

    def order_key(self):
        return (-self.start_time, self.execution_id)

    def state(self, now):
        """(status, reason) right now, without advancing anything."""
        if self.cancelled_at is not None:
            status = "CANCELLING" if self.get_count - self.cancelled_at < self.cancel_polls else "CANCELLED"
            return status, None
        if self.timeline_seconds is not None:
            elapsed = 0.0 if self.first_get is None else now - self.first_get
            status, reason = phase(self.timeline_seconds, elapsed)
        else:
            status, reason = phase(self.timeline or DEFAULT_TIMELINE, self.get_count)
        if reason is None and status in TERMINAL and status != "SUCCESS":
            reason = self.reason
        return status, reason

    def observe(self, now):
        """A GetLifecycleExecution answer: report the current state, then move the count-based clock one tick."""
        if self.first_get is None:
            self.first_get = now
        answer = self.describe(now)
        self.get_count += 1
        return answer

    def cancel(self):
        self.cancelled_at = self.get_count

    def describe(self, now):
        state = self.state_only(now)
        status = state["status"]
        answer = {
            "lifecycleExecutionId": self.execution_id,
            "resourcesImpactedSummary": {"hasImpactedResources": self.has_impacted},
            "state": state,
            "startTime": self.start_time,
        }
        if self.policy_arn is not None:
            answer["lifecyclePolicyArn"] = self.policy_arn
        if status in TERMINAL:
            if self.end_time is None:
                # Whole seconds, as the service shows them, and never before the start.
                self.end_time = max(float(int(now)), self.start_time)
            answer["endTime"] = self.end_time
        return answer

    def state_only(self, now):
        status, reason = self.state(now)
        state = {"status": status}
        if reason is not None:
            state["reason"] = reason
        return state


def phase(phases, position):
    """The phase a position (Get answers served, or seconds since the first Get) falls in; the last one lasts."""
    elapsed = 0
    for status, length, reason in phases:
        if length is None:
            return status, reason
        elapsed += length
        if position < elapsed:
            return status, reason
    status, _length, reason = phases[-1]
    return status, reason


def api_resource(resource):
    """What the API answers for a scenario resource: parentResourceId is scenario-only."""
    return {key: value for key, value in resource.items() if key != "parentResourceId"}


class GeneratedResources:
    """``generate_resources``: the scenario's resources under one parent, then ``count`` AMIs (one snapshot each)
    made only when a page asks for them, so 10,000 cost nothing at load."""

    def __init__(self, count, parent, account_id, region, start):
        self.count, self.parent, self.explicit = count, parent, []
        self.template = {"accountId": account_id, "state": {"status": "SUCCESS"}, "action": {"name": "DELETE"}}
        self.template.update(region=region, startTime=start, endTime=start + 60.0)
        if parent is not None:
            self.template["parentResourceId"] = parent

    def make(self, number):
        snapshot = {"snapshotId": f"snap-{number:017x}", "state": {"status": "SUCCESS"}}
        return dict(copy.deepcopy(self.template), resourceId=f"ami-{number:017x}", snapshots=[snapshot])

    def __len__(self):
        return len(self.explicit) + self.count

    def __getitem__(self, window):
        known = len(self.explicit)
        indexes = range(*window.indices(len(self)))
        return [self.explicit[i] if i < known else self.make(i - known + 1) for i in indexes]


def timeline(raw, length_types, where):
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{where}: expected a non-empty list of [status, length] pairs")
    phases = []
    for index, phase in enumerate(raw):
        if not isinstance(phase, list) or len(phase) not in (2, 3) or not isinstance(phase[0], str):
            raise ScenarioError(f"{where}[{index}]: expected [status, length] or [status, length, reason]")
        length = phase[1]
        if length is None:
            if index != len(raw) - 1:
                raise ScenarioError(f"{where}[{index}]: only the last phase may last forever (null)")
        elif isinstance(length, bool) or not isinstance(length, length_types) or length <= 0:
            raise ScenarioError(f"{where}[{index}]: the length must be a positive number or null")
        phases.append((phase[0], length, phase[2] if len(phase) == 3 else None))
    return tuple(phases)


def get_lifecycle_execution(world, params, now):
    return {"lifecycleExecution": world.execution(params["lifecycleExecutionId"]).observe(now)}


def list_lifecycle_executions(world, params, now):
    """A lifecycle policy ARN lists its executions; an image build version ARN those StartResourceStateUpdate
    started for it (never a policy's), told apart by the patterns of the model's own ARN shapes."""
    arn = params["resourceArn"]
    kind = None
    if world.service.lifecycle_policy_arn.search(arn):
        kind = world.by_policy
    elif world.service.image_build_version_arn.search(arn):
        kind = world.updates_by_image
    rules.check("ListLifecycleExecutions", params, arn_kind=kind)
    page, token = world.page("ListLifecycleExecutions", arn, kind.get(arn, []), params)
    return listing({"lifecycleExecutions": [execution.describe(now) for execution in page]}, token)


def list_lifecycle_execution_resources(world, params, now):
    """A tree: the images at the top, each one's AMIs, snapshots and containers under it (``parentResourceId``)."""
    execution = world.execution(params["lifecycleExecutionId"])
    parent = params.get("parentResourceId")
    scope = (execution.execution_id, parent)
    page, token = world.page("ListLifecycleExecutionResources", scope, execution.children.get(parent, []), params)
    result = {
        "lifecycleExecutionId": execution.execution_id,
        "lifecycleExecutionState": execution.state_only(now),
        "resources": [api_resource(resource) for resource in page],
    }
    return listing(result, token)


def listing(result, token):
    if token is not None:
        result["nextToken"] = token
    return result


def cancel_lifecycle_execution(world, params, now):
    replayed = world.replay("CancelLifecycleExecution", params)
    if replayed is not None:
        return replayed
    execution = world.execution(params["lifecycleExecutionId"])
    status = execution.state(now)[0]
    rules.check("CancelLifecycleExecution", params, status=status)
    execution.cancel()
    return world.remember("CancelLifecycleExecution", params, {"lifecycleExecutionId": execution.execution_id})


def start_resource_state_update(world, params, now):
    """ "If the request includes underlying resources, or schedules the update far enough in the future, Image Builder
    runs the update as an asynchronous lifecycle execution and returns its identifier. Otherwise, for target states
    other than DELETED, the state change applies immediately." (The operation's documentation.)"""
    rules.check("StartResourceStateUpdate", params)
    replayed = world.replay("StartResourceStateUpdate", params)
    if replayed is not None:
        return replayed
    # After the replay: a retry gets the first answer even once updateAt has passed.
    rules.check("StartResourceStateUpdate", params, now=now)
    arn = params["resourceArn"]
    image = world.image(arn)
    rules.check("StartResourceStateUpdate", params, image=image)
    wanted = rules.target(params)
    result = {"resourceArn": arn}
    if rules.included(params) or "updateAt" in params:
        rules.check("StartResourceStateUpdate", params, holder=holder(world, arn, now))
        action = {"name": STATE_TO_ACTION.get(wanted, "AVAILABLE")}
        resources = state_update_resources(world, arn, image["resources"], action, now)
        spec = {"id": f"lce-{uuid.uuid4()}", "images": [arn], "start": float(int(now)), "resources": resources}
        spec.update(has_impacted=bool(resources), timeline=DEFAULT_TIMELINE)
        world.add(Execution(spec))
        result["lifecycleExecutionId"] = spec["id"]
    # The image takes its new state at once, an execution's too (a stand-in's simplification), except a deprecation
    # scheduled with updateAt, which happens later. Its AMIs' EC2 state follows only when the update includes them
    # (exclusion rules aside); otherwise they keep the state they had, pinned here.
    if "updateAt" not in params:
        if "amis" in rules.included(params):
            image.pop("ami_state", None)
        else:
            image.setdefault("ami_state", (image["status"], image["status_since"]))
        image["status"] = wanted
        image["status_since"] = float(int(now))
    return world.remember("StartResourceStateUpdate", params, result)


def holder(world, arn, now):
    """The execution that holds an image, if any: any execution touching it, a policy's too (though listing the
    image does not show those)."""
    for execution in world.by_image.get(arn, []):
        status = execution.state(now)[0]
        if status in BUSY:
            return f"image '{arn}' is in use by lifecycle execution '{execution.execution_id}' ({status})"
    return None


def state_update_resources(world, arn, declared, action, now):
    """The image itself at the top level, with the resources the scenario declares for it underneath."""
    top = {"accountId": world.account_id, "resourceId": arn, "state": {"status": "SUCCESS"}, "action": dict(action)}
    top.update(region=world.region, startTime=float(int(now)))
    resources = [top]
    for resource in declared:
        child = copy.deepcopy(resource)
        child.setdefault("parentResourceId", arn)
        child["action"] = dict(action)
        resources.append(child)
    return resources


OPERATIONS = {
    "GetLifecycleExecution": get_lifecycle_execution,
    "ListLifecycleExecutions": list_lifecycle_executions,
    "ListLifecycleExecutionResources": list_lifecycle_execution_resources,
    "CancelLifecycleExecution": cancel_lifecycle_execution,
    "StartResourceStateUpdate": start_resource_state_update,
}
