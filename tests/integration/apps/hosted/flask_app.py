"""A small Flask app, written the way Flask's documentation writes one (it knows nothing of heron).

tests/integration/test_hosted_apps.py serves it with ``heron path/to/flask_app.py:app``
and drives it with real HTTP clients, through the flows every hosted app
shares; tests/integration/test_hosted_flask.py serves it with
``heron tests.integration.apps.hosted.flask_app:app`` for what only Flask does.
"""

import hashlib
import time

from flask import (Flask, abort, jsonify, redirect, render_template_string, request, send_file, session,
                   stream_with_context, url_for)

app = Flask(__name__)
app.config["SECRET_KEY"] = "not-a-secret-only-for-tests"

MESSAGES = []
TICKERS = []


class OutOfStock(Exception):
    def __init__(self, item):
        super().__init__(item)
        self.item = item


@app.errorhandler(OutOfStock)
def out_of_stock(error):
    return jsonify(error="out of stock", item=error.item), 409


@app.get("/json")
def hello_json():
    return jsonify(framework="flask", message="hello", numbers=[1, 2, 3])


@app.post("/json")
def echo_json():
    data = request.get_json()
    return jsonify(received=data, total=sum(data.get("numbers", [])))


@app.get("/items/<int:item_id>")
def item(item_id):
    return jsonify(item_id=item_id, q=request.args.get("q"), tags=request.args.getlist("tag"))


@app.get("/hello/<name>")
def hello(name):
    greeting = request.args.get("greeting", "hello")
    return jsonify(name=name, greeting=greeting, text=f"{greeting}, {name}!")


FORM = """<!doctype html>
<form method="post" action="{{ url_for('post_message') }}">
  <input name="author"> <textarea name="text"></textarea> <button>Send</button>
</form>"""


@app.get("/form")
def message_form():
    return render_template_string(FORM)


@app.post("/form")
def post_message():
    author, text = request.form["author"], request.form["text"]
    MESSAGES.append({"author": author, "text": text})
    return redirect(url_for("message", message_id=len(MESSAGES)))


@app.get("/messages/<int:message_id>")
def message(message_id):
    if not 1 <= message_id <= len(MESSAGES):
        abort(404)
    return jsonify(MESSAGES[message_id - 1])


@app.post("/upload")
def upload():
    uploaded = request.files["file"]
    content = uploaded.read()
    return jsonify(filename=uploaded.filename, content_type=uploaded.mimetype, size=len(content),
                   sha256=hashlib.sha256(content).hexdigest(), note=request.form.get("note"))


@app.post("/consume")
def consume():
    """Read the raw request body as a stream, however it was framed (Content-Length or chunked)."""
    digest, size = hashlib.sha256(), 0
    while True:
        chunk = request.stream.read(65536)
        if not chunk:
            break
        digest.update(chunk)
        size += len(chunk)
    return jsonify(size=size, sha256=digest.hexdigest())


@app.get("/login")
def login():
    session["user"] = request.args["user"]
    session["visits"] = 0
    response = redirect(url_for("whoami"))
    response.set_cookie("flavour", request.args.get("flavour", "plain"), httponly=True, samesite="Lax")
    return response


@app.get("/whoami")
def whoami():
    if "user" not in session:
        return jsonify(user=None), 401
    session["visits"] += 1
    return jsonify(user=session["user"], visits=session["visits"], flavour=request.cookies.get("flavour"))


@app.get("/logout")
def logout():
    session.clear()
    response = jsonify(user=None)
    response.delete_cookie("flavour")
    return response


@app.get("/stream")
def stream():
    count = request.args.get("n", 4, type=int)
    delay = request.args.get("delay", 0.25, type=float)

    @stream_with_context
    def generate():
        for i in range(count):
            if i:
                time.sleep(delay)
            yield f"chunk {i} of {count} for {request.args.get('who', 'you')}\n"

    return app.response_class(generate(), mimetype="text/plain")


@app.get("/stream-broken")
def stream_broken():
    def generate():
        yield "first part\n"
        raise RuntimeError("the generator failed after the first part")

    return app.response_class(generate(), mimetype="text/plain")


@app.get("/ticker")
def ticker():
    """Tick until the client goes away; record when the server closed the generator."""
    name = request.args["id"]

    def generate():
        sent = 0
        try:
            for sent in range(200):
                yield f"tick {sent}\n"
                time.sleep(0.05)
        finally:
            TICKERS.append({"id": name, "ticks": sent + 1})

    return app.response_class(generate(), mimetype="text/plain")


@app.get("/tickers")
def tickers():
    return jsonify(TICKERS)


@app.get("/whereami")
def whereami():
    return jsonify(url=request.url, host_url=request.host_url, scheme=request.scheme, path=request.path,
                   script_root=request.script_root, remote_addr=request.remote_addr,
                   whoami=url_for("whoami"), external=url_for("whoami", _external=True))


@app.get("/environ")
def environ():
    """What the WSGI server put in the environ (a debugging page many apps have in some form)."""
    env = request.environ
    wanted = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
              "SERVER_PROTOCOL", "REMOTE_ADDR", "HTTP_HOST", "HTTP_X_THING", "wsgi.version", "wsgi.url_scheme",
              "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once", "wsgi.input_terminated"]
    return jsonify({key: env.get(key) for key in wanted} | {
        "str keys": all(type(k) is str for k in env),
        "str values": all(type(env[k]) is str for k in env if k.isupper()),
        "has wsgi.file_wrapper": "wsgi.file_wrapper" in env,
        "has wsgi.errors": hasattr(env["wsgi.errors"], "write"),
    })


@app.get("/download")
def download():
    return send_file(__file__, mimetype="text/x-python", as_attachment=True, download_name="flask_app.py")


@app.get("/buy/<item>")
def buy(item):
    raise OutOfStock(item)


@app.get("/teapot")
def teapot():
    abort(418)


@app.get("/crash")
def crash():
    raise RuntimeError("flask-secret-detail: the database password is hunter2")
