"""The product: which commands and parts make up the bot (:mod:`chatops.product`) and the
``chatops`` command that runs it (:mod:`chatops.main`). The top layer: it imports ``commands/`` and
``bot/``; nothing imports it."""
