"""The SNS and SQS steps against moto: assertions are on the messages that reach an SQS queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException
from http_trigger.post_processing.sns import SnsParameters, SnsPostProcessingOperator, sns_subject
from http_trigger.post_processing.sqs import SqsParameters, SqsPostProcessingOperator, queue_region
from moto import mock_aws
from pydantic import ValidationError

from ..post_processing_support import assert_is_the_payload, make_context

CONNECTION_REGION = "us-east-1"
TOPIC_REGION = "eu-west-1"
AWS_CONN_ID = "aws_test"
ERROR = "AirflowException: boom"


@pytest.fixture
def aws(monkeypatch):
    """moto in-process, and the Airflow AWS connection ``aws_test`` (region us-east-1)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": CONNECTION_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_TEST", json.dumps({"conn_type": "aws", "extra": {"region_name": CONNECTION_REGION}})
    )
    with mock_aws():
        yield


def client(service: str, region: str = CONNECTION_REGION):
    return boto3.client(service, region_name=region)


def make_queue(name: str, region: str = CONNECTION_REGION, **attributes: str) -> str:
    return client("sqs", region).create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def receive(queue_url: str, region: str = CONNECTION_REGION) -> list[dict[str, Any]]:
    return client("sqs", region).receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])


def subscribed_queue(topic_arn: str, region: str, name: str, **attributes: str) -> str:
    """Create a queue in ``region`` and subscribe it to the topic; return its URL."""
    queue_url = make_queue(name, region, **attributes)
    queue_arn = client("sqs", region).get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    client("sns", region).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def make_sns(parameters: dict[str, Any], *, status: str = "success", task_id: str | None = None):
    return SnsPostProcessingOperator(
        task_id=task_id or f"on_{status}_1_sns",
        parameters={"aws_conn_id": AWS_CONN_ID, **parameters},
        job_id=7,
        job_name="Start test servers",
        status=status,
    )


def make_sqs(parameters: dict[str, Any], *, status: str = "success"):
    return SqsPostProcessingOperator(
        task_id=f"on_{status}_1_sqs",
        parameters={"aws_conn_id": AWS_CONN_ID, **parameters},
        job_id=7,
        job_name="Start test servers",
        status=status,
    )


class TestParameters:
    @pytest.mark.parametrize(
        ("model", "data", "message"),
        [
            (SnsParameters, {}, "topic_arn\n  Field required"),
            (SnsParameters, {"topic_arn": "ops-notifications"}, "topic_arn\n  String should match pattern"),
            (SnsParameters, {"topic_arn": "arn:aws:sqs:us-east-1:123456789012:q"}, "topic_arn\n  String"),
            (
                SnsParameters,
                {"topic_arn": "arn:aws:sns:us-east-1:123456789012:t", "subject": "{{ who }}"},
                "subject\n  Value error, unknown template variable",
            ),
            (SqsParameters, {"queue_url": "ops-events"}, "queue_url\n  Value error, 'ops-events' is not"),
            (
                SqsParameters,
                {"queue_url": "https://sqs.us-east-1.amazonaws.com/1/q", "region": "Europe"},
                "region\n  String should match pattern",
            ),
        ],
    )
    def test_refuses(self, model, data, message):
        with pytest.raises(ValidationError, match=message):
            model.model_validate(data)

    def test_defaults(self):
        sns = SnsParameters.model_validate({"topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"})
        sqs = SqsParameters.model_validate({"queue_url": "https://sqs.us-east-1.amazonaws.com/1/q"})
        assert (sns.aws_conn_id, sns.region) == ("aws_default", None)
        assert sns.subject == "[{{ status }}] {{ name }}"
        assert (sqs.aws_conn_id, sqs.region) == ("aws_default", None)

    @pytest.mark.parametrize(
        ("url", "region"),
        [
            ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
            ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),
            ("https://ap-northeast-1.queue.amazonaws.com/123456789012/q", "ap-northeast-1"),
            ("http://127.0.0.1:5000/123456789012/q", None),
        ],
    )
    def test_queue_region(self, url, region):
        assert queue_region(url) == region

    def test_sns_subject_is_one_ascii_line_under_100_characters(self):
        assert sns_subject("[success]\n テスト job") == "[success] ??? job"
        assert len(sns_subject("x" * 300)) == 99
        assert sns_subject("x" * 300).endswith("...")


