"""The attention floor and everything past it: the policy, tags in Shopify, escalation,
reconciliation and fairness."""
