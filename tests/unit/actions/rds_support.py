"""Shared parts of the RDS and Aurora action tests: DB instances and clusters made in moto."""

from __future__ import annotations

from typing import Any

from http_trigger.actions.rds import RdsCreateDbSnapshotOperator

from .support import make_operator


def job_id() -> str:
    """The job tag value in these tests: an operator outside a DAG belongs to Airflow's ad-hoc DAG."""
    return make_operator(RdsCreateDbSnapshotOperator, None).dag_id


def create_db(rds, identifier: str, *, env: str = "test", stopped: bool = False, **extra: Any) -> str:
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="password123",
        AllocatedStorage=20,
        Tags=[{"Key": "Env", "Value": env}],
        **extra,
    )
    if stopped:
        rds.stop_db_instance(DBInstanceIdentifier=identifier)
    return identifier


def create_cluster(rds, identifier: str, *, env: str = "test", stopped: bool = False) -> str:
    rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="password123",
        Tags=[{"Key": "Env", "Value": env}],
    )
    if stopped:
        rds.stop_db_cluster(DBClusterIdentifier=identifier)
    return identifier


def db_states(rds, *identifiers: str) -> dict[str, str]:
    found = rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": list(identifiers)}])
    return {db["DBInstanceIdentifier"]: db["DBInstanceStatus"] for db in found["DBInstances"]}


def cluster_states(rds, *identifiers: str) -> dict[str, str]:
    found = rds.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": list(identifiers)}])
    return {cluster["DBClusterIdentifier"]: cluster["Status"] for cluster in found["DBClusters"]}


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("TagList", [])}
