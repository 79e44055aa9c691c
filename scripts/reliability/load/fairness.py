#!/usr/bin/env python3
"""Does a long request starve short ones? (issue 28)

Against a running `bertqa serve` (started with --max-windows-per-request 0, so the long request
is taken): POST one question about a ~200 KB context, and while it runs, a short question every
half second. Prints one JSON line: the long request's time, and the short ones' latencies
(which should stay near one pass of the model, not the long request's time).

    scripts/reliability/load/fairness.py PORT [CONTEXT_KB]
"""
import json
import sys
import threading
import time
import urllib.request

PARAGRAPH = (
    "Super Bowl 50 was an American football game to determine the champion of the National Football League "
    "(NFL) for the 2015 season. The American Football Conference (AFC) champion Denver Broncos defeated the "
    "National Football Conference (NFC) champion Carolina Panthers 24-10 to earn their third Super Bowl title. "
    "The game was played on February 7, 2016, at Levi's Stadium in the San Francisco Bay Area at Santa Clara, "
    "California. "
)


def post(port, question, context):
    body = json.dumps({"inputs": {"question": question, "context": context}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/answer", data=body,
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        answer = json.loads(response.read())
        status = response.status
    return status, answer, (time.perf_counter() - started) * 1000


def main():
    port = int(sys.argv[1])
    kilobytes = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    paragraphs = []
    while sum(map(len, paragraphs)) < kilobytes * 1000:
        paragraphs.append(f"Paragraph {len(paragraphs)}. " + PARAGRAPH)
    long_context = "".join(paragraphs)
    short_context = "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France."

    # The short question alone first: its unloaded latency.
    alone = sorted(post(port, "Where is the Eiffel Tower?", short_context)[2] for _ in range(10))

    result = {}

    def run_long():
        status, answer, ms = post(port, "Which team won Super Bowl 50?", long_context)
        result.update(long_status=status, long_ms=round(ms, 1), long_answer=answer.get("answer"))

    thread = threading.Thread(target=run_long)
    thread.start()
    time.sleep(1.0)
    short = []
    while thread.is_alive():
        status, answer, ms = post(port, "Where is the Eiffel Tower?", short_context)
        short.append((status, ms, answer.get("answer")))
        time.sleep(0.5)
    thread.join()
    latencies = sorted(ms for _, ms, _ in short)
    print(json.dumps({
        "context_chars": len(long_context),
        **result,
        "short_alone_p50_ms": round(alone[len(alone) // 2], 1), "short_alone_max_ms": round(alone[-1], 1),
        "short_during_long": len(short),
        "short_statuses": sorted({s for s, _, _ in short}),
        "short_answers": sorted({a for _, _, a in short}),
        "short_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else None,
        "short_max_ms": round(latencies[-1], 1) if latencies else None,
    }))


if __name__ == "__main__":
    main()
