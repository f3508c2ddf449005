"""Regenerates the demo bot's media files in sandbox/media with the standard library alone.

`python -m sandbox.make_media` writes the PNG pictures, the WAV chime and the PDF price list.
The video was made once with ffmpeg (not needed at runtime) and is committed as it is:
    ffmpeg -f lavfi -i testsrc=size=160x120:rate=15:duration=2 -c:v libvpx -b:v 120k -an clip.webm
"""

from __future__ import annotations

import math
import os
import struct
import wave
import zlib

MEDIA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "media")


def png(width: int, height: int, pixel) -> bytes:
    """An RGB PNG whose colour at (x, y) is `pixel(u, v)` with u, v in [0, 1)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows.extend(pixel(x / width, y / height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
            + chunk(b"IEND", b""))


def _mix(a, b, t):
    return tuple(int(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def _latte(aspect: float):
    def pixel(u, v):
        x, y = (u - 0.5) * aspect, v - 0.5
        r = math.hypot(x, y)
        if r < 0.30:
            hx, hy = x / 0.17, -(y + 0.02) / 0.17  # a heart of milk foam in the crema
            if (hx * hx + hy * hy - 1) ** 3 - hx * hx * hy ** 3 <= 0:
                return (250, 240, 225)
            return _mix((196, 140, 84), (120, 72, 38), r / 0.30)
        if r < 0.36:
            return (245, 245, 240)  # the cup's rim
        return _mix((70, 110, 120), (40, 70, 80), v)
    return pixel


def _product(base, accent, shape, aspect: float):
    def pixel(u, v):
        x, y = (u - 0.5) * aspect, v - 0.5
        if shape(x, y):
            return accent
        return _mix(base, _mix(base, (255, 255, 255), 0.35), v)
    return pixel


def _bean(x, y):
    inside = (x / 0.22) ** 2 + (y / 0.32) ** 2 <= 1
    groove = abs(x - 0.05 * math.sin(y * 9)) < 0.018
    return inside and not groove


def _jar(x, y):
    return (abs(x) < 0.17 and -0.25 < y < 0.36) or (abs(x) < 0.12 and -0.33 < y <= -0.25)


def _mug(x, y):
    body = abs(x + 0.05) < 0.18 and -0.28 < y < 0.32
    handle = 0.07 < math.hypot(x - 0.16, y) < 0.13 and x > 0.13
    return body or handle


PRODUCTS = {
    "espresso": ((92, 58, 40), (40, 22, 14), _bean),
    "cold-brew": ((52, 88, 110), (20, 30, 36), _jar),
    "mug": ((190, 160, 110), (250, 248, 240), _mug),
}


def chime(path: str, seconds: float = 1.0, rate: int = 16000) -> None:
    """A one-second two-note chime, 16-bit mono."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        t = n / rate
        freq = 880.0 if t < 0.35 else 1318.5
        start = 0.0 if t < 0.35 else 0.35
        envelope = math.exp(-(t - start) * 5) * min(1.0, (t - start) * 200)
        frames.extend(struct.pack("<h", int(12000 * envelope * math.sin(2 * math.pi * freq * t))))
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


def price_list_pdf() -> bytes:
    """A one-page PDF with the shop's prices, its xref offsets computed exactly."""
    lines = ["Northwind Coffee - Price list", "", "Espresso Blend 250 g ........ $12.90",
             "Cold Brew Kit ............... $29.00", "Travel Mug .................. $18.50", "",
             "Demo file sent by the API Chat sandbox."]
    text = "BT /F1 14 Tf 60 780 Td 20 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("latin-1")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def main() -> None:
    os.makedirs(MEDIA_DIR, exist_ok=True)

    def write(name: str, data: bytes) -> None:
        with open(os.path.join(MEDIA_DIR, name), "wb") as fh:
            fh.write(data)

    write("latte.png", png(480, 320, _latte(1.5)))
    for name, (base, accent, shape) in PRODUCTS.items():
        write(f"{name}.png", png(382, 200, _product(base, accent, shape, 1.91)))
        write(f"{name}-square.png", png(240, 240, _product(base, accent, shape, 1.0)))
    chime(os.path.join(MEDIA_DIR, "chime.wav"))
    write("price-list.pdf", price_list_pdf())


if __name__ == "__main__":
    main()
