#!/usr/bin/env python3
"""Starts a program the way shardinit starts a worker with --preload, for
test.sh: bind a SO_REUSEPORT listening socket, keep a copy (as shardinit
does), and run CMD with it as fd 3, LISTEN_FDS=1, LISTEN_PID=<CMD's pid>
and LD_PRELOAD=LIB.

    handover.py [--memfd] [--family 4|6|dual] [--host H] --info FILE \
                LIB PORT -- CMD [ARGS...]

--memfd hands the library over as shardinit does: a memfd, so that
LD_PRELOAD is /proc/self/fd/N and the library has no path of its own.
FILE receives "HELPER_PID CHILD_PID LISTENER_INODE" once CMD is started.
The helper waits for CMD and exits with its status; SIGTERM to the helper
is passed on to CMD.
"""
import argparse
import os
import signal
import socket
import sys

BACKLOG = 77  # test.sh checks that the program's listen() did not change it


def listener(family, host, port):
    if family == "4":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        addr = (host or "127.0.0.1", port)
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if family == "dual" else 1)
        addr = (host or "::", port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(addr)
    s.listen(BACKLOG)
    return s


def exec_worker(sock, lib, memfd, cmd):
    """In the child: fd 3, the environment, exec (which keeps the pid)."""
    if sock.fileno() == 3:  # dup2(3, 3) would leave close-on-exec set
        os.set_inheritable(3, True)
    else:
        os.dup2(sock.fileno(), 3, inheritable=True)
    env = dict(os.environ)
    if memfd:
        fd = os.memfd_create("libshardinit_preload.so", 0)  # no CLOEXEC: inherited
        with open(lib, "rb") as f:
            os.write(fd, f.read())
        env["LD_PRELOAD"] = "/proc/self/fd/%d" % fd
    else:
        env["LD_PRELOAD"] = lib
    env["LISTEN_FDS"] = "1"
    env["LISTEN_PID"] = str(os.getpid())
    env["LISTEN_FDNAMES"] = "http"
    try:
        os.execvpe(cmd[0], cmd, env)
    finally:
        os._exit(127)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memfd", action="store_true")
    p.add_argument("--family", choices=["4", "6", "dual"], default="4")
    p.add_argument("--host")
    p.add_argument("--info", required=True)
    p.add_argument("lib")
    p.add_argument("port", type=int)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd

    sock = listener(a.family, a.host, a.port)
    pid = os.fork()
    if pid == 0:
        exec_worker(sock, a.lib, a.memfd, cmd)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
    with open(a.info + ".tmp", "w") as f:
        f.write("%d %d %d\n" % (os.getpid(), pid, os.fstat(sock.fileno()).st_ino))
    os.rename(a.info + ".tmp", a.info)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)


if __name__ == "__main__":
    main()
