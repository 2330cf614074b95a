"""Airflow DAG factory of http-trigger: every job's DAG.

`airflow http-trigger factory write` writes this file; see http_trigger.factory_files.
"""

from http_trigger.factory_files import Shard

SHARD = Shard(index=0, count=1)
if SHARD.has_jobs():
    from http_trigger.dag_builder import build_dags

    globals().update(build_dags(shard=SHARD))
