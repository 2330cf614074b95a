"""A job's runs: how one starts (:mod:`.start`), who started it (:mod:`.sources`), what happened (:mod:`.history`)."""
