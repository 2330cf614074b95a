# The Airflow image of docker-compose.yaml: the official Airflow 3.3.2 image (Python 3.11) with
# http-trigger installed at the exact versions of its lock, requirements.txt, and its DAG factory
# files in the DAGs folder: HTTP_TRIGGER_FACTORY_FILES of them, the jobs split by id among them, so a
# job change makes Airflow re-parse one share of the jobs (about one file per 100 jobs). The job spec files are not part of the image: they live in the volume
# mounted at /opt/airflow/jobs ([http_trigger] jobs_folder in docker-compose.yaml).
FROM apache/airflow:3.3.2-python3.11

USER root
RUN mkdir -p /opt/airflow/jobs /opt/http-trigger \
    && chown -R airflow:0 /opt/airflow/jobs /opt/http-trigger \
    && chmod -R g+rwX /opt/airflow/jobs
USER airflow

# The lock first, so that changing the package's code does not reinstall its dependencies.
COPY --chown=airflow:0 requirements.txt /opt/http-trigger/requirements.txt
RUN pip install --no-cache-dir -r /opt/http-trigger/requirements.txt

# The package itself, built with the lock's setuptools (no build isolation: nothing unpinned).
COPY --chown=airflow:0 pyproject.toml /opt/http-trigger/pyproject.toml
COPY --chown=airflow:0 plugins /opt/http-trigger/plugins
RUN pip install --no-cache-dir --no-deps --no-build-isolation /opt/http-trigger

ARG HTTP_TRIGGER_FACTORY_FILES=8
RUN http-trigger factory write /opt/airflow/dags --shards "$HTTP_TRIGGER_FACTORY_FILES"
COPY --chown=airflow:0 dags/example_jobs /opt/http-trigger/example_jobs
