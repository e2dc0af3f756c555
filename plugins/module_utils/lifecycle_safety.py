# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Is a lifecycle policy's preview safe to apply? For each AMI an action reaches: what still uses it
(image_references), and for a DELETE whether it could be restored (recycle_bin) and what it frees (snapshots); then
one summary a playbook can assert on.

Runs on describe_preview()'s ``resources`` and on the ``ami_details`` it filled (one DescribeImages listing serves the
preview and these checks), region by region, with the clients ``clients[service](region)`` gives
(_common.regional_clients of ec2, autoscaling and rbin).
"""

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import image_references as refs
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_preview as preview
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import recycle_bin
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import snapshots
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import Unchecked
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import checked
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import listed

ACTIONS = ("DEPRECATE", "DISABLE", "DELETE")


def reached_amis(resources):
    """{region: {AMI: the AMI's entry in child_resources}} of the AMIs an action reaches (containers left out)."""
    by_region = {}
    for resource in resources:
        for child in resource.get("child_resources") or []:
            if "image_uris" not in child:
                by_region.setdefault(child["region"], {})[child["resource_id"]] = child
    return by_region


def describe_rest(ec2, region, amis, ami_details):
    """Read what EC2 says of the AMIs the preview did not read (all of them, when its rules needed no EC2 read; else
    those another account owns, which answer nothing again), into ``ami_details``; returns why it could not, or None."""
    rest = sorted(ami for ami in amis if ami not in ami_details)
    if not rest:
        return None
    try:
        ami_details.update(checked("ec2:DescribeImages", preview.describe_amis, ec2, region, rest))
    except Unchecked as e:
        return f"{e.reason}: whose AMI it is, its last launch and its snapshots are not known"
    return None


def _recoverability(ami, child, ami_details, snapshot_details, rules, now, unreadable):
    detail = ami_details.get(ami)
    if detail is None and unreadable:
        return {"status": "unknown", "reason": unreadable, "open_questions": []}
    if detail is None:
        return {"status": "unknown", "reason": refs.owned_elsewhere(child.get("account_id")), "open_questions": []}
    # The action deletes the AMI's snapshots when it includes them (then child_resources lists them).
    deleted = "snapshots" in child
    if deleted and detail["snapshots"] and snapshot_details is None:
        return {"status": "unknown", "reason": "the snapshots' tags could not be read", "open_questions": []}
    snaps = [
        {"snapshot_id": snap, "tags": (snapshot_details or {}).get(snap, {}).get("tags") or {}, "deleted": deleted}
        for snap in detail["snapshots"]
    ]
    return recycle_bin.recoverability(
        {"image": ami, "tags": detail.get("tags") or {}},
        snaps,
        rules[0],
        rules[1],
        now,
        detail.get("deregistration_protection"),
    )


def region_safety(clients, region, amis, ami_details, now):
    """The checks of one region: each AMI's entry gains ``in_use`` (and, for a DELETE, ``recoverable`` and
    ``storage``); returns (the region's storage_freed(), the open cases met)."""
    ec2 = clients["ec2"](region)
    unreadable = describe_rest(ec2, region, amis, ami_details)
    missing = {ami: child for ami, child in amis.items() if ami not in ami_details}
    out_of_reach = (
        {} if unreadable else {ami: refs.owned_elsewhere(child.get("account_id")) for ami, child in missing.items()}
    )
    not_described = {ami: unreadable for ami in missing} if unreadable else {}
    launched = {ami: ami_details[ami].get("last_launched") for ami in amis if ami in ami_details}
    uses = refs.image_uses(ec2, clients["autoscaling"](region), sorted(amis), out_of_reach, launched, not_described)
    cases = set()
    for ami, child in amis.items():
        use = uses[ami]
        if use["status"] != "not_in_use":
            use["effect"] = refs.USE_NOTES[child["action"]["name"]]
        child["in_use"] = use
        cases.update(use["open_questions"])
    deletes = {ami: child for ami, child in amis.items() if child["action"]["name"] == "DELETE"}
    if not deletes:
        return None, cases
    deleted_snapshots = {
        ami: list(ami_details[ami]["snapshots"])
        for ami, child in deletes.items()
        if ami in ami_details and "snapshots" in child
    }
    storage, snapshot_details = snapshots.region_storage(ec2, deleted_snapshots)
    if unreadable and any(ami in missing and "snapshots" in child for ami, child in deletes.items()):
        # The snapshots of a delete whose AMI could not be described are not known: the total is not either.
        storage.update(freed_bytes_at_most=None, unknown=unreadable)
    rules = recycle_bin.region_rules(clients["rbin"](region))
    cases.update(recycle_bin.rule_open_questions(*rules))
    by_snapshot = {entry["snapshot_id"]: entry for entry in storage["snapshots"]}
    for ami, child in deletes.items():
        child["recoverable"] = _recoverability(ami, child, ami_details, snapshot_details, rules, now, unreadable)
        cases.update(child["recoverable"]["open_questions"])
        child["storage"] = [by_snapshot[snap] for snap in deleted_snapshots.get(ami, []) if snap in by_snapshot]
    return storage, cases


def safety_summary(by_region):
    """The counts a playbook asserts on: per action, the AMIs in use and those whose use is unknown; the deletes not
    recoverable, blocked, or whose recovery is unknown."""
    summary = {
        "in_use": {action.lower(): 0 for action in ACTIONS},
        "in_use_unknown": {action.lower(): 0 for action in ACTIONS},
        "delete_not_recoverable": 0,
        "delete_recoverable_unknown": 0,
        "delete_blocked": 0,
    }
    for amis in by_region.values():
        for child in amis.values():
            action = child["action"]["name"].lower()
            status = child["in_use"]["status"]
            if status == "in_use":
                summary["in_use"][action] += 1
            elif status == "unknown":
                summary["in_use_unknown"][action] += 1
            recovery = (child.get("recoverable") or {}).get("status")
            if recovery == "not_recoverable":
                summary["delete_not_recoverable"] += 1
            elif recovery == "unknown":
                summary["delete_recoverable_unknown"] += 1
            elif recovery == "blocked":
                summary["delete_blocked"] += 1
    return summary


def describe_safety(clients, resources, ami_details, now):
    """Add the checks to describe_preview()'s ``resources`` (in place) and return the preview's ``safety``:
    ``summary`` (safety_summary() with ``freed_bytes_at_most``), ``storage`` (per region and overall, an upper bound)
    and the ``open_questions`` these checks met."""
    by_region = reached_amis(resources)
    regions, cases = {}, set()
    for region in sorted(by_region):
        storage, met = region_safety(clients, region, by_region[region], ami_details, now)
        cases |= met
        if storage is not None:
            regions[region] = storage
    storage = snapshots.totals(regions)
    summary = dict(safety_summary(by_region), freed_bytes_at_most=storage["freed_bytes_at_most"])
    return {"summary": summary, "storage": storage, "open_questions": listed(cases)}
