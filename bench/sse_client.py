#!/usr/bin/env python3
"""N concurrent SSE chat streams against one port; prints time to first token
and inter-event delay. Used by bench/race.sh.

  sse_client.py PORT --streams 500 --seconds 10 --key sk-... --body '{...,"stream":true}'

Each of the N connections is kept alive and sends one streaming POST
/v1/chat/completions after another until the deadline; the starts of the first
requests are spread over --ramp seconds. Time to first token: request written
-> first `data:` event read. Inter-event delay: time between consecutive events
of one stream. Output: one line
  RESULT streams_done errors ttft_p50_ms ttft_p99_ms gap_p50_ms gap_p99_ms
"""
import argparse
import asyncio
import time


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    i = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[i]


async def one_connection(args, request, start_at, deadline, out):
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", args.port), 10)
    except (OSError, asyncio.TimeoutError):
        out["errors"] += 1
        return
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(request)
            await writer.drain()
            buf = b""
            head_end = -1
            while head_end < 0:
                data = await asyncio.wait_for(reader.read(65536), 10)
                if not data:
                    raise ConnectionError("closed in head")
                buf += data
                head_end = buf.find(b"\r\n\r\n")
            if not buf.startswith(b"HTTP/1.1 200"):
                raise ConnectionError("status " + buf[:12].decode(errors="replace"))
            body = buf[head_end + 4:]
            seen = 0      # events counted so far in body
            last = None   # time of the previous event
            ttft = None
            while True:
                n = body.count(b"data: ")
                if n > seen:
                    now = time.perf_counter()
                    if ttft is None:
                        ttft = now - t0
                    elif last is not None:
                        out["gaps"].append(now - last)
                    # Events arriving in the same read: gap 0 between them.
                    out["gaps"].extend([0.0] * (n - seen - 1))
                    last = now
                    seen = n
                if b"[DONE]" in body and body.endswith(b"0\r\n\r\n"):
                    break
                data = await asyncio.wait_for(reader.read(65536), 10)
                if not data:
                    raise ConnectionError("closed in body")
                body += data
            out["ttft"].append(ttft)
            out["done"] += 1
    except (OSError, ConnectionError, asyncio.TimeoutError):
        out["errors"] += 1
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--ramp", type=float, default=1.0)
    ap.add_argument("--key", required=True)
    ap.add_argument("--body", required=True)
    ap.add_argument("--header", action="append", default=[], help="extra 'Name: value'")
    args = ap.parse_args()
    body = args.body.encode()
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {args.key}\r\n")
    for h in args.header:
        head += h + "\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    request = head.encode() + body
    out = {"ttft": [], "gaps": [], "done": 0, "errors": 0}
    now = time.perf_counter()
    deadline = now + args.ramp + args.seconds
    tasks = [one_connection(args, request, now + args.ramp * i / args.streams, deadline, out)
             for i in range(args.streams)]
    await asyncio.gather(*tasks)
    ms = 1000.0
    print("RESULT %d %d %.3f %.3f %.3f %.3f" % (
        out["done"], out["errors"], pct(out["ttft"], 50) * ms, pct(out["ttft"], 99) * ms,
        pct(out["gaps"], 50) * ms, pct(out["gaps"], 99) * ms))


if __name__ == "__main__":
    asyncio.run(main())
