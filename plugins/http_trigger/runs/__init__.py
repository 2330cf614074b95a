"""A job's runs: how one is started (:mod:`.start`), where it came from (:mod:`.sources`), what happened (:mod:`.history`)."""
