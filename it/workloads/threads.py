#!/usr/bin/python3
"""threads.py: a python3 process with a second thread. The thread, named "worker", prints
"pid P counter N" every INTERVAL ms; the main thread waits for it in join() (a futex wait). A
checkpointed and resumed process must go on counting, with both threads alive.

usage: threads.py [INTERVAL_MS]
"""
import os
import sys
import threading
import time


def main():
    interval = (int(sys.argv[1]) if len(sys.argv) > 1 else 100) / 1000

    def count():
        counter = 0
        while True:
            print(f"pid {os.getpid()} counter {counter}", flush=True)
            counter += 1
            time.sleep(interval)

    worker = threading.Thread(target=count, name="worker")
    worker.start()
    worker.join()


if __name__ == "__main__":
    main()
