"""Which values of a job are secrets, their masked form, and how an update keeps what a mask stands for."""

from __future__ import annotations

import json
import re

import pytest
from http_trigger.errors import JobSpecError, MaskedSecretError
from http_trigger.jobs.files import parse_spec
from http_trigger.jobs.model import Job, JobBody
from http_trigger.post_processing.base import credential_parts, url_carries_credential
from http_trigger.post_processing.slack import SlackParameters
from http_trigger.post_processing.webhook import WebhookParameters
from http_trigger.secrets.spec_secrets import MASK, keep_masked_secrets, mask, masked_spec, secret_values

from ..jobs_support import EC2


def job_with(*on_success: dict, job_id: int = 7) -> Job:
    return Job(id=job_id, **body_with(*on_success).model_dump())


def body_with(*on_success: dict) -> JobBody:
    return JobBody.model_validate({"name": "j", "action": EC2, "post_processing": {"on_success": list(on_success)}})


def webhook(url: str = "https://hooks.example.com/x", **parameters: str) -> dict:
    return {"type": "webhook", "parameters": {"url": url, **parameters}}


class TestWhichValuesAreSecrets:
    @pytest.mark.parametrize(
        ("url", "secret"),
        [
            ("https://hooks.example.com/ops", False),
            ("https://hooks.example.com/ops#part", False),
            ("https://hooks.example.com/ops?token=t", True),
            ("https://user:pw@hooks.example.com/ops", True),
            ("https://token@hooks.example.com/ops", True),
            ("https://airflow.example.com/base/http-trigger/trigger/abc", True),
        ],
    )
    def test_a_webhook_url_is_one_when_it_carries_a_credential(self, url, secret):
        assert url_carries_credential(url) is secret
        assert [value.value for value in secret_values(job_with(webhook(url)))] == ([url] if secret else [])

    def test_the_authorization_and_a_slack_webhook_url_always_are(self):
        job = job_with(
            webhook(authorization="CAAuth t"),
            {"type": "slack", "parameters": {"webhook_url": "https://hooks.slack.com/services/x"}},
            {"type": "slack", "parameters": {"slack_webhook_conn_id": "slack_ops"}},
        )

        assert [value.field for value in secret_values(job)] == [
            "post_processing.on_success.0.parameters.authorization",
            "post_processing.on_success.1.parameters.webhook_url",
        ]

    def test_forms_get_the_unconditional_secrets_as_write_only_password_fields(self):
        webhook_schema = WebhookParameters.model_json_schema()["properties"]
        slack_schema = SlackParameters.model_json_schema()["properties"]

        assert (webhook_schema["authorization"]["format"], webhook_schema["authorization"]["writeOnly"]) == (
            "password", True
        )
        assert (slack_schema["webhook_url"]["format"], slack_schema["webhook_url"]["writeOnly"]) == (
            "password", True
        )
        assert "writeOnly" not in webhook_schema["url"]  # a plain URL is shown to readers

    def test_the_parts_masked_in_logs(self):
        assert credential_parts("CAAuth tok-1") == {"CAAuth tok-1", "tok-1"}
        assert credential_parts("https://u:pw@h.example/http-trigger/trigger/uid?q=1") == {
            "https://u:pw@h.example/http-trigger/trigger/uid?q=1", "pw", "q=1", "uid", "/http-trigger/trigger/uid"
        }


class TestMaskedForm:
    def test_a_url_keeps_scheme_and_host_and_stays_a_valid_url(self):
        masked = mask("https://ops:pw@hooks.example.com:8443/in?key=k", owner=7)

        assert re.fullmatch(r"https://hooks\.example\.com:8443/••••[0-9a-f]{8}", masked)
        WebhookParameters.model_validate({"url": masked})

    def test_the_reference_depends_on_value_and_job_and_tells_nothing(self):
        first = mask("CAAuth a", owner=7)

        assert re.fullmatch("••••[0-9a-f]{8}", first)
        assert first == mask("CAAuth a", owner=7)
        assert len({first, mask("CAAuth b", owner=7), mask("CAAuth a", owner=8)}) == 3

    def test_masked_spec_masks_only_the_secrets(self):
        job = job_with(
            webhook("https://hooks.example.com/x", authorization="CAAuth t"), webhook("https://plain.example.com/")
        )

        data, fields = masked_spec(job)

        assert fields == ["post_processing.on_success.0.parameters.authorization"]
        steps = data["post_processing"]["on_success"]
        assert steps[0]["parameters"] == {
            "url": "https://hooks.example.com/x", "authorization": mask("CAAuth t", owner=7), "timeout_seconds": 30
        }
        assert steps[1]["parameters"]["url"] == "https://plain.example.com/"


