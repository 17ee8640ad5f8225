"""UDP round-trip probe for the network testbed (tests/net/netbed.sh): measures what a link adds.

  probe.py echo IP PORT               echo every datagram back (runs until killed)
  probe.py ping IP PORT COUNT GAP_MS  send COUNT numbered datagrams GAP_MS apart; print one JSON line:
                                      {"sent", "received", "rtt_ms_min", "rtt_ms_median", "rtt_ms_max"}
  probe.py source IP PORT BYTES       TCP: send BYTES to each client that connects (runs until killed)
  probe.py sink IP PORT               TCP: receive until EOF; print {"bytes", "seconds"} (first byte to last)
Test tooling only.
"""
import json
import socket
import struct
import sys
import time


def echo(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    while True:
        data, addr = s.recvfrom(2048)
        s.sendto(data, addr)


def ping(ip, port, count, gap_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ip, port))
    s.setblocking(False)
    sent_at = {}
    rtts = []
    gap = gap_ms / 1000.0
    next_send = time.monotonic()
    i = 0
    deadline = None
    while True:
        now = time.monotonic()
        if i < count and now >= next_send:
            sent_at[i] = now
            s.send(struct.pack("!I", i) + b"x" * 60)
            i += 1
            next_send += gap
            if i == count:
                deadline = now + 2.0  # late answers: wait 2 s after the last datagram
        try:
            data = s.recv(2048)
            seq = struct.unpack("!I", data[:4])[0]
            if seq in sent_at:
                rtts.append((time.monotonic() - sent_at.pop(seq)) * 1000.0)
            continue
        except BlockingIOError:
            pass
        if deadline is not None and (time.monotonic() > deadline or not sent_at):
            break
        time.sleep(0.0005)
    rtts.sort()
    out = {"sent": count, "received": len(rtts)}
    if rtts:
        out.update(rtt_ms_min=round(rtts[0], 2), rtt_ms_median=round(rtts[len(rtts) // 2], 2),
                   rtt_ms_max=round(rtts[-1], 2))
    print(json.dumps(out))


def source(ip, port, nbytes):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(4)
    block = b"\0" * 65536
    while True:
        c, _ = s.accept()
        left = nbytes
        while left > 0:
            left -= c.send(block[:min(left, len(block))])
        c.close()


def sink(ip, port):
    s = socket.create_connection((ip, port))
    total, first = 0, None
    while True:
        data = s.recv(1 << 16)
        if not data:
            break
        if first is None:
            first = time.monotonic()
        total += len(data)
    print(json.dumps({"bytes": total, "seconds": round(time.monotonic() - (first or time.monotonic()), 3)}))


if __name__ == "__main__":
    if sys.argv[1] == "echo":
        echo(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "ping":
        ping(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif sys.argv[1] == "source":
        source(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: probe.py echo IP PORT | ping IP PORT COUNT GAP_MS")
