"""The two kinds of failure a worker tells apart."""


class TransientError(Exception):
    """Worth retrying: the outside world (Shopify, a provider, the database) is briefly unwell."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Retrying cannot help: the input is not what its sender documents."""
