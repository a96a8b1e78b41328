"""The agents' page: attention queue, picture, accounts."""
