from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from pb_ssr_django import login_required


@login_required  # anonymous visitors go to LOGIN_URL?next=/
def index(request):
    page = request.pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
    return render(request, "index.html", {"messages": page.items})


@require_POST
@login_required
def post_message(request):
    request.pb.collection("messages").create(
        {"text": request.POST["text"], "user": request.pb_user.id}
    )
    return redirect("index")
