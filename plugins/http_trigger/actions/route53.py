"""Route 53 actions: create or replace (UPSERT) a record set, then wait until the change is INSYNC.

The Amazon provider has no Route 53 hook or operator, so this operator uses the provider's
generic ``AwsBaseHook`` with the ``route53`` boto3 client (connection and retries still come from
the provider) through :mod:`http_trigger.actions.aws.route53`, and waits with Route 53's own
``resource_record_sets_changed`` waiter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from pydantic import ConfigDict, Field, model_validator

from http_trigger.actions.aws import route53
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionParameters, ActionType
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

HOSTED_ZONE_ID_PATTERN = r"^(/hostedzone/)?[A-Z0-9]{1,32}$"
DOMAIN_NAME_PATTERN = r"^(\*\.)?([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9-]{1,63}\.?$"
RecordType = Literal["A", "AAAA", "CAA", "CNAME", "DS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "TXT"]


_ONE_ZONE = Rule("route53.one_zone", "give either hosted_zone_id or hosted_zone_name")
_ONE_CNAME_VALUE = Rule("route53.one_cname_value", "a CNAME record takes exactly one value")


class Route53UpsertRecordParameters(ActionParameters):
    """Choose the hosted zone (id or name), the record, its values, and whether to wait until INSYNC."""

    model_config = ConfigDict(
        title="Route 53 record",
        json_schema_extra={
            "examples": [{
                "hosted_zone_name": "example.com.",
                "record_name": "www.example.com",
                "values": ["192.0.2.10"],
            }],
        },
    )

    hosted_zone_id: str | None = Field(
        default=None,
        pattern=HOSTED_ZONE_ID_PATTERN,
        title="Hosted zone id",
        description="e.g. Z0123456789ABCDEFGHIJ. Leave empty to choose the zone by name.",
    )
    hosted_zone_name: str | None = Field(
        default=None,
        max_length=255,
        pattern=DOMAIN_NAME_PATTERN,
        title="Hosted zone name",
        description="e.g. example.com; it must name exactly one hosted zone of the account.",
    )
    record_name: str = Field(
        max_length=255,
        pattern=DOMAIN_NAME_PATTERN,
        title="Record name",
        description="The full name, inside the zone, e.g. www.example.com.",
    )
    record_type: RecordType = Field(default="A", title="Type")
    ttl: int = Field(default=300, ge=0, le=2147483647, title="TTL (seconds)")
    values: list[Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        min_length=1,
        title="Values",
        description=(
            "One value per item, e.g. 192.0.2.10. TXT values are put in quotes unless they already are."
        ),
    )
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait until INSYNC",
        description="Finish only when the change has reached every Route 53 name server.",
    )

    @model_validator(mode="after")
    def _check(self) -> Route53UpsertRecordParameters:
        if (self.hosted_zone_id is None) == (self.hosted_zone_name is None):
            raise _ONE_ZONE.error()
        if self.record_type == "CNAME" and len(self.values) != 1:
            raise _ONE_CNAME_VALUE.error()
        return self

    def record_values(self) -> list[str]:
        """Return the values as Route 53 takes them: TXT and SPF strings quoted."""
        if self.record_type not in ("TXT", "SPF"):
            return list(self.values)
        return [value if value.startswith('"') else f'"{value}"' for value in self.values]


class Route53UpsertRecordOperator(AwsActionOperator[AwsBaseHook]):
    """Create or replace a Route 53 record set and, optionally, wait until the change is INSYNC."""

    aws_hook_class = AwsBaseHook
    ui_color = "#8c4fff"
    parameters_model: ClassVar[type[Route53UpsertRecordParameters]] = Route53UpsertRecordParameters

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "client_type": "route53"}

    def run_action(self, context: Context, parameters: Route53UpsertRecordParameters) -> dict[str, Any]:
        if parameters.hosted_zone_id:
            zone = route53.zone_by_id(self.hook, parameters.hosted_zone_id)
        else:
            zone = route53.zone_by_name(self.hook, parameters.hosted_zone_name or "")
        values = parameters.record_values()
        change = route53.upsert_record(
            self.hook,
            zone=zone,
            record_name=parameters.record_name,
            record_type=parameters.record_type,
            ttl=parameters.ttl,
            values=values,
            comment=f"{self.dag_id}.{self.task_id}",
        )
        state = {"zone_id": zone[0], "values": values, **change}
        if not parameters.wait_until_final_state:
            return self.summarize(context, parameters, **state)
        wait = route53.change_wait(change["change_id"], change["record_name"])
        return self.wait_then(context, parameters, wait, then="summarize", **state)

    def summarize(
        self,
        context: Context,
        parameters: Route53UpsertRecordParameters,
        *,
        zone_id: str,
        values: list[str],
        record_name: str,
        change_id: str,
        status: str,
    ) -> dict[str, Any]:
        """Return the record and its change, with the change's status now when the task waited."""
        if parameters.wait_until_final_state:
            status = route53.change_status(self.hook, change_id)
        return {
            "hosted_zone_id": zone_id,
            "record_name": record_name,
            "record_type": parameters.record_type,
            "values": values,
            "change_id": change_id,
            "status": status,
            "waited": parameters.wait_until_final_state,
        }


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="route53_upsert_record",
        title="Route 53: Upsert record",
        description=(
            "Create or replace a DNS record set in a Route 53 hosted zone given by id or name, "
            "and wait until the change is INSYNC."
        ),
        operator_class=Route53UpsertRecordOperator,
        iam_actions=(
            "route53:GetHostedZone",
            "route53:ListHostedZonesByName",
            "route53:ChangeResourceRecordSets",
            "route53:GetChange",
        ),
    ),
)
