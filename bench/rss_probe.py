#!/usr/bin/env python3
"""RSS of a running distillguard before and after a load shape (issue #12.8, #12.12).

  bench/rss_probe.py BINARY keys 50000          # 50,000 distinct keys, max_keys 1,000
  bench/rss_probe.py BINARY bodies 20 8000000   # 20 bodies of 8 MB (keyed, on one connection)
  bench/rss_probe.py BINARY anon 20 8000000     # 20 bodies of 8 MB without a key
  bench/rss_probe.py BINARY pbodies 20 8000000  # 20 bodies of 8 MB at once, one connection each

Starts a local upstream (Python, threaded) and the proxy on free ports, warms
up with 200 requests, reads VmRSS, runs the shape, waits 3 s (the control
thread trims the heap once a second), reads VmRSS again. Prints one line.
"""
import http.client
import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        while n > 0:
            n -= len(self.rfile.read(min(n, 1 << 20)))
        body = json.dumps({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
                           "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    binary, shape = sys.argv[1], sys.argv[2]
    up = Threaded(("127.0.0.1", 0), Upstream)
    threading.Thread(target=up.serve_forever, daemon=True).start()
    port = free_port()
    cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    cfg.write(f"listen: {{address: 127.0.0.1, port: {port}}}\nupstream: {{url: 'http://127.0.0.1:{up.server_address[1]}'}}\n"
              f"workers: {2 if shape == 'pbodies' else 1}\nlog: {{level: warn}}\ndetection: {{store: {{max_keys: 1000}}}}\ncampaigns: {{max_keys: 1000}}\n")
    cfg.close()
    proc = subprocess.Popen([binary, "--config", cfg.name], stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Say hello"}]})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def chat(key, payload=body):
            headers = {"Content-Type": "application/json"}
            if key:
                headers["Authorization"] = "Bearer " + key
            conn.request("POST", "/v1/chat/completions", payload, headers)
            r = conn.getresponse()
            r.read()
            return r.status

        for i in range(200):
            chat(f"sk-warm-{i % 10}")
        time.sleep(2)
        before = rss_kb(proc.pid)
        statuses = {}
        if shape == "keys":
            for i in range(int(sys.argv[3])):
                s = chat(f"sk-probe-{i}")
                statuses[s] = statuses.get(s, 0) + 1
        elif shape == "pbodies":
            count, size = int(sys.argv[3]), int(sys.argv[4])
            big = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * (size - len(body) - 20)}]})

            def one(i):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                c.request("POST", "/v1/chat/completions", big, {"Content-Type": "application/json", "Authorization": f"Bearer sk-big-{i}"})
                r = c.getresponse()
                r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
                return c  # kept open (idle keep-alive) until the end

            kept = []
            threads = [threading.Thread(target=lambda i=i: kept.append(one(i))) for i in range(count)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            count, size = int(sys.argv[3]), int(sys.argv[4])
            pad = "x" * (size - len(body) - 20)
            big = json.dumps({"model": "m", "messages": [{"role": "user", "content": pad}]})
            for i in range(count):
                if shape == "anon":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    try:
                        s = chat(None, big)
                    except (ConnectionError, OSError):
                        s = "closed"
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                else:
                    s = chat("sk-big", big)
                statuses[s] = statuses.get(s, 0) + 1
        time.sleep(3)
        after = rss_kb(proc.pid)
        print(f"{shape} {' '.join(sys.argv[3:])}: RSS before {before / 1024:.1f} MB, after {after / 1024:.1f} MB, "
              f"growth {(after - before) / 1024:.1f} MB; statuses {statuses}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        os.unlink(cfg.name)


if __name__ == "__main__":
    main()
