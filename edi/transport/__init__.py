"""Getting files to and from a clearinghouse: 837s into its outbox, TA1, 999, 277CA and 835 files out of
its inbox. Two kinds: ``directory`` (plain folders) and ``sftp`` (paramiko; see :mod:`edi.transport.sftp`).

    with open_transport(config, clearinghouse="synthhub") as mailbox:
        mailbox.upload("out/synthhub-000000001.837", "synthhub-000000001.837")
        inbox = mailbox.list_inbox()                  # the files that can be fetched, by name
        for remote in inbox:
            mailbox.download(remote.name, Path("inbox") / remote.name)
            mailbox.after_fetch(remote.name)          # leave, delete or move, as configured
        for name, reason in inbox.skipped:            # names no transport can fetch safely, set aside
            print(f"not fetched: {name!r} {reason}")

Every failure is a ``TransportError`` with a stable ``code`` and a one-line message that never holds a
secret. This package knows files, not claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edi.transport.base import (
    AFTER_FETCH,
    KINDS,
    MIN_TRANSFER_RATE,
    REMOTE_NAME_FIELDS,
    AlreadyExists,
    AuthFailed,
    BadName,
    ConnectFailed,
    HostKeyChanged,
    HostKeyError,
    HostKeyUnknown,
    Inbox,
    KeyFileError,
    NotFound,
    RemoteFile,
    SkippedFile,
    Transport,
    TransportConfig,
    TransportConfigError,
    TransportError,
    TransportTimeout,
    after_fetch_problem,
    format_remote_name,
    is_env_name,
    name_problem,
    remote_name_pattern_problem,
)

if TYPE_CHECKING:
    import paramiko

__all__ = [
    "AFTER_FETCH", "KINDS", "MIN_TRANSFER_RATE", "REMOTE_NAME_FIELDS", "AlreadyExists", "AuthFailed", "BadName",
    "ConnectFailed", "HostKeyChanged", "HostKeyError", "HostKeyUnknown", "Inbox", "KeyFileError", "NotFound",
    "RemoteFile", "SkippedFile", "Transport", "TransportConfig", "TransportConfigError", "TransportError",
    "TransportTimeout", "after_fetch_problem", "fetch_host_key", "format_remote_name", "is_env_name",
    "name_problem", "open_transport", "remote_name_pattern_problem", "trust_host_key",
]


def open_transport(config: TransportConfig, *, clearinghouse: str, **options: Any) -> Transport:
    """The transport ``config`` describes, for the clearinghouse named ``clearinghouse`` (used in messages).
    Use it in a ``with`` block: entering connects, leaving disconnects. ``options`` go to the transport's
    constructor (``sleep=`` for the SFTP retries)."""
    if config.kind == "directory":
        from edi.transport.directory import DirectoryTransport

        return DirectoryTransport(config, clearinghouse=clearinghouse)
    if config.kind == "sftp":
        from edi.transport.sftp import SFTPTransport  # paramiko is imported only when SFTP is used

        return SFTPTransport(config, clearinghouse=clearinghouse, **options)
    raise TransportConfigError(f"{clearinghouse}: transport kind {config.kind!r} is not one of: {', '.join(KINDS)}")


def fetch_host_key(config: TransportConfig, *, clearinghouse: str = "") -> tuple[str, str, paramiko.PKey]:
    """The SFTP server's host key as ``(key type, SHA256 fingerprint, key)``, unchecked, without logging in
    (the first step of ``edi transport trust NAME``)."""
    from edi.transport import sftp

    return sftp.fetch_host_key(config, clearinghouse=clearinghouse)


def trust_host_key(config: TransportConfig, key: paramiko.PKey, *, replace: bool = False) -> bool:
    """Append ``key`` to the configured known_hosts file for the SFTP server (created 0600); False when it
    was there already. Another key of the same type is refused unless ``replace``."""
    from edi.transport import sftp

    return sftp.trust_host_key(config, key, replace=replace)
