import os

from flask import Flask, redirect, render_template, request, url_for

from pb_ssr_flask import (
    PocketBaseSSR,
    auth_blueprint,
    csrf_protect,
    current_user,
    login_required,
    pb,
)

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["FLASK_SECRET_KEY"],  # signs the auth cookie
    POCKETBASE_URL=os.environ.get("PB_URL", "http://127.0.0.1:8090"),
)
PocketBaseSSR(app)
app.register_blueprint(auth_blueprint, url_prefix="/auth")  # sign-in, sign-up, sign-out


@app.get("/")
@login_required  # anonymous visitors go to /auth/login?next=/
def index():
    page = pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
    return render_template("index.html", messages=page.items)


@app.post("/messages")
@login_required
@csrf_protect  # Flask has no CSRF protection of its own
def post_message():
    pb.collection("messages").create({"text": request.form["text"], "user": current_user.id})
    return redirect(url_for("index"))
