# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a DELETE frees: its snapshots with their sizes, one another AMI still uses counted as kept, each counted once,
totals per region and overall said as an upper bound."""

import datetime

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import snapshots as snaps
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import has_full_size

GIB = 1024**3
SCOPE = {"Owners": ["self"], "IncludeDeprecated": True, "IncludeDisabled": True}


def described(snapshot_id, volume_size, full_size=None, ec2=None):
    snap = {
        "SnapshotId": snapshot_id,
        "VolumeSize": volume_size,
        "State": "completed",
        "StartTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        "Tags": [{"Key": "team", "Value": "platform"}],
    }
    if full_size is not None and has_full_size(ec2):
        snap["FullSnapshotSizeInBytes"] = full_size
    return snap


def image(image_id, *snapshot_ids):
    return {"ImageId": image_id, "BlockDeviceMappings": [{"Ebs": {"SnapshotId": s}} for s in snapshot_ids]}


def test_a_delete_frees_its_own_snapshots_and_keeps_one_another_ami_uses(ec2_client):
    ec2, stubber = ec2_client
    ids = ["snap-0a", "snap-0b", "snap-0c"]
    stubber.add_response(
        "describe_snapshots",
        {"Snapshots": [described("snap-0a", 8, 3 * GIB, ec2), described("snap-0b", 20), described("snap-0c", 30)]},
        {"OwnerIds": ["self"], "Filters": [{"Name": "snapshot-id", "Values": ids}]},
    )
    stubber.add_response(
        "describe_images",
        {
            "Images": [
                image("ami-1", "snap-0a", "snap-0b"),
                image("ami-2", "snap-0b"),
                image("ami-3", "snap-0c"),
                image("ami-9", "snap-0c"),
            ]
        },
        dict(SCOPE, Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": ids}]),
    )
    # ami-1 and ami-2 are deleted and share snap-0b; ami-9, which the policy keeps, still uses snap-0c.
    deleted = {"ami-1": ["snap-0a", "snap-0b"], "ami-2": ["snap-0b"], "ami-3": ["snap-0c"]}
    answer, details = snaps.region_storage(ec2, deleted)
    assert details["snap-0a"]["tags"] == {"team": "platform"}
    snap_a = 3 * GIB if has_full_size(ec2) else 8 * GIB
    assert answer == {
        "snapshots": [
            {"snapshot_id": "snap-0a", "ami": "ami-1", "size_in_bytes": snap_a, "volume_size": 8, "status": "freed"},
            {"snapshot_id": "snap-0b", "ami": "ami-1", "size_in_bytes": 20 * GIB, "volume_size": 20, "status": "freed"},
            {
                "snapshot_id": "snap-0c",
                "ami": "ami-3",
                "size_in_bytes": 30 * GIB,
                "volume_size": 30,
                "status": "kept",
                "reason": "still used by ami-9, which this policy keeps",
            },
        ],
        "freed_bytes_at_most": snap_a + 20 * GIB,
        "kept_bytes": 30 * GIB,
    }


def test_totals_are_an_upper_bound_and_unknown_when_a_region_could_not_be_read(ec2_client):
    ec2, stubber = ec2_client
    stubber.add_client_error("describe_snapshots", service_error_code="UnauthorizedOperation", http_status_code=403)
    denied, details = snaps.region_storage(ec2, {"ami-1": ["snap-0a"]})
    assert details is None
    assert denied == {
        "snapshots": [],
        "freed_bytes_at_most": None,
        "kept_bytes": None,
        "unknown": "denied ec2:DescribeSnapshots (UnauthorizedOperation)",
    }
    freed = {"snapshots": [], "freed_bytes_at_most": 5, "kept_bytes": 0}
    assert snaps.totals({"us-east-1": freed, "eu-west-1": freed})["freed_bytes_at_most"] == 10
    whole = snaps.totals({"us-east-1": freed, "eu-west-1": denied})
    assert whole["freed_bytes_at_most"] is None
    assert whole["note"].startswith("an upper bound: deleting a snapshot might not reduce storage costs")


def test_a_snapshot_this_account_does_not_own_is_unknown_not_freed():
    answer = snaps.storage_freed({"ami-1": ["snap-0x"]}, {}, {})
    assert answer["snapshots"] == [
        {
            "snapshot_id": "snap-0x",
            "ami": "ami-1",
            "status": "unknown",
            "reason": "not described: another account's snapshot, or gone already",
        }
    ]
    assert answer["freed_bytes_at_most"] == 0


def test_a_delete_without_snapshots_makes_no_call(ec2_client):
    assert snaps.region_storage(ec2_client[0], {"ami-1": []})[0]["freed_bytes_at_most"] == 0
