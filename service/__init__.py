"""Clout: every unhappy Shopify customer gets attention; influence can only raise it."""
