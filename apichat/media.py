"""Files the contact sends: kept under the media dir and served by the receiver as /media/<token>/<name>."""

from __future__ import annotations

import mimetypes
import os
import re
import secrets
import stat

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadError(ValueError):
    """An upload that cannot be kept; the message says why."""


def clean_filename(name: str) -> str:
    """A file name safe in a URL and on disk: no folders, no leading dots, nothing exotic."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = NAME_RE.sub("_", base).strip("._") or "file"
    return base[:120]


def save_upload(media_dir: str, filename: str, data: bytes) -> tuple[str, str]:
    """Keep `data` under a fresh unguessable token; returns (token, clean file name)."""
    if not data:
        raise UploadError(f"{filename or 'the file'} is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"{filename} is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MiB")
    token = secrets.token_urlsafe(12)
    name = clean_filename(filename)
    folder = os.path.join(media_dir, token)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(data)
    return token, name


def media_path(media_dir: str, token: str, name: str) -> str | None:
    """The path of a saved file `name` under `token`, or None when there is no such file to serve.

    Only a regular file directly inside the token's folder qualifies: the names must be ones
    `save_upload` makes, and neither the folder nor the file may be a symlink (which could point
    anywhere on disk, e.g. at the store) — `send_from_directory` alone would follow one.
    """
    if not isinstance(token, str) or not isinstance(name, str):
        return None
    if not TOKEN_RE.match(token) or clean_filename(name) != name:
        return None
    root = os.path.realpath(media_dir)  # the media dir itself may be a symlink the user chose
    folder = os.path.join(root, token)
    path = os.path.join(folder, name)
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode) or not stat.S_ISREG(os.lstat(path).st_mode):
            return None  # a symlink, a FIFO, a device or nothing at all
    except OSError:
        return None
    return path if os.path.realpath(path) == path else None


def media_url(public_url: str, token: str, name: str) -> str:
    return f"{public_url.rstrip('/')}/media/{token}/{name}"


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
