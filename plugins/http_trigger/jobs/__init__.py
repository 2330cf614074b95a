"""What a job is and where it is kept: its model, its spec file, its access, its audit trail."""
