"""The one error type irlax raises for bad input.

Every check on user input (a malformed MDP, a demonstration file with the wrong
shape, NaN in a reward) raises :class:`IrlaxError` with a one-line message that
names the problem, so that the command line can print it without a traceback.
"""

from __future__ import annotations


class IrlaxError(ValueError):
    """Bad input to irlax: the message says what is wrong and where."""


class IrlaxWarning(UserWarning):
    """Input irlax accepts but a user should hear about (the command line prints ``irlax: warning: ...``)."""


class IrlaxWriteError(IrlaxError, OSError):
    """An output irlax could not write: a full disk, no permission, a directory or a file in the way.

    Also an :class:`OSError`, whose ``errno`` is the operating system's (``errno.ENOSPC`` for a full disk), so
    code that catches ``OSError`` around writes keeps working.
    """
