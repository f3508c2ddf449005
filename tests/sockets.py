"""Which TCP addresses a process tree listens on, read from /proc as `ss -ltnp` would (Linux)."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from pathlib import Path

LISTEN = "0A"


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # /proc prints the address as 32-bit words in host byte order
    words = b"".join(struct.pack("=I", int.from_bytes(raw[i:i + 4], "big")) for i in range(0, len(raw), 4))
    ip = socket.inet_ntop(socket.AF_INET if len(words) == 4 else socket.AF_INET6, words)
    return ip, int(port, 16)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def listening(pid: int) -> list[tuple[str, int]]:
    """(ip, port) of every TCP socket in LISTEN state held by `pid` or its descendants."""
    pids = descendants(pid)
    inodes = set().union(*(_socket_inodes(p) for p in pids))
    found = set()
    for table in ("tcp", "tcp6"):
        for p in pids:
            try:
                lines = Path(f"/proc/{p}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if fields[3] == LISTEN and fields[9] in inodes:
                    found.add(_address(fields[1]))
            break  # one process's view of the table is the network namespace's
    return sorted(found)


def loopback(ip: str) -> bool:
    return ipaddress.ip_address(ip).is_loopback
