"""Waits in the triggerer: when an action defers, with which trigger, and how it ends when it resumes.

The actions run against moto in-process. ECS tasks move one step towards STOPPED each time they
are described, so a run-task wait is not final at its first check and defers; EC2 instances
start at once, so their wait is final at the first check and does not.
"""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, TaskDeferralError, TaskDeferred

from http_trigger.actions.aws import ecs as ecs_helpers
from http_trigger.actions.ec2 import EC2StartInstancesOperator
from http_trigger.actions.ecs import EcsRunTasksOperator
from http_trigger.actions.waiting import OUT_OF_CHECKS, Wait, WaitTrigger
from http_trigger.run_contract import ERROR_XCOM_KEY

from .ec2_support import create_instances
from .support import (
    REGION,
    RecordingTaskInstance,
    finish_deferred,
    make_operator,
    moto_account,
    resume,
    run,
    task_context,
)
from .test_ecs import Account as EcsAccount
from .test_ecs import crashing_containers  # noqa: F401 (a fixture)


@pytest.fixture
def ecs_account():
    with moto_account():
        yield EcsAccount()


@pytest.fixture
def ec2():
    with moto_account():
        yield boto3.client("ec2", region_name=REGION)


def defer(operator_class: type, parameters: dict, *, ti: RecordingTaskInstance | None = None, **kwargs):
    """Run the action until it defers; return the operator, its context and the deferral."""
    operator = make_operator(operator_class, parameters, deferrable=True, **kwargs)
    context = task_context(ti=ti)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    return operator, context, deferred.value


class TestDeferral:
    def test_a_wait_not_final_at_the_first_check_defers_to_a_wait_trigger(self, ecs_account):
        operator, _, deferred = defer(
            EcsRunTasksOperator, ecs_account.fargate(count=2), waiter_delay=7, waiter_max_attempts=40
        )

        task_arns = sorted(task["taskArn"] for task in ecs_account.tasks())
        classpath, kwargs = deferred.trigger.serialize()
        assert classpath == "http_trigger.actions.waiting.WaitTrigger"
        assert kwargs["client_type"] == "ecs"
        assert kwargs["region_name"] == "us-east-1"
        assert (kwargs["waiter_delay"], kwargs["waiter_max_attempts"]) == (7, 39)
        wait = Wait(**kwargs["wait"])
        assert wait.waiter_name == "tasks_stopped"
        assert wait.args["cluster"] == "batch"
        assert sorted(wait.args["tasks"]) == task_arns
        assert wait.final_state == "stopped"
        assert (
            wait.resources.startswith("ECS tasks ")
            and "of task definition report on ECS cluster batch" in wait.resources
        )
        assert deferred.method_name == "resume_after_wait"
        assert deferred.kwargs["then"] == "check_exit_codes"
        assert deferred.kwargs["checks"] == 40
        # Only a stopped triggerer lets the deferral time out: the trigger gives up first.
        assert deferred.timeout > timedelta(seconds=7 * 39)

    def test_the_trigger_rebuilds_itself_from_what_it_serializes(self, ecs_account):
        _, _, deferred = defer(EcsRunTasksOperator, ecs_account.fargate())

        classpath, kwargs = deferred.trigger.serialize()
        again = WaitTrigger(**kwargs)

        assert again.serialize() == (classpath, kwargs)
        assert (again.wait, again.client_type) == (deferred.trigger.wait, "ecs")

    def test_the_trigger_makes_no_more_checks_than_fit_in_the_execution_timeout(self, ecs_account):
        _, _, deferred = defer(
            EcsRunTasksOperator,
            ecs_account.fargate(),
            waiter_delay=10,
            waiter_max_attempts=720,
            execution_timeout=timedelta(minutes=5),
        )

        assert deferred.trigger.attempts == 30
        assert deferred.kwargs["checks"] == 31

    def test_a_wait_final_at_the_first_check_does_not_defer(self, ec2):
        instance_ids = create_instances(ec2, 2, env="test")
        ec2.stop_instances(InstanceIds=instance_ids)

        operator = make_operator(EC2StartInstancesOperator, {"instance_ids": instance_ids}, deferrable=True)
        result = operator.execute(task_context())

        assert result == {
            "instance_ids": instance_ids,
            "states": dict.fromkeys(instance_ids, "running"),
            "waited": True,
        }

    def test_deferrable_by_default_and_as_the_option_says(self, monkeypatch):
        assert make_operator(EcsRunTasksOperator, None).deferrable is True

        monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__DEFERRABLE_WAITS", "False")
        assert make_operator(EcsRunTasksOperator, None).deferrable is False
        assert make_operator(EcsRunTasksOperator, None, deferrable=True).deferrable is True


