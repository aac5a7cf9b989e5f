"""Python subinterpreters (PEP 734, concurrent.interpreters, Python 3.14+), measured for the Isolates quick benchmarks
(tools/Isolates.Benchmarks, Quick/PeersFigure.cs).

usage: python3 interpreters.py SPAWNS ROUND_TRIPS MESSAGES REPETITIONS

Prints one JSON object on stdout. On Python older than 3.14, where subinterpreters have no public API, it prints
{"skipped": "..."} and exits 0. Otherwise: spawnMs (interpreters.create() until call() of a function in it returned,
closing untimed), roundTripUs (InterpreterPoolExecutor(max_workers=1): submit(identity, i).result(), one at a time: a
call from this thread into an interpreter running on a worker thread), streamingMsgPerSec (this thread puts MESSAGES
ints into an unbounded interpreters queue, a thread running in another interpreter gets and sums them; timed until it
has the last one). Functions cross by pickle, i.e. by name, so the only function sent is the builtin int (identity on
ints): functions defined in __main__ cannot be sent (cpython#125865).
"""
import json
import sys
import threading
import time


def check(expected, actual):
    if expected != actual:
        raise RuntimeError(f"expected {expected!r} but the benchmark got {actual!r}")


def spawn_once(interpreters):
    start = time.perf_counter_ns()
    interp = interpreters.create()
    answer = interp.call(int, 42)
    end = time.perf_counter_ns()
    interp.close()
    check(42, answer)
    return (end - start) / 1e6


def round_trips(count):
    from concurrent.futures import InterpreterPoolExecutor

    samples = []
    with InterpreterPoolExecutor(max_workers=1) as pool:
        for i in range(-max(100, count // 10), count):
            start = time.perf_counter_ns()
            echoed = pool.submit(int, i).result()
            end = time.perf_counter_ns()
            check(i, echoed)
            if i >= 0:
                samples.append((end - start) / 1e3)
    return samples


CONSUMER = """
total = 0
for _ in range(messages):
    total += queue.get()
results.put(total)
"""


def stream_once(interpreters, messages):
    interp = interpreters.create()
    queue = interpreters.create_queue()
    results = interpreters.create_queue()
    interp.prepare_main(queue=queue, results=results, messages=messages)
    consumer = threading.Thread(target=interp.exec, args=(CONSUMER,))
    start = time.perf_counter_ns()
    consumer.start()
    for i in range(messages):
        queue.put(i)
    total = results.get()
    end = time.perf_counter_ns()
    consumer.join()
    interp.close()
    check(messages * (messages - 1) // 2, total)
    return messages / ((end - start) / 1e9)


def main():
    if sys.version_info < (3, 14):
        print(json.dumps({"skipped": f"Python {sys.version_info[0]}.{sys.version_info[1]} has no public subinterpreters "
                                     "(concurrent.interpreters is new in 3.14)"}))
        return
    try:
        spawns, count, messages, repetitions = (int(a) for a in sys.argv[1:5])
    except ValueError:
        sys.exit("usage: python3 interpreters.py SPAWNS ROUND_TRIPS MESSAGES REPETITIONS (positive integers)")
    from concurrent import interpreters

    spawn_ms = [ms for i, ms in ((i, spawn_once(interpreters)) for i in range(-max(3, spawns // 10), spawns)) if i >= 0]
    round_trip_us = round_trips(count)
    rates = [rate for r, rate in ((r, stream_once(interpreters, messages)) for r in range(-1, repetitions)) if r >= 0]
    print(json.dumps({"runtime": f"Python {sys.version.split()[0]} subinterpreters", "spawnMs": spawn_ms,
                      "roundTripUs": round_trip_us, "streamingMsgPerSec": rates}))


if __name__ == "__main__":
    main()
