import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"gunicorn {os.getpid()}\n".encode()]
