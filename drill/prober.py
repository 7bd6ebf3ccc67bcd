"""A client of the cluster for the failover drill: standard library only, so it runs anywhere
python3 is (the lab's client container, the operator's machine).

It sends GET /queuemetrics/probe at a fixed rate and, every Nth request, a POST that writes a
token, for a bounded time, and prints one JSON line per request:
    {"t": 1.20, "kind": "read", "ok": true, "status": 200, "app": "node-a", "db": "node-a", "ms": 14}
    {"t": 1.40, "kind": "write", "ok": true, "token": "drill-x-7", "id": "41", ...}
Each request resolves the cluster FQDN anew and tries every address it gets, as a browser would.
"""

import argparse
import json
import ssl
import sys
import time
import urllib.error
import urllib.request


def request(url, context, method, timeout):
    started = time.monotonic()
    result = {"ok": False, "status": 0}
    try:
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, context=context, timeout=timeout) as answer:
            result["status"] = answer.status
            body = answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        result["status"] = exc.code
        body = exc.read().decode("utf-8", "replace")
    except Exception as exc:  # connection refused, timeout, TLS: a failed request
        body = ""
        result["error"] = f"{type(exc).__name__}: {exc}"[:200]
    for line in body.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            if key in ("app", "db", "id", "error"):
                result[key] = value
    result["ok"] = result["status"] == 200 and "app" in result and (method != "POST" or "id" in result)
    result["ms"] = round((time.monotonic() - started) * 1000)
    return result


def paced(rate: float, count: int, start: float):
    """0, 1, ... COUNT-1, each yielded no earlier than START + i/RATE (``time.monotonic()``): a fixed
    rate that does not drift when one step is slow."""
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield i


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="https://<cluster fqdn>/queuemetrics/probe")
    parser.add_argument("--ca", help="CA certificate to trust (default: the system's)")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds to run")
    parser.add_argument("--write-every", type=int, default=5, help="every Nth request writes a token")
    parser.add_argument("--token-prefix", default="drill")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (per address to connect)")
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.ca)
    start = time.monotonic()
    for i in paced(args.rate, int(args.duration * args.rate), start):
        if time.monotonic() - start > args.duration + args.timeout:
            break
        write = args.write_every > 0 and i % args.write_every == args.write_every - 1
        if write:
            token = f"{args.token_prefix}-{i}"
            result = request(f"{args.url}?token={token}", context, "POST", args.timeout)
            result.update(kind="write", token=token)
        else:
            result = request(args.url, context, "GET", args.timeout)
            result["kind"] = "read"
        result["t"] = round(time.monotonic() - start, 3)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
