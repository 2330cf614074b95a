"""The development launcher: the embedded stack behind ``make run`` and the integration tests.

Not part of the product package: it runs the product from a source checkout (a private PostgreSQL,
a moto server as the demo AWS account, and Airflow's components) on one machine.
"""
