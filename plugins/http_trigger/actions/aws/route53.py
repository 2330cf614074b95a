"""Route 53 hosted zones and record sets over the provider's generic ``AwsBaseHook`` (``route53`` client).

The Amazon provider has no Route 53 hook or operator, so the zone is found and the record set
changed with the boto3 client the generic hook builds (connection and retries still come from the
provider), and the change waited on with Route 53's own ``resource_record_sets_changed`` waiter.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.targets import listed
from http_trigger.actions.waiting import Wait

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

log = logging.getLogger(__name__)

_ZONE_ID_PREFIX = "/hostedzone/"


def absolute(name: str) -> str:
    """Return a domain name in Route 53's form: lower case, with the final dot."""
    return name.lower().rstrip(".") + "."


def zone_by_id(hook: AwsBaseHook, zone_id: str) -> tuple[str, str]:
    """Return the hosted zone's id (without ``/hostedzone/``) and absolute name, or fail naming it."""
    zone_id = zone_id.removeprefix(_ZONE_ID_PREFIX)
    try:
        zone = hook.conn.get_hosted_zone(Id=zone_id)["HostedZone"]
    except ClientError as error:
        raise AirflowException(f"Reading hosted zone {zone_id} failed: {error}") from error
    return zone_id, absolute(zone["Name"])


def zone_by_name(hook: AwsBaseHook, zone_name: str) -> tuple[str, str]:
    """Return the id and absolute name of the one hosted zone named ``zone_name``, or fail naming it."""
    name = absolute(zone_name)
    # Zones come sorted by name from the one asked for, so any namesakes are in the first page.
    answered = hook.conn.list_hosted_zones_by_name(DNSName=name, MaxItems="100")["HostedZones"]
    zones = [zone for zone in answered if absolute(zone["Name"]) == name]
    if not zones:
        raise AirflowException(f"No hosted zone is named {name}")
    ids = [zone["Id"].removeprefix(_ZONE_ID_PREFIX) for zone in zones]
    if len(ids) > 1:
        raise AirflowException(f"Several hosted zones are named {name} ({listed(ids)}); give hosted_zone_id")
    return ids[0], name


def upsert_record(
    hook: AwsBaseHook,
    *,
    zone: tuple[str, str],
    record_name: str,
    record_type: str,
    ttl: int,
    values: list[str],
    comment: str,
) -> dict[str, Any]:
    """Create or replace a record set in ``zone`` (id, name).

    A record outside the zone fails before anything changes. Return the ``record_name`` (absolute)
    and the change's ``change_id`` and ``status``.
    """
    zone_id, zone_name = zone
    record = absolute(record_name)
    if record != zone_name and not record.endswith(f".{zone_name}"):
        raise AirflowException(f"Record {record} is not inside hosted zone {zone_name} ({zone_id})")
    log.info(
        "Upserting %s record %s (TTL %s) in hosted zone %s: %s",
        record_type,
        record,
        ttl,
        zone_id,
        listed(values),
    )
    record_set = {
        "Name": record,
        "Type": record_type,
        "TTL": ttl,
        "ResourceRecords": [{"Value": value} for value in values],
    }
    try:
        change = hook.conn.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Comment": comment[:256],
                "Changes": [{"Action": "UPSERT", "ResourceRecordSet": record_set}],
            },
        )["ChangeInfo"]
    except ClientError as error:
        raise AirflowException(
            f"Upserting {record_type} record {record} in hosted zone {zone_id} failed: {error}"
        ) from error
    return {"record_name": record, "change_id": change["Id"], "status": change["Status"]}


def change_wait(change_id: str, record: str) -> Wait:
    """Describe a wait with Route 53's ``resource_record_sets_changed`` waiter until the change is INSYNC."""
    return Wait(
        waiter_name="resource_record_sets_changed",
        args={"Id": change_id},
        resources=f"Change {change_id} of record {record}",
        final_state="INSYNC",
        status_args=["ChangeInfo.Status"],
    )


def change_status(hook: AwsBaseHook, change_id: str) -> str:
    """Return the change's status now (``PENDING`` or ``INSYNC``)."""
    return hook.conn.get_change(Id=change_id)["ChangeInfo"]["Status"]
