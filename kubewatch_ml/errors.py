"""Errors that reach the user as one line that says what failed and what to do."""
from __future__ import annotations

# Exit codes shared by the headless commands (documented in the README).
EXIT_OK = 0
EXIT_USAGE = 2  # bad flags or input
EXIT_CONNECT = 3  # cluster unreachable, bad kubeconfig, auth/TLS failure
EXIT_OUTPUT = 4  # output path not writable


class UserError(Exception):
    """A mistake or an environment problem the user can fix; printed without a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConnectError(UserError):
    """The cluster (or Prometheus) cannot be reached or refuses us: unreachable, TLS, auth, kubeconfig."""

    exit_code = EXIT_CONNECT
