"""Airflow DAG factory of http-trigger: every job's DAG.

`airflow http-trigger factory write` writes this file; see http_trigger.factory_files.
"""

# Imported once by the DAG processor for all its parses (see PRE_IMPORTED).
import airflow.providers.amazon.aws.hooks.base_aws  # noqa: F401
import airflow.providers.amazon.aws.hooks.ecs  # noqa: F401
import airflow.providers.amazon.aws.hooks.rds  # noqa: F401
import airflow.providers.amazon.aws.operators.base_aws  # noqa: F401
import airflow.providers.amazon.aws.triggers.base  # noqa: F401
import airflow.providers.http.hooks.http  # noqa: F401
import airflow.providers.slack.hooks.slack_webhook  # noqa: F401
import airflow.providers.smtp.hooks.smtp  # noqa: F401

from http_trigger.factory_files import Shard

SHARD = Shard(index=0, count=1)
if SHARD.has_jobs():
    from http_trigger.dag_builder import build_dags

    globals().update(build_dags(shard=SHARD))
