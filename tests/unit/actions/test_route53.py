"""The Route 53 action against moto; assertions read the record sets in moto."""

from __future__ import annotations

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from pydantic import ValidationError

from http_trigger.actions.route53 import Route53UpsertRecordOperator, Route53UpsertRecordParameters

from .support import REGION, moto_account, run


class Account:
    """The moto account of a test: the public hosted zone example.com."""

    def __init__(self) -> None:
        self.route53 = boto3.client("route53", region_name=REGION)
        self.zone_id = self.zone("example.com")

    def zone(self, name: str, **extra) -> str:
        zone = self.route53.create_hosted_zone(Name=name, CallerReference=f"{name}-{len(extra)}", **extra)
        return zone["HostedZone"]["Id"].removeprefix("/hostedzone/")

    def records(self, record_type: str, zone_id: str | None = None) -> dict[str, tuple[int, list[str]]]:
        """Return the zone's records of a type as {name: (ttl, values)}."""
        record_sets = self.route53.list_resource_record_sets(HostedZoneId=zone_id or self.zone_id)
        return {
            r["Name"]: (r["TTL"], [v["Value"] for v in r["ResourceRecords"]])
            for r in record_sets["ResourceRecordSets"]
            if r["Type"] == record_type
        }


def upsert(**parameters):
    """Run the action for an A record a.example.com, with ``parameters`` changed."""
    return run(Route53UpsertRecordOperator, {"record_name": "a.example.com", "values": ["192.0.2.1"], **parameters})


@pytest.fixture
def account():
    with moto_account():
        yield Account()


class TestRoute53UpsertRecordParameters:
    def test_defaults(self):
        parameters = Route53UpsertRecordParameters.model_validate(
            {"hosted_zone_name": "example.com", "record_name": "www.example.com", "values": ["192.0.2.10"]}
        )
        assert (parameters.record_type, parameters.ttl, parameters.wait_until_final_state) == ("A", 300, True)

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"hosted_zone_id": None}, "give either hosted_zone_id or hosted_zone_name"),
            ({"hosted_zone_name": "example.com"}, "give either hosted_zone_id or hosted_zone_name"),
            ({"record_type": "CNAME", "values": ["b.", "c."]}, "a CNAME record takes exactly one value"),
            ({"values": []}, r"values\n  List should have at least 1"),
            ({"record_type": "ALIAS"}, r"record_type\n  Input should be 'A', 'AAAA'"),
            ({"ttl": -1}, r"ttl\n  Input should be"),
            ({"record_name": "bad name"}, r"record_name\n  String should match"),
            ({"hosted_zone_id": "/zone/Z1"}, r"hosted_zone_id\n  String"),
        ],
    )
    def test_refuses(self, changes, message):
        data = {"hosted_zone_id": "Z1", "record_name": "a.example.com", "values": ["192.0.2.1"], **changes}
        with pytest.raises(ValidationError, match=message):
            Route53UpsertRecordParameters.model_validate({k: v for k, v in data.items() if v is not None})


class TestRoute53UpsertRecordOperator:
    def test_creates_a_record_in_the_zone_given_by_id_and_waits_until_insync(self, account):
        result = run(
            Route53UpsertRecordOperator,
            {
                "hosted_zone_id": f"/hostedzone/{account.zone_id}",
                "record_name": "www.example.com",
                "ttl": 60,
                "values": ["192.0.2.10", "192.0.2.11"],
            },
        )

        assert account.records("A") == {"www.example.com.": (60, ["192.0.2.10", "192.0.2.11"])}
        assert result["status"] == "INSYNC"
        assert {k: result[k] for k in ("hosted_zone_id", "record_name", "record_type", "values", "waited")} == {
            "hosted_zone_id": account.zone_id,
            "record_name": "www.example.com.",
            "record_type": "A",
            "values": ["192.0.2.10", "192.0.2.11"],
            "waited": True,
        }

    def test_replaces_the_record_in_the_zone_given_by_name(self, account):
        parameters = {"hosted_zone_name": "Example.com.", "record_name": "www.example.com.", "values": ["192.0.2.10"]}
        run(Route53UpsertRecordOperator, parameters)

        run(Route53UpsertRecordOperator, {**parameters, "values": ["192.0.2.99"], "ttl": 30})

        assert account.records("A") == {"www.example.com.": (30, ["192.0.2.99"])}

    def test_quotes_txt_values(self, account):
        run(
            Route53UpsertRecordOperator,
            {
                "hosted_zone_id": account.zone_id,
                "record_name": "example.com",
                "record_type": "TXT",
                "values": ["v=spf1 -all", '"already quoted"'],
            },
        )

        assert account.records("TXT") == {"example.com.": (300, ['"v=spf1 -all"', '"already quoted"'])}

    def test_a_record_outside_the_zone_fails_naming_both(self, account):
        message = f"Record www.example.org. is not inside hosted zone example.com. \\({account.zone_id}\\)"
        with pytest.raises(AirflowException, match=message):
            upsert(hosted_zone_id=account.zone_id, record_name="www.example.org")
        assert account.records("A") == {}

    def test_an_unknown_zone_id_fails_naming_it(self, account):
        with pytest.raises(AirflowException, match="Reading hosted zone Z0000000000NOPE failed: .*NoSuchHostedZone"):
            upsert(hosted_zone_id="Z0000000000NOPE")

    def test_an_unknown_zone_name_fails_naming_it(self, account):
        with pytest.raises(AirflowException, match="No hosted zone is named example.org."):
            upsert(hosted_zone_name="example.org", record_name="a.example.org")

    def test_an_ambiguous_zone_name_fails_listing_the_zones(self, account):
        vpc = boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        private = account.zone("example.com", VPC={"VPCRegion": REGION, "VPCId": vpc})

        message = f"Several hosted zones are named example.com. .*{private}.*give hosted_zone_id"
        with pytest.raises(AirflowException, match=message):
            upsert(hosted_zone_name="example.com")

    def test_reads_parameters_from_the_dag_run_conf(self, account):
        conf = {"hosted_zone_id": account.zone_id, "record_name": "api.example.com", "record_type": "CNAME"}
        run(Route53UpsertRecordOperator, None, conf={**conf, "values": ["lb.example.net"]})

        assert account.records("CNAME") == {"api.example.com.": (300, ["lb.example.net"])}

    def test_invalid_conf_fails_without_retry_naming_the_field(self, account):
        conf = {"hosted_zone_id": account.zone_id, "record_name": "a.example.com"}
        with pytest.raises(AirflowFailException, match=r"values: Field required"):
            run(Route53UpsertRecordOperator, None, conf=conf)

    def test_the_hook_is_a_route53_client(self):
        operator = Route53UpsertRecordOperator(
            task_id="action", aws_conn_id=None, region_name=REGION, parameters=None
        )
        assert operator.hook.client_type == "route53"
