"""One real run per service family of the compute and utility actions, on Airflow processes and moto server.

The module creates every job through the JSON API and triggers them all at once (the runs go on
side by side); each test then waits for its own run to succeed and reads the AWS state in moto.
moto server is switched to its Docker-free Lambda, to really running Step Functions state machines,
and to stopping ECS tasks at once, through its own ``/moto-api`` routes.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from devstack import demo
from devstack.stack import EmbeddedStack

from .conftest import WebhookReceiver, wait_for

pytestmark = pytest.mark.integration
PREFIX = "compute"


@dataclass
class StartedRun:
    job: dict[str, Any]
    dag_run_id: str


def aws(stack: EmbeddedStack, service: str):
    return boto3.client(
        service, region_name=demo.REGION, endpoint_url=stack.moto_url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def configure_moto(stack: EmbeddedStack) -> None:
    config = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
    httpx.post(f"{stack.moto_url}/moto-api/config", json=config).raise_for_status()
    transition = {"model_name": "ecs::task", "transition": {"progression": "immediate"}}
    httpx.post(f"{stack.moto_url}/moto-api/state-manager/set-transition", json=transition).raise_for_status()


def create_resources(stack: EmbeddedStack) -> dict[str, Any]:
    """Create what the jobs act on in moto; return the ids the jobs need."""
    role = aws(stack, "iam").create_role(RoleName=f"{PREFIX}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    aws(stack, "lambda").create_function(
        FunctionName=f"{PREFIX}-echo", Runtime="python3.12", Role=role, Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
    )

    ecs, ec2 = aws(stack, "ecs"), aws(stack, "ec2")
    ecs.create_cluster(clusterName=PREFIX)
    ecs.register_task_definition(
        family=f"{PREFIX}-report", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "report", "image": "busybox", "memory": 512}],
    )
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    security_group = ec2.create_security_group(GroupName=f"{PREFIX}-tasks", Description="tasks")["GroupId"]

    image_id = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    autoscaling = aws(stack, "autoscaling")
    autoscaling.create_launch_configuration(
        LaunchConfigurationName=f"{PREFIX}-web", ImageId=image_id, InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=f"{PREFIX}-web", LaunchConfigurationName=f"{PREFIX}-web", MinSize=0, MaxSize=4,
        DesiredCapacity=1, AvailabilityZones=[f"{demo.REGION}a"],
        Tags=[{"Key": "Env", "Value": PREFIX, "PropagateAtLaunch": False}],
    )
    ec2.run_instances(
        ImageId=image_id, MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": f"{PREFIX}-ssm"}]}],
    )

    state_machine = aws(stack, "stepfunctions").create_state_machine(
        name=f"{PREFIX}-export", roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]

    aws(stack, "redshift").create_cluster(
        ClusterIdentifier=f"{PREFIX}-analytics", NodeType="ra3.xlplus", MasterUsername="admin",
        MasterUserPassword="Password1", Tags=[{"Key": "Env", "Value": PREFIX}],
    )
    aws(stack, "route53").create_hosted_zone(Name=f"{PREFIX}.example", CallerReference=PREFIX)
    return {"subnet": subnet, "security_group": security_group, "state_machine": state_machine}


def job_specs(resources: dict[str, Any], receiver: WebhookReceiver) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return each family's action: {family: (action type, parameters)}."""
    return {
        "lambda": ("lambda_invoke_function", {"function_name": f"{PREFIX}-echo", "payload": {"day": "monday"}}),
        "ecs": ("ecs_run_task", {
            "cluster": PREFIX, "task_definition": f"{PREFIX}-report", "count": 2,
            "subnets": [resources["subnet"]], "security_groups": [resources["security_group"]],
        }),
        "autoscaling": ("autoscaling_update_group_capacity", {"tag_key": "Env", "tag_value": PREFIX,
                                                              "desired_capacity": 2}),
        "ssm": ("ssm_run_command", {"tag_key": "Role", "tag_value": f"{PREFIX}-ssm", "commands": ["uptime"]}),
        "stepfunctions": ("stepfunctions_start_execution", {"state_machine_arn": resources["state_machine"],
                                                            "input": {"day": "monday"}}),
        "redshift": ("redshift_pause_cluster", {"tag_key": "Env", "tag_value": PREFIX}),
        "route53": ("route53_upsert_record", {"hosted_zone_name": f"{PREFIX}.example",
                                              "record_name": f"www.{PREFIX}.example", "values": ["192.0.2.10"]}),
        # A minute: the shortest wait that defers to the triggerer.
        "utility": ("utility_delay", {"minutes": 1}),
    }