class TestKeepMaskedSecrets:
    def masked_body(self, job: Job) -> JobBody:
        data, _ = masked_spec(job)
        data.pop("id")
        return JobBody.model_validate(data)

    def test_each_mask_gets_its_value_back_and_the_stored_job_is_read_only_then(self):
        job = job_with(webhook(authorization="CAAuth a"), webhook("https://t@h.example/", authorization="CAAuth b"))
        reads = []

        kept = keep_masked_secrets(self.masked_body(job), job_id=7, current=lambda: reads.append(1) or job)
        plain = keep_masked_secrets(body_with(), job_id=7, current=lambda: reads.append(1))

        assert kept.post_processing == job.post_processing
        assert plain.post_processing.on_success == [] and len(reads) == 1

    def test_a_job_whose_spec_does_not_load_keeps_nothing(self):
        body = self.masked_body(job_with(webhook(authorization="CAAuth a")))

        message = r"^job 7: post_processing\.on_success\.0\.parameters\.authorization: a masked value that stands"
        with pytest.raises(MaskedSecretError, match=message):
            keep_masked_secrets(body, job_id=7, current=lambda: None)

    @pytest.mark.parametrize("value", [MASK, f"CAAuth {MASK}", "x" + mask("CAAuth a", owner=7)])
    def test_a_value_with_the_mask_in_it_is_never_saved_as_the_secret(self, value):
        job = job_with(webhook(authorization="CAAuth a"))
        body = body_with(webhook(authorization=value))

        with pytest.raises(MaskedSecretError, match=r"^job 7: post_processing\.on_success\.0\.parameters\.authoriz"):
            keep_masked_secrets(body, job_id=7, current=lambda: job)


class TestSpecErrors:
    """A broken spec's problems reach every reader of the job (and Airflow's import errors): no secret in them."""

    @pytest.mark.parametrize(
        ("parameters", "problem"),
        [
            (
                {"url": "https://ops:pw-secret-3@hooks.example.com/a b"},
                "parameters.url: the value is not an http or https URL",
            ),
            (
                {"url": "https://hooks.example.com/", "authorization": "CAAuth tok-secret-3 " + "x" * 4096},
                "parameters.authorization: String should have at most 4096 characters",
            ),
            (
                {"webhook_url": ["https://hooks.slack.com/services/tok-secret-3"]},
                "parameters.webhook_url: Input should be",
            ),
        ],
    )
    def test_a_secrets_value_is_never_repeated(self, parameters, problem):
        kind = "slack" if "webhook_url" in parameters else "webhook"
        spec = json.dumps({"id": 3, "name": "j", "action": EC2, "post_processing": {"on_success": [
            {"type": kind, "parameters": parameters}
        ]}})

        with pytest.raises(JobSpecError) as error:
            parse_spec(spec, source="job_3.yaml")

        assert problem in str(error.value)
        assert "secret-3" not in str(error.value)

    def test_a_plain_urls_value_is_still_named(self):
        spec = json.dumps(
            {"id": 3, "name": "j", "action": EC2, "post_processing": {"on_success": [webhook("ftp://x.example/")]}}
        )

        with pytest.raises(JobSpecError, match="parameters.url: 'ftp://x.example/' is not an http or https URL"):
            parse_spec(spec, source="job_3.yaml")

    @pytest.mark.parametrize(
        ("post_processing", "problem"),
        [
            # A mapping where the list of steps belongs (the "-" forgotten).
            (
                {"on_success": {"type": "slack", "parameters": {"webhook_url": "https://h.example/T/B/tok-secret-3"}}},
                "post_processing.on_success: Input should be a valid list",
            ),
            # The URL written where the step's parameters belong.
            (
                {"on_success": [{"type": "webhook", "parameters": "https://h.example/?key=tok-secret-3"}]},
                "post_processing.on_success.0.parameters: Input should be a valid dictionary",
            ),
            # The parameters under a misspelt key.
            (
                {"on_success": [{"type": "webhook", "params": {"authorization": "CAAuth tok-secret-3"}}]},
                "post_processing.on_success.0.params: Extra inputs are not permitted",
            ),
        ],
    )
    def test_a_secret_written_outside_the_parameters_is_never_repeated(self, post_processing, problem):
        spec = json.dumps({"id": 3, "name": "j", "action": EC2, "post_processing": post_processing})

        with pytest.raises(JobSpecError) as error:
            parse_spec(spec, source="job_3.yaml")

        assert problem in str(error.value)
        assert "secret-3" not in str(error.value)

    def test_a_steps_plain_value_is_still_named(self):
        spec = json.dumps({"id": 3, "name": "j", "action": EC2, "post_processing": {"on_success": [
            {**webhook(), "retries": "two"}
        ]}})

        with pytest.raises(JobSpecError, match=r"on_success\.0\.retries: Input should be a valid integer.*\(got 'two'\)"):
            parse_spec(spec, source="job_3.yaml")
