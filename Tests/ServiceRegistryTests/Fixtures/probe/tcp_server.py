"""A TCP server that does not speak HTTP (like SSH or MySQL, it greets first), for the tcp check tests.

Usage: tcp_server.py [PORT] [BANNER]. Listens on 127.0.0.1 (port 0: any free port), prints the port, then
greets every connection with BANNER and reads until the peer closes.
"""
import socket
import sys
import threading

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
banner = (sys.argv[2] if len(sys.argv) > 2 else "SSH-2.0-NotHTTP_1.0\r\n").encode()

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(1024)
print(listener.getsockname()[1], flush=True)


def serve(connection):
    try:
        connection.settimeout(10)
        connection.sendall(banner)
        while connection.recv(4096):
            pass
    except OSError:
        pass
    finally:
        connection.close()


while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