def create_job(api: httpx.Client, receiver: WebhookReceiver, family: str, action_type: str,
               parameters: dict[str, Any]) -> dict[str, Any]:
    body = {
        "name": f"{PREFIX}-{family}",
        "group": "integration",
        "action": {"type": action_type, "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters": parameters},
        "post_processing": {
            "on_success": [{"type": "webhook", "parameters": {"url": f"{receiver.url}/success/{PREFIX}-{family}"}}],
        },
    }
    response = api.post("/http-trigger/api/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def loaded(api: httpx.Client, job: dict[str, Any]) -> bool:
    return api.get(f"/http-trigger/api/jobs/{job['id']}").json()["is_paused"] is not None


@pytest.fixture(scope="module")
def runs(stack: EmbeddedStack, api: httpx.Client, webhook_receiver: WebhookReceiver) -> dict[str, StartedRun]:
    """Create one job per family, wait until Airflow has them all, and trigger them together."""
    configure_moto(stack)
    resources = create_resources(stack)
    jobs = {
        family: create_job(api, webhook_receiver, family, action_type, parameters)
        for family, (action_type, parameters) in job_specs(resources, webhook_receiver).items()
    }
    wait_for(lambda: all(loaded(api, job) for job in jobs.values()), what="the compute jobs to be loaded")
    started = {}
    for family, job in jobs.items():
        response = httpx.post(
            job["trigger_url"], headers={"Authorization": f"CAAuth {job['token']}", "Content-Length": "0"}, timeout=30
        )
        assert response.status_code == 200, response.text
        started[family] = StartedRun(job=job, dag_run_id=response.json()["dag_run_id"])
    return started


def succeeded(api: httpx.Client, run: StartedRun) -> Any:
    """Wait for the run to end; on success return the action's result (its XCom), else fail with the log."""
    dag_id, run_id = run.job["dag_id"], run.dag_run_id
    state = wait_for(
        lambda: (s := api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]) in ("success", "failed")
        and s,
        timeout=240, what=f"run {run_id} of {dag_id} to finish",
    )
    if state != "success":
        log = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/action/logs/1",
                      headers={"Accept": "text/plain"})
        pytest.fail(f"{dag_id} run {run_id} {state}:\n{log.text[-3000:]}")
    xcom = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/action/xcomEntries/return_value")
    assert xcom.status_code == 200, xcom.text
    value = xcom.json()["value"]
    return json.loads(value) if isinstance(value, str) else value


def test_lambda_invokes_the_function(stack, api, runs):
    result = succeeded(api, runs["lambda"])
    # moto's Docker-free Lambda answers with the event it received.
    assert json.loads(result["payload"]) == {"day": "monday"}
    assert result["status_code"] == 200


def test_ecs_runs_the_tasks_until_they_stop(stack, api, runs):
    result = succeeded(api, runs["ecs"])
    ecs = aws(stack, "ecs")
    tasks = ecs.describe_tasks(cluster=PREFIX, tasks=ecs.list_tasks(cluster=PREFIX)["taskArns"])["tasks"]
    assert sorted(t["taskArn"] for t in tasks) == sorted(result["task_arns"])
    states = {(task["lastStatus"], task["startedBy"], task["launchType"]) for task in tasks}
    assert states == {("STOPPED", "http-trigger", "FARGATE")}


def test_autoscaling_sets_the_tagged_groups_capacity(stack, api, runs):
    succeeded(api, runs["autoscaling"])
    [group] = aws(stack, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{PREFIX}-web"]
    )["AutoScalingGroups"]
    assert group["DesiredCapacity"] == 2
    assert [i["LifecycleState"] for i in group["Instances"]] == ["InService", "InService"]


def test_ssm_runs_the_command_on_the_tagged_instances(stack, api, runs):
    result = succeeded(api, runs["ssm"])
    [command] = aws(stack, "ssm").list_commands(CommandId=result["command_id"])["Commands"]
    assert command["Parameters"]["commands"] == ["uptime"]
    assert command["Targets"] == [{"Key": "tag:Role", "Values": [f"{PREFIX}-ssm"]}]
    assert list(result["instances"].values()) == [{"status": "Success", "response_code": 0}]


def test_stepfunctions_runs_the_execution_to_its_end(stack, api, runs):
    result = succeeded(api, runs["stepfunctions"])
    execution = aws(stack, "stepfunctions").describe_execution(executionArn=result["execution_arn"])
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["input"]) == {"day": "monday"}
    assert execution["name"].startswith(f"{runs['stepfunctions'].job['dag_id']}-")


def test_redshift_pauses_the_tagged_cluster(stack, api, runs):
    succeeded(api, runs["redshift"])
    [cluster] = aws(stack, "redshift").describe_clusters(ClusterIdentifier=f"{PREFIX}-analytics")["Clusters"]
    assert cluster["ClusterStatus"] == "paused"


def test_route53_upserts_the_record(stack, api, runs):
    result = succeeded(api, runs["route53"])
    record_sets = aws(stack, "route53").list_resource_record_sets(HostedZoneId=result["hosted_zone_id"])
    a_records = [r for r in record_sets["ResourceRecordSets"] if r["Type"] == "A"]
    assert a_records == [{"Name": f"www.{PREFIX}.example.", "Type": "A", "TTL": 300,
                          "ResourceRecords": [{"Value": "192.0.2.10"}]}]


def test_utility_delay_waits_in_the_triggerer_then_notifies(stack, api, runs, webhook_receiver):
    result = succeeded(api, runs["utility"])
    assert result["delayed_minutes"] == 1
    [received] = wait_for(lambda: webhook_receiver.to(f"/success/{PREFIX}-utility"), what="the success webhook")
    assert received.body["status"] == "success"
