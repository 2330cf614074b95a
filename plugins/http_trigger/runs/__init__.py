"""A job's runs: how one starts (:mod:`.start`) and within which limits, and what happened (:mod:`.history`)."""
