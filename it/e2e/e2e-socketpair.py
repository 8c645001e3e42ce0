# A parent and its child holding one end each of a unix socketpair, with data queued both ways,
# for make e2e's migrate-socketpair (passed to python3 -c, so no host needs the file). The parent
# prints "pid P counter N sum 0 replies R" every 0.2 s. On SIGUSR1 the child reads what was queued
# for it and replies through the pair; on SIGUSR1 the parent reads what was queued for it and the
# child's reply, each checked ("BAD ..." lines otherwise): R counts the right ones (2 when both are).
import os
import signal
import socket
import time

go = []
signal.signal(signal.SIGUSR1, lambda *a: go.append(1))
a, b = socket.socketpair()
a.sendall(b'queued for the child\n')
kid = os.fork()
if kid == 0:
    a.close()
    b.sendall(b'queued for the parent\n')
    while not go:
        time.sleep(0.02)
    got = b.recv(100).decode()
    b.sendall(f'child {os.getpid()} got: {got}'.encode())
    while True:
        time.sleep(1)
b.close()
n = 0
replies = 0
while True:
    print(f'pid {os.getpid()} counter {n} sum 0 replies {replies}', flush=True)
    n += 1
    time.sleep(0.2)
    if go and replies == 0:
        f = a.makefile()
        for want in ('queued for the parent', f'child {kid} got: queued for the child'):
            got = f.readline().strip()
            print(('' if got == want else 'BAD ') + 'parent got: ' + got, flush=True)
            replies += got == want
