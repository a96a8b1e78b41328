"""A delivery's life: recorded at intake, claimed and processed by a worker through the
topic → handler table, retried, swept up when Redis lost it."""
