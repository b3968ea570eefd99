"""Typed errors from malls. ``str(error)`` is a Japanese sentence for the 同期ログ and the UI."""


class SyncError(Exception):
    """Base class for everything a sync run reports instead of crashing."""


class MallAuthError(SyncError):
    """The mall refused our credentials (expired key, revoked token)."""


class MallRateLimited(SyncError):
    """The mall asked us to slow down and retries ran out."""


class MallUnavailable(SyncError):
    """5xx, timeouts or connection errors after bounded retries."""


class MallPayloadError(SyncError):
    """The mall answered with something that does not follow its own contract."""


class MallRejected(SyncError):
    """The mall understood the request and refused it; the message carries its reason."""


class LeaseHeld(SyncError):
    """Another sync runner holds the workbook lease."""


class ArchiveUnavailable(SyncError):
    """Orders were archived, but no archive database is configured to look them up in."""
