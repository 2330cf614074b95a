"""The plugin's own tables in the Airflow metadata database, migrated by ``airflow db migrate``.

The models live on the package's own ``MetaData`` so Airflow's migrations never see them; the
:class:`~http_trigger.db.manager.HttpTriggerDBManager` creates and upgrades them instead.
"""
