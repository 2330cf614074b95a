"""The secrets of a job: its trigger's URL id, token and signing secret, and the secret values in its spec."""
