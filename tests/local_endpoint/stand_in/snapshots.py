"""EC2 DescribeSnapshots: the snapshots the scenario's AMIs name (in their regions), and those it declares with their
sizes and tags (scenario ``snapshots``), as the caller's account sees its own."""

from .common import EndpointError
from .common import ScenarioError
from .common import check_keys
from .common import epoch
from .common import listed
from .common import matching_id
from .common import tag_list
from .ec2 import DEFAULT_VOLUME_SIZE
from .ec2 import SNAPSHOT_ID
from .ec2 import amis_in
from .ec2 import dry_run
from .ec2 import ec2_filters
from .ec2 import matches
from .ec2 import paged

SNAPSHOT_KEYS = ("SnapshotId", "VolumeSize", "FullSnapshotSizeInBytes", "StartTime", "State", "Description", "region")
SNAPSHOT_KEYS += ("tags",)
SNAPSHOT_STATES = ("pending", "completed", "error", "recoverable", "recovering")
# The filters answered (the model documents more: those are refused as not implemented).
SNAPSHOT_FILTERS = ("snapshot-id", "owner-id", "status", "volume-size", "tag-key", "tag:<key>")
FILTER_FIELDS = {"snapshot-id": "SnapshotId", "owner-id": "OwnerId", "status": "State", "volume-size": "VolumeSize"}
# The model states no bounds for MaxResults; the EC2 API Reference's Pagination page: "between 5 and 1000".
PAGE_BOUNDS = (5, 1000)


def load(scenario, world):
    """``snapshots``: {snapshot id: declared snapshot}, each key checked and named in a ScenarioError."""
    found = {}
    for entry, where in listed(scenario, "snapshots"):
        check_keys(entry, SNAPSHOT_KEYS, where)
        snap_id = matching_id(SNAPSHOT_ID, entry.get("SnapshotId"), "a SnapshotId snap-...", f"{where}.SnapshotId")
        if snap_id in found:
            raise ScenarioError(f"{where}.SnapshotId: {snap_id} is declared twice")
        size = entry.get("VolumeSize", DEFAULT_VOLUME_SIZE)
        full = entry.get("FullSnapshotSizeInBytes")
        for key, value in (("VolumeSize", size), ("FullSnapshotSizeInBytes", full)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ScenarioError(f"{where}.{key}: expected a positive integer, got {value!r}")
        if entry.get("State", "completed") not in SNAPSHOT_STATES:
            raise ScenarioError(f"{where}.State: expected one of {SNAPSHOT_STATES}, got {entry['State']!r}")
        record = {"SnapshotId": snap_id, "VolumeSize": size, "State": entry.get("State", "completed")}
        record.update(StartTime=epoch(entry.get("StartTime", "2024-05-01T00:00:00Z"), f"{where}.StartTime"))
        record.update(region=entry.get("region", world.region))
        if full is not None:
            record["FullSnapshotSizeInBytes"] = full
        if "Description" in entry:
            record["Description"] = str(entry["Description"])
        tags = tag_list(entry.get("tags", {}), f"{where}.tags")
        if tags:
            record["Tags"] = tags
        found[snap_id] = record
    return found


def check_regions(world):
    """A declared snapshot is in the region of every AMI that names it (EBS snapshots are regional)."""
    for arn, image in world.images.items():
        for resource in image["resources"]:
            region = resource.get("region", world.region)
            for snap in image["ec2"].get(resource.get("resourceId"), {}).get("snapshots", []):
                declared = world.snapshots.get(snap, {}).get("region", region)
                if declared != region:
                    message = f"snapshots: {snap} is declared in {declared}, but {arn}'s {resource['resourceId']}"
                    raise ScenarioError(f"{message} in {region} names it")


def snapshots_in(world, region, now):
    """The account's snapshots in a region: the declared ones, and every one an AMI there names (an AMI of a deleted
    image is gone, and with it the snapshots nothing else declares), sorted by id."""
    found = {snap: record for snap, record in world.snapshots.items() if record["region"] == region}
    for ami in amis_in(world, region, now):
        for device in ami["BlockDeviceMappings"]:
            snap = device["Ebs"]["SnapshotId"]
            found.setdefault(snap, {"SnapshotId": snap, "VolumeSize": DEFAULT_VOLUME_SIZE, "State": "completed"})
            found[snap].setdefault("StartTime", epoch(ami["CreationDate"], ami["ImageId"]))
    return [answer_of(world, found[snap]) for snap in sorted(found)]


def answer_of(world, record):
    snapshot = {key: value for key, value in record.items() if key != "region"}
    snapshot.update(OwnerId=world.account_id, Progress="100%", Encrypted=False, StorageTier="standard")
    snapshot.setdefault("VolumeId", "vol-ffffffff")
    snapshot.setdefault("Description", f"Created by CreateImage for {snapshot['SnapshotId']}")
    return snapshot


def describe_snapshots(world, params, region, now):
    """EC2 DescribeSnapshots in one region: the account's own (``OwnerIds`` ``self`` or its id; another owner's are
    none), ``SnapshotIds`` (an unknown one is InvalidSnapshot.NotFound), the filters above, paginated."""
    dry_run(params)
    snapshots = snapshots_in(world, region, now)
    if "OwnerIds" in params:
        owners = {world.account_id if owner == "self" else owner for owner in params["OwnerIds"]}
        snapshots = [snap for snap in snapshots if snap["OwnerId"] in owners]
    if "SnapshotIds" in params:
        malformed = [snap for snap in params["SnapshotIds"] if not SNAPSHOT_ID.match(snap)]
        if malformed:
            raise EndpointError("InvalidSnapshotID.Malformed", f'Invalid id: "{malformed[0]}"', 400)
        known = {snap["SnapshotId"] for snap in snapshots}
        missing = [snap for snap in params["SnapshotIds"] if snap not in known]
        if missing:
            raise EndpointError("InvalidSnapshot.NotFound", f"The snapshot '{missing[0]}' does not exist.", 400)
        snapshots = [snap for snap in snapshots if snap["SnapshotId"] in set(params["SnapshotIds"])]
    for name, values in ec2_filters(params.get("Filters", []), SNAPSHOT_FILTERS):
        snapshots = [s for s in snapshots if matches(s, name, values, lambda s, n=name: [s[FILTER_FIELDS[n]]])]
    return paged(world, "DescribeSnapshots", params, region, snapshots, "Snapshots", PAGE_BOUNDS)


OPERATIONS = {"DescribeSnapshots": describe_snapshots}
