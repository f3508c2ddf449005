"""Uploaded files, served so they can be sent to the bot as a `data_url` (docs/protocol.md §4)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, send_file

from apichat.media import guess_type, media_path

bp = Blueprint("media", __name__)
INLINE_TYPES = ("image/", "audio/", "video/", "text/plain", "application/pdf")


@bp.get("/media/<token>/<filename>")
def media(token: str, filename: str):
    path = media_path(current_app.extensions["apichat"]["settings"].media_dir, token, filename)  # no traversal, no symlinks, regular files only
    if path is None:
        return jsonify(status="error", reason="no such file"), 404
    mimetype = guess_type(filename)
    inline = mimetype.startswith(INLINE_TYPES)
    response = send_file(path, mimetype=mimetype, as_attachment=not inline, download_name=filename,
                         max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
