"""Python multiprocessing with its default start method, measured for the Isolates quick benchmarks
(tools/Isolates.Benchmarks, Quick/ProcessFigure.cs).

usage: python3 multiprocessing_peer.py SPAWNS ROUND_TRIPS

Prints one JSON object on stdout: spawnMs (a multiprocessing.Process running an echo loop on one end of a
multiprocessing.Pipe is started, and this process sends 42 on the other end, until the echo is back; the child's exit is
untimed), roundTripUs (one send to a running echo process until its reply, one at a time). Values cross the pipe
pickled. The start method is Python's default for the platform (fork on Linux up to 3.13, forkserver from 3.14, spawn on
macOS and Windows); the runtime string names it.
"""
import json
import multiprocessing
import sys
import time


def echo(connection, other_end):
    other_end.close()  # a forked child inherits the parent's end too; closed, the parent's close ends this loop
    try:
        while True:
            connection.send(connection.recv())
    except EOFError:
        pass


def check(expected, actual):
    if expected != actual:
        raise RuntimeError(f"expected {expected!r} but the benchmark got {actual!r}")


def start_echo():
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=echo, args=(child, parent), daemon=True)
    process.start()
    child.close()  # only the child holds its end now, so closing ours ends its loop
    return process, parent


def stop(process, parent):
    parent.close()
    process.join()


def spawn_once():
    start = time.perf_counter_ns()
    process, parent = start_echo()
    parent.send(42)
    answer = parent.recv()
    end = time.perf_counter_ns()
    stop(process, parent)
    check(42, answer)
    return (end - start) / 1e6


def round_trips(count):
    process, parent = start_echo()
    samples = []
    for i in range(-max(100, count // 10), count):
        start = time.perf_counter_ns()
        parent.send(i)
        echoed = parent.recv()
        end = time.perf_counter_ns()
        check(i, echoed)
        if i >= 0:
            samples.append((end - start) / 1e3)
    stop(process, parent)
    return samples


def main():
    try:
        spawns, count = (int(a) for a in sys.argv[1:3])
    except ValueError:
        spawns = count = 0
    if spawns <= 0 or count <= 0:
        raise SystemExit("usage: python3 multiprocessing_peer.py SPAWNS ROUND_TRIPS (positive integers)")

    spawn_ms = []
    for i in range(-max(2, spawns // 10), spawns):
        ms = spawn_once()
        if i >= 0:
            spawn_ms.append(ms)
    round_trip_us = round_trips(count)
    version = ".".join(str(part) for part in sys.version_info[:3])
    runtime = f"Python {version} multiprocessing ({multiprocessing.get_start_method()})"
    print(json.dumps({"runtime": runtime, "spawnMs": spawn_ms, "roundTripUs": round_trip_us}))


if __name__ == "__main__":
    main()