class TestResume:
    def test_a_success_event_ends_as_the_wait_in_the_worker_does(self, ecs_account):
        operator, context, deferred = defer(EcsRunTasksOperator, ecs_account.fargate(count=2))
        task_arns = [task["taskArn"] for task in ecs_account.tasks()]
        for _ in range(5):
            # Each look moves moto's tasks one step towards STOPPED.
            ecs_account.tasks()
        assert {task["lastStatus"] for task in ecs_account.tasks()} == {"STOPPED"}

        result = resume(operator, deferred, {"status": "success", "resources": "ECS tasks"}, context)

        in_the_worker = run(EcsRunTasksOperator, ecs_account.fargate(count=2), deferrable=False)
        assert (
            set(result)
            == set(in_the_worker)
            == {
                "cluster",
                "task_definition",
                "task_arns",
                "waited",
                "exit_codes",
            }
        )
        assert sorted(result["task_arns"]) == sorted(task_arns)
        assert result["exit_codes"] == {arn.rsplit("/", 1)[-1]: {"report": 0} for arn in task_arns}

    @pytest.mark.usefixtures("crashing_containers")
    def test_a_success_event_still_checks_the_exit_codes(self, ecs_account):
        ti = RecordingTaskInstance()
        operator, context, deferred = defer(EcsRunTasksOperator, ecs_account.fargate(), ti=ti)
        for _ in range(5):
            ecs_account.tasks()

        with pytest.raises(AirflowException, match=r"container report exited with code 3"):
            resume(operator, deferred, {"status": "success"}, context)
        assert "exited with code 3" in ti.pushed[ERROR_XCOM_KEY]

    def test_running_out_of_checks_fails_naming_the_tasks_and_stops_them(self, ecs_account):
        ti = RecordingTaskInstance()
        operator, context, deferred = defer(
            EcsRunTasksOperator, ecs_account.fargate(), ti=ti, waiter_max_attempts=3
        )
        event = {"status": "error", "message": "Waiter error: max attempts reached", "reason": OUT_OF_CHECKS}

        with pytest.raises(
            AirflowException,
            match=r"ECS tasks [\w-]+ of task definition report on ECS cluster batch were not all stopped "
            r"after 3 checks: Waiter error: max attempts reached",
        ):
            resume(operator, deferred, event, context)

        assert ti.pushed[ERROR_XCOM_KEY].startswith("AirflowException: ECS tasks ")
        [task] = ecs_account.tasks()
        assert task["desiredStatus"] == "STOPPED"
        assert task["stoppedReason"] == "Airflow task stopped waiting"

    def test_a_failure_state_fails_with_the_triggers_words(self, ecs_account):
        operator, context, deferred = defer(EcsRunTasksOperator, ecs_account.fargate())
        message = (
            "ECS tasks abc of task definition report on ECS cluster batch did not become stopped: MISSING"
        )

        with pytest.raises(AirflowException, match=f"^{message}$"):
            resume(operator, deferred, {"status": "error", "message": message}, context)

    def test_no_event_fails_as_the_providers_operators_do(self, ecs_account):
        operator, context, deferred = defer(EcsRunTasksOperator, ecs_account.fargate())

        with pytest.raises(AirflowException, match="Trigger error: event is None"):
            resume(operator, deferred, None, context)

    def test_a_failed_trigger_is_reported_to_the_notifications(self, ecs_account):
        ti = RecordingTaskInstance()
        operator, context, _ = defer(EcsRunTasksOperator, ecs_account.fargate(), ti=ti)

        with pytest.raises(TaskDeferralError, match="Trigger crashed"):
            operator.resume_execution("__fail__", {"error": "Trigger crashed"}, context)
        assert ti.pushed[ERROR_XCOM_KEY] == "TaskDeferralError: Trigger crashed"

    def test_the_parameters_come_from_the_run_conf_again_when_resuming(self, ecs_account):
        conf = ecs_account.fargate()
        operator = make_operator(EcsRunTasksOperator, None, deferrable=True)
        context = task_context(conf=conf)
        with pytest.raises(TaskDeferred) as deferred:
            operator.execute(context)

        result = finish_deferred(operator, deferred.value, context)

        assert result["waited"] is True
        assert list(result["exit_codes"].values()) == [{"report": 0}]


class TestWaitsInTurn:
    def test_each_wait_may_defer_and_the_task_resumes_at_the_next_one(self, ecs_account):
        """The waits one resource at a time (Redshift clusters, Auto Scaling groups) chain deferrals."""
        operator = make_operator(EcsRunTasksOperator, ecs_account.fargate(), deferrable=True)
        context = task_context()
        parameters = operator.validated_parameters(context)
        first, second = (
            ecs_helpers.run_tasks(
                operator.hook,
                cluster="batch",
                task_definition="report",
                count=1,
                launch_type="FARGATE",
                network=ecs_helpers.network_configuration(
                    subnets=[ecs_account.subnet],
                    security_groups=[ecs_account.security_group],
                    assign_public_ip=None,
                ),
            )
            for _ in range(2)
        )
        waits = [ecs_helpers.tasks_wait("batch", arns, task_definition="report") for arns in (first, second)]
        summary = {
            "cluster": "batch",
            "task_definition": "report",
            "task_arns": first + second,
            "waited": True,
        }

        with pytest.raises(TaskDeferred) as deferred:
            operator.wait_each_then(context, parameters, waits, then="check_exit_codes", summary=summary)
        assert deferred.value.kwargs["then"] == "_wait_next"
        assert deferred.value.kwargs["state"]["after"] == "check_exit_codes"
        assert [Wait(**wait) for wait in deferred.value.kwargs["state"]["waits"]] == [waits[1]]

        result = finish_deferred(operator, deferred.value, context)

        assert result["exit_codes"] == {arn.rsplit("/", 1)[-1]: {"report": 0} for arn in first + second}
        assert {task["lastStatus"] for task in ecs_account.tasks()} == {"STOPPED"}
