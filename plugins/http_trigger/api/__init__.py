"""The plugin's FastAPI application, mounted by Airflow's API server under ``/http-trigger``."""
