# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a DELETE frees: the EBS snapshots it removes, with their sizes (EC2 DescribeSnapshots), a snapshot that an AMI
the policy keeps still uses counted as kept (EC2 DescribeImages by snapshot), and totals per region and overall, always
an upper bound.

EBS user guide, "Delete an Amazon EBS snapshot": "Deleting a snapshot might not reduce your organization's data storage
costs. Other snapshots might reference that snapshot's data, and referenced data is always preserved."
"""

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import paginate
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_preview import parse_time
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import Unchecked
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import batches
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import checked

GIB = 1024**3
# Snapshot IDs per snapshot-id filter (DescribeSnapshots, DescribeImages): the ec2 model states no limit on filter
# values; the snapshot-id filter, unlike SnapshotIds, answers for the IDs it finds without failing on one gone since.
FILTER_BATCH = 200
CAVEAT = (
    "an upper bound: deleting a snapshot might not reduce storage costs (EBS snapshots are incremental, and data"
    " another snapshot references is kept), and a snapshot a Recycle Bin rule retains is billed until its retention"
    " ends"
)


@common.error_handler("describe the snapshots {snapshot_ids}")
def _describe_snapshots(ec2, snapshot_ids):
    found = {}
    for batch in batches(snapshot_ids, FILTER_BATCH):
        for snap in paginate(
            ec2,
            ec2.describe_snapshots,
            "DescribeSnapshots",
            "Snapshots",
            OwnerIds=["self"],
            Filters=[{"Name": "snapshot-id", "Values": batch}],
        ):
            found[snap["SnapshotId"]] = {
                "snapshot_id": snap["SnapshotId"],
                "volume_size": snap.get("VolumeSize"),
                # Snapshot.FullSnapshotSizeInBytes: "This is not the incremental size of the snapshot. This is the
                # full snapshot size and represents the size of all the blocks that were written to the source volume
                # at the time the snapshot was created." Newer botocore only; else the volume's size, a larger bound.
                "full_snapshot_size_in_bytes": snap.get("FullSnapshotSizeInBytes"),
                "tags": {tag["Key"]: tag["Value"] for tag in snap.get("Tags") or []},
                "state": snap.get("State"),
                "start_time": parse_time(snap["StartTime"]).isoformat() if snap.get("StartTime") else None,
            }
    return found


def describe_snapshots(ec2, snapshot_ids):
    """This account's snapshots among ``snapshot_ids``, by ID (those not returned are another account's or gone)."""
    return checked("ec2:DescribeSnapshots", _describe_snapshots, ec2, snapshot_ids)


@common.error_handler("describe the AMIs that use the snapshots {snapshot_ids}")
def _images_using(ec2, snapshot_ids):
    users = {snap: set() for snap in snapshot_ids}
    # Deprecated and disabled AMIs still hold their snapshots ("You can't delete snapshots associated with disabled
    # EBS-backed AMIs"): the owner sees them only when asked.
    scope = {"Owners": ["self"], "IncludeDeprecated": True, "IncludeDisabled": True}
    for batch in batches(snapshot_ids, FILTER_BATCH):
        filters = [{"Name": "block-device-mapping.snapshot-id", "Values": batch}]
        for image in paginate(ec2, ec2.describe_images, "DescribeImages", "Images", Filters=filters, **scope):
            for mapping in image.get("BlockDeviceMappings") or []:
                snap = (mapping.get("Ebs") or {}).get("SnapshotId")
                if snap in users:
                    users[snap].add(image["ImageId"])
    return users


def images_using(ec2, snapshot_ids):
    """{snapshot ID: the set of this account's AMIs whose block device mappings name it}."""
    return checked("ec2:DescribeImages", _images_using, ec2, snapshot_ids)


def size_in_bytes(snapshot):
    """A snapshot's size at most: its full size when EC2 gives it, else its volume's."""
    if snapshot.get("full_snapshot_size_in_bytes") is not None:
        return snapshot["full_snapshot_size_in_bytes"]
    if snapshot.get("volume_size") is not None:
        return snapshot["volume_size"] * GIB
    return None


def storage_freed(deleted, details, users):
    """What deleting these snapshots frees in one region: ``deleted`` {AMI: [snapshot IDs]} the DELETEs of the region
    (AMIs deleted with their snapshots), ``details`` describe_snapshots(), ``users`` images_using().

    A snapshot is freed only when every AMI that uses it is deleted too: one that another AMI still uses is kept (EC2
    refuses to delete "a snapshot of the root device of an EBS volume used by a registered AMI"). Each snapshot is
    counted once, however many deleted AMIs name it.
    """
    deleted_amis = set(deleted)
    snapshots, seen = [], set()
    freed = kept = 0
    for ami in sorted(deleted):
        for snap_id in deleted[ami]:
            if snap_id in seen:
                continue
            seen.add(snap_id)
            detail = details.get(snap_id)
            entry = {"snapshot_id": snap_id, "ami": ami}
            if detail is None:
                entry.update(status="unknown", reason="not described: another account's snapshot, or gone already")
                snapshots.append(entry)
                continue
            size = size_in_bytes(detail)
            others = sorted(users.get(snap_id, set()) - deleted_amis)
            entry.update(size_in_bytes=size, volume_size=detail.get("volume_size"))
            if others:
                entry.update(status="kept", reason=f"still used by {', '.join(others)}, which this policy keeps")
                kept += size or 0
            else:
                entry.update(status="freed")
                freed += size or 0
            snapshots.append(entry)
    return {"snapshots": snapshots, "freed_bytes_at_most": freed, "kept_bytes": kept}


def region_storage(ec2, deleted):
    """(storage_freed(), describe_snapshots()) for one region, reading what it needs (two listings per 200
    snapshots); when a read fails, the Unchecked's reason in ``unknown`` and None for the snapshots."""
    snapshot_ids = sorted({snap for snaps in deleted.values() for snap in snaps})
    if not snapshot_ids:
        return storage_freed(deleted, {}, {}), {}
    try:
        details = describe_snapshots(ec2, snapshot_ids)
        return storage_freed(deleted, details, images_using(ec2, snapshot_ids)), details
    except Unchecked as e:
        return {"snapshots": [], "freed_bytes_at_most": None, "kept_bytes": None, "unknown": e.reason}, None


def totals(regions):
    """{region: region_storage()} with the overall total; a region that could not be read makes the total unknown
    (None) rather than smaller."""
    known = [answer["freed_bytes_at_most"] for answer in regions.values()]
    total = None if any(value is None for value in known) else sum(known)
    return {
        "regions": regions,
        "freed_bytes_at_most": total,
        "note": CAVEAT,
    }
