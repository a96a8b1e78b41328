"""The `clout` command's groups beyond running the service: a store's settings, its open
cases, its subscriptions and review apps, and `clout doctor`."""
