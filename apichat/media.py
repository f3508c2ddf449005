"""Files the contact sends: kept under the media dir and served by the receiver as /media/<token>/<name>."""

from __future__ import annotations

import mimetypes
import os
import re
import secrets

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


def media_url(public_url: str, token: str, name: str) -> str:
    return f"{public_url.rstrip('/')}/media/{token}/{name}"


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