@pytest.mark.usefixtures("aws")
class TestSnsPostProcessingOperator:
    def test_publishes_the_payload_to_the_topic_in_its_own_region(self):
        topic_arn = client("sns", TOPIC_REGION).create_topic(Name="ops-notifications")["TopicArn"]
        queue_url = subscribed_queue(topic_arn, TOPIC_REGION, "ops-inbox")
        operator = make_sns({"topic_arn": topic_arn, "subject": "{{ name }}: {{ status }}"})

        result = operator.execute(make_context())

        [message] = receive(queue_url, TOPIC_REGION)
        notification = json.loads(message["Body"])
        assert notification["TopicArn"] == topic_arn
        assert notification["Subject"] == "Start test servers: success"
        assert_is_the_payload(json.loads(notification["Message"]))
        attributes = notification["MessageAttributes"]
        assert {name: attribute["Value"] for name, attribute in attributes.items()} == {
            "status": "success",
            "trigger_job_id": "7",
            "dag_id": "http_trigger_job_7",
            "trigger_source": "http",
        }
        assert result == {"topic_arn": topic_arn, "message_id": notification["MessageId"]}

    def test_failure_payload_carries_the_error(self):
        topic_arn = client("sns").create_topic(Name="ops-failures")["TopicArn"]
        queue_url = subscribed_queue(topic_arn, CONNECTION_REGION, "ops-failures-inbox")

        make_sns({"topic_arn": topic_arn}, status="failure").execute(make_context(error=ERROR))

        [message] = receive(queue_url)
        notification = json.loads(message["Body"])
        assert notification["Subject"] == "[failure] Start test servers"
        assert_is_the_payload(json.loads(notification["Message"]), status="failure", error=ERROR)

    def test_a_fifo_topic_gets_the_job_as_group_and_one_message_per_step_and_run(self):
        topic_arn = client("sns").create_topic(
            Name="ops.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"}
        )["TopicArn"]
        queue_url = subscribed_queue(topic_arn, CONNECTION_REGION, "ops-inbox.fifo", FifoQueue="true")
        operator = make_sns({"topic_arn": topic_arn})

        operator.execute(make_context())
        operator.execute(make_context())  # a retry after a lost answer

        [message] = receive(queue_url)
        assert message["Attributes"]["MessageGroupId"] == "http_trigger_job_7"
        assert_is_the_payload(json.loads(json.loads(message["Body"])["Message"]))

    def test_a_missing_topic_fails_with_a_clear_message(self):
        topic_arn = f"arn:aws:sns:{CONNECTION_REGION}:123456789012:gone"

        message = rf"SNS topic {topic_arn} refused the success payload \(AWS connection 'aws_test'\): .*Not"
        with pytest.raises(AirflowException, match=message):
            make_sns({"topic_arn": topic_arn}).execute(make_context())


@pytest.mark.usefixtures("aws")
class TestSqsPostProcessingOperator:
    def test_sends_the_payload_as_the_message_body(self):
        queue_url = make_queue("ops-events")

        result = make_sqs({"queue_url": queue_url}).execute(make_context())

        [message] = receive(queue_url)
        assert_is_the_payload(json.loads(message["Body"]))
        received = message["MessageAttributes"]
        attributes = {name: (a["DataType"], a["StringValue"]) for name, a in received.items()}
        assert attributes == {
            "status": ("String", "success"),
            "trigger_job_id": ("Number", "7"),
            "dag_id": ("String", "http_trigger_job_7"),
            "trigger_source": ("String", "http"),
        }
        assert result == {"queue_url": queue_url, "message_id": message["MessageId"]}

    def test_failure_payload_carries_the_error(self):
        queue_url = make_queue("ops-failures")

        make_sqs({"queue_url": queue_url}, status="failure").execute(make_context(error=ERROR))

        [message] = receive(queue_url)
        assert_is_the_payload(json.loads(message["Body"]), status="failure", error=ERROR)

    def test_the_region_parameter_chooses_the_queue_region(self):
        queue_url = make_queue("ops-far", TOPIC_REGION)

        make_sqs({"queue_url": queue_url, "region": TOPIC_REGION}).execute(make_context())

        assert len(receive(queue_url, TOPIC_REGION)) == 1

    def test_a_fifo_queue_gets_the_job_as_group_and_one_message_per_step_and_run(self):
        queue_url = make_queue("ops-events.fifo", FifoQueue="true")
        operator = make_sqs({"queue_url": queue_url})

        operator.execute(make_context())
        operator.execute(make_context())

        [message] = receive(queue_url)
        assert message["Attributes"]["MessageGroupId"] == "http_trigger_job_7"
        assert_is_the_payload(json.loads(message["Body"]))

    def test_a_missing_queue_fails_with_a_clear_message(self):
        queue_url = f"https://sqs.{CONNECTION_REGION}.amazonaws.com/123456789012/gone"

        message = rf"SQS queue {queue_url} refused the success payload \(AWS connection 'aws_test'\): .*Non"
        with pytest.raises(AirflowException, match=message):
            make_sqs({"queue_url": queue_url}).execute(make_context())
