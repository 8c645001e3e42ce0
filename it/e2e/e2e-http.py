# python3's http.server for make e2e's migrate-http: serves DIR on ADDR:PORT, one request (or a
# 0.2 s timeout) per round, and prints "pid P counter N sum 0" after each round, as the checksum
# workloads do, so the migration checks see it go on. Usage: e2e-http.py ADDR PORT DIR
import functools
import http.server
import os
import sys


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


server = http.server.HTTPServer((sys.argv[1], int(sys.argv[2])),
                                functools.partial(Quiet, directory=sys.argv[3]))
server.timeout = 0.2
n = 0
while True:
    server.handle_request()
    print(f'pid {os.getpid()} counter {n} sum 0', flush=True)
    n += 1
