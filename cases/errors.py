class CaseError(Exception):
    """A request the user can correct: shown to them as-is, never a 500.

    `code` is a stable machine-readable name for API clients.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code
