"""What every kind shares: templates, the operator base, and a job with every kind on both outcomes."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.task.trigger_rule import TriggerRule
from http_trigger.dag_builder import build_dag
from http_trigger.jobs.model import Job
from http_trigger.post_processing import POST_PROCESSING, templates
from http_trigger.post_processing.payload import PAYLOAD_KEYS, build_payload
from http_trigger.post_processing.templates import (
    TemplateRenderError,
    check_template,
    render_template,
    single_line,
)
from http_trigger.post_processing.webhook import WebhookPostProcessingOperator
from http_trigger.run_contract import ERROR_XCOM_KEY

from ..post_processing_support import make_context

ACTION = {"type": "ec2_stop_instances", "parameters": {"instance_ids": ["i-0123456789abcdef0"]}}
PAYLOAD = {"name": "Nightly <stop>", "status": "failure", "error": "a & b", "trigger_job_id": 7}
STEPS = {
    "email": {"to": ["ops@example.com"]},
    "slack": {"slack_webhook_conn_id": "slack_ops"},
    "webhook": {"url": "https://hooks.example.com/ops", "authorization_conn_id": "ops_hook_auth"},
    "sns": {"topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"},
    "sqs": {"queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/ops"},
}


class TestTemplates:
    def test_every_payload_key_and_the_payload_itself_are_variables(self):
        source = " ".join(f"{{{{ {key} }}}}" for key in PAYLOAD_KEYS) + " {{ payload | tojson }}"
        assert check_template(source) == source

    @pytest.mark.parametrize(
        ("source", "message"),
        [
            ("{{ nmae }}", "unknown template variable.s. nmae; known: dag_id, dag_run_id, error,"),
            ("{{ conf }} {{ ti }}", "unknown template variable.s. conf, ti;"),
            ("{% if status %}", "template syntax error on line 1: Unexpected end of template"),
            ("a\n{{ name }", "template syntax error on line 2: unexpected '}'"),
            ("{{ 9 ** (9 ** 7) }}", r"^template computes too much: the result of \*\* would be larger than 4096 bits$"),
            ("{{ 'x' * 100001 }}", r"^template computes too much: the result of \* would be larger than 100000 items$"),
            ("{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}", "^template nests expressions too deeply$"),
        ],
    )
    def test_check_refuses(self, source, message):
        with pytest.raises(ValueError, match=message):
            check_template(source)

    def test_check_computes_nothing_but_bounded_powers_of_literals(self, monkeypatch):
        called = []
        monkeypatch.setitem(templates._TEXT.filters, "center", lambda *args: called.append(args))
        source = "{{ 'x' | center(1000000000) }}{{ '%09d' % 7 }}{{ 2 ** 4000 }}{% autoescape 'x' | center(9) %}{% endautoescape %}"

        assert check_template(source) == source
        assert called == []

    @pytest.mark.parametrize(
        ("source", "rendered"),
        [("{{ 2 ** 10 }}", "1024"), ("{{ trigger_job_id * 6 }}", "42"), ("{{ status * 2 }}", "failurefailure")],
    )
    def test_powers_and_repetitions_within_the_bounds_render(self, source, rendered):
        assert render_template(source, PAYLOAD, what="t") == rendered

    @pytest.mark.parametrize(
        ("source", "message"),
        [
            ("{{ trigger_job_id ** 100000 }}", r"SecurityError: the result of \*\* would be larger than 4096 bits$"),
            ("{{ name * 100000 }}", r"SecurityError: the result of \* would be larger than 100000 items$"),
            (
                "{% set n = namespace(x=trigger_job_id) %}{% for _ in range(20) %}{% set n.x = n.x * n.x %}{% endfor %}",
                r"SecurityError: the result of \* would be larger than 4096 bits$",
            ),
        ],
    )
    def test_rendering_refuses_a_power_or_repetition_beyond_the_bounds(self, source, message):
        with pytest.raises(TemplateRenderError, match="^The subject template failed: " + message):
            render_template(source, PAYLOAD, what="subject")

    def test_markups_escape_payload_values_but_not_the_template(self):
        source = "<b>{{ name }}</b> {{ error }}"
        assert render_template(source, PAYLOAD, what="t") == "<b>Nightly <stop></b> a & b"
        escaped = "<b>Nightly &lt;stop&gt;</b> a &amp; b"
        assert render_template(source, PAYLOAD, markup="html", what="t") == escaped
        assert render_template(source, PAYLOAD, markup="slack", what="t") == escaped
        assert render_template("<{{ status }}|x>", PAYLOAD, markup="slack", what="t") == "<failure|x>"

    def test_a_missing_error_renders_empty(self):
        source = "[{% if error %}{{ error }}{% endif %}|{{ error }}]"
        assert render_template(source, {"name": "n"}, what="t") == "[|]"

    @pytest.mark.parametrize(
        "source",
        ["{{ payload.clear() }}", "{{ payload.__class__.__mro__[1].__subclasses__() }}", "{{ 1 / 0 }}"],
    )
    def test_the_sandbox_refuses_anything_but_reading_and_errors_name_the_template(self, source):
        with pytest.raises(TemplateRenderError, match="The body template failed: "):
            render_template(source, dict(PAYLOAD), what="body")

    def test_single_line(self):
        assert single_line(" a\n\tb  c ", 10) == "a b c"
        assert single_line("abcdefghijkl", 5) == "abcd…"


class TestPostProcessingOperator:
    def test_refuses_an_unknown_status(self):
        with pytest.raises(ValueError, match="status must be one of success, failure, got 'done'"):
            WebhookPostProcessingOperator(
                task_id="t", parameters={}, job_id=1, job_name="j", status="done"
            )

    @pytest.mark.parametrize("kind", POST_PROCESSING.values(), ids=POST_PROCESSING.keys())
    def test_invalid_parameters_fail_without_retry_naming_the_kind(self, kind):
        operator = kind.operator_class(
            task_id=f"on_success_1_{kind.name}",
            parameters={"bogus": 1},
            job_id=7,
            job_name="j",
            status="success",
        )
        message = f"Invalid {kind.name} parameters for task on_success_1_{kind.name}: .*bogus: Extra inputs"
        with pytest.raises(AirflowFailException, match=message):
            operator.execute(make_context())

    @pytest.mark.parametrize("kind", POST_PROCESSING.values(), ids=POST_PROCESSING.keys())
    def test_parameters_are_not_rendered_by_airflow(self, kind):
        # The step renders its own templates with the payload; Airflow's context has no {{ name }}.
        assert "parameters" not in kind.operator_class.template_fields

    def test_the_payload_is_built_once_per_run_of_the_step(self, monkeypatch):
        built = []
        operator = WebhookPostProcessingOperator(
            task_id="t", parameters={"url": "https://x.example"}, job_id=7, job_name="j", status="success"
        )
        monkeypatch.setattr("http_trigger.post_processing.base.build_payload",
                            lambda context, **kw: built.append(kw) or build_payload(context, **kw))
        monkeypatch.setattr(type(operator), "send", lambda self, parameters, payload, context: payload)

        payload = operator.execute(make_context())

        assert built == [{"job_id": 7, "job_name": "j", "status": "success"}]
        assert payload["name"] == "j"

    def test_a_failing_step_reports_its_error_without_its_secrets(self, monkeypatch):
        url = "https://hooks.example.com/very-secret-path"
        operator = WebhookPostProcessingOperator(
            task_id="on_success_1_webhook", parameters={"url": url}, job_id=7, job_name="j", status="success"
        )

        def refuse(self, parameters, payload, context):
            raise AirflowException(f"{url} answered 500")

        monkeypatch.setattr(type(operator), "send", refuse)
        context = make_context()

        with pytest.raises(AirflowException, match="answered 500"):
            operator.execute(context)

        assert context["ti"].own == {ERROR_XCOM_KEY: "AirflowException: *** answered 500"}


def job_with_every_kind() -> Job:
    return Job.model_validate(
        {
            "id": 4,
            "name": "Stop test EC2 instances",
            "action": ACTION,
            "post_processing": {
                "on_success": [
                    *({"type": name, "parameters": parameters} for name, parameters in STEPS.items()),
                    {"type": "webhook", "retries": 0, "parameters": {"url": "https://second.example"}},
                ],
                "on_failure": [
                    {"type": "email", "retries": 10, "parameters": {"to": ["oncall@example.com"]}},
                    {"type": "email", "parameters": {"to": ["lead@example.com"]}},
                    {"type": "sqs", "parameters": STEPS["sqs"]},
                ],
            },
        }
    )


class TestJobWithEveryKind:
    def test_each_step_is_a_teardown_task_with_its_rule_and_retries(self):
        dag = build_dag(job_with_every_kind())

        assert dag.get_task("action").downstream_task_ids == {
            "on_success_1_email", "on_success_2_slack", "on_success_3_webhook", "on_success_4_sns",
            "on_success_5_sqs", "on_success_6_webhook",
            "on_failure_1_email", "on_failure_2_email", "on_failure_3_sqs",
        }
        for task_id in dag.get_task("action").downstream_task_ids:
            task = dag.get_task(task_id)
            status = task_id.split("_")[1]
            assert task.is_teardown
            assert task.status == status
            rule = TriggerRule.ALL_SUCCESS if status == "success" else TriggerRule.ALL_FAILED
            assert task.trigger_rule == rule
            assert task.job_id == 4
        retries = {task_id: dag.get_task(task_id).retries for task_id in dag.task_ids if task_id != "action"}
        assert retries == {**dict.fromkeys(retries, 2), "on_success_6_webhook": 0, "on_failure_1_email": 10}
        assert dag.get_task("on_success_2_slack").parameters["slack_webhook_conn_id"] == "slack_ops"

    def test_spec_keeps_each_kinds_defaults_and_no_empty_fields(self):
        job = job_with_every_kind()
        email = job.post_processing.on_success[0]
        assert (email.retries, email.parameters["smtp_conn_id"]) == (2, "smtp_default")
        assert "from_email" not in email.parameters
        assert job.post_processing.on_success[3].parameters["aws_conn_id"] == "aws_default"

    @pytest.mark.parametrize("retries", [-1, 11, "many"])
    def test_retries_out_of_range_are_refused(self, retries):
        with pytest.raises(ValueError, match="post_processing.on_success.0.retries"):
            Job.model_validate(
                {
                    "id": 4,
                    "name": "n",
                    "action": ACTION,
                    "post_processing": {"on_success": [{"type": "webhook", "retries": retries,
                                                        "parameters": {"url": "https://x.example"}}]},
                }
            )


def test_payload_keys_list_every_key_a_payload_has_in_order():
    context = make_context(error="AirflowException: boom")
    payload = build_payload(context, job_id=7, job_name="j", status="failure")
    assert tuple(payload) == PAYLOAD_KEYS
