"""``python -m http_trigger.cli``: the ``http-trigger`` command, where its script is not on the path."""

from http_trigger.cli import console_main

console_main()
