"""The job management pages shown inside Airflow's UI: small server-rendered shells and plain JavaScript.

The shells carry no job data; the scripts read and change everything through the same JSON API
the CLI's users script against (``/http-trigger/api/...``) and Airflow's REST API (``/api/v2/...``),
with the user's Airflow login cookie.
"""
