"""Slow and dropped clients against `bertqa serve` while timing normal requests (issue 8).

    python3 scripts/reliability/load/slow_clients.py PORT

Opens 32 slowloris connections (request headers dribbled one byte every 0.5 s), 32 that
connect and vanish, 32 that send a whole request and close before the answer, and 32 that
send half a body and close; meanwhile times 30 normal requests one after another. Prints one
JSON line: normal latencies alone and under the slow clients, and every status seen.
"""
import http.client, json, socket, statistics, sys, threading, time

PORT = int(sys.argv[1])
BODY = json.dumps({"inputs": {"question": "Where is the Eiffel Tower?",
                              "context": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France."}})

def normal(n):
    times, statuses = [], []
    for _ in range(n):
        t = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        c.request("POST", "/answer", BODY, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); c.close()
        times.append((time.perf_counter() - t) * 1000); statuses.append(r.status)
    return times, statuses

stop = threading.Event()
def slowloris():
    try:
        s = socket.create_connection(("127.0.0.1", PORT))
        head = (f"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(BODY)}\r\n\r\n{BODY}").encode()
        for b in head:
            if stop.is_set(): break
            s.send(bytes([b])); time.sleep(0.5)
        s.close()
    except OSError:
        pass  # the server may close a connection it deems idle: fine

def vanish():
    s = socket.create_connection(("127.0.0.1", PORT)); s.close()

def close_before_answer():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(f"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}\r\n\r\n{BODY}".encode()); s.close()

def half_body():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(f"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}\r\n\r\n{BODY[:len(BODY)//2]}".encode()); s.close()

alone, statuses_alone = normal(30)
threads = [threading.Thread(target=slowloris, daemon=True) for _ in range(32)]
for t in threads: t.start()
for f in (vanish, close_before_answer, half_body):
    for _ in range(32): f()
time.sleep(1)
loaded, statuses_loaded = normal(30)
stop.set()
print(json.dumps({
    "alone_p50_ms": round(statistics.median(alone), 1), "alone_max_ms": round(max(alone), 1),
    "with_slow_clients_p50_ms": round(statistics.median(loaded), 1), "with_slow_clients_max_ms": round(max(loaded), 1),
    "statuses": sorted(set(statuses_alone + statuses_loaded)), "slow_clients": 32, "dropped_clients": 96}))
