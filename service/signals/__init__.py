"""Store events and reviews read as signs of an unhappy customer, folded into incidents."""
