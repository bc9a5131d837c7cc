"""The Django chat page written by hand with no pb-ssr: the floor of a Django SSR page.

Used by ``bench/ssr_load.py`` (targets ``django-floor`` on gunicorn and
``django-floor-asgi`` on uvicorn) to tell what the example's page costs because it is
a Django page from what pb-ssr adds. It is what a competent developer would write for
the same page without pb-ssr:

- the same project as ``example_projects/django_chat``: :mod:`.settings` imports the
  example's settings and drops only pb-ssr (its app, its middleware, its context
  processor), so the middleware stack (security, sessions in a signed cookie,
  common, CSRF, messages, clickjacking), the template engine and the templates are the
  example's own, and the page renders to the same HTML with the same CSRF tokens;
- sign-in keeps PocketBase's token and user record in Django's session
  (``request.session["pb_token"]`` and ``["pb_user"]``), a signed cookie here, the
  idiomatic place; a context processor gives the templates ``pb_user`` from it;
- the page reads the token, makes one call on a pooled ``httpx.Client`` (sync view,
  under gunicorn) or ``httpx.AsyncClient`` (async view, under uvicorn with
  ``CHAT_ASYNC_VIEWS=1``, like the example), ``expand=user``, 50 messages, and renders
  ``chat/index.html``.

What it skips, and pb-ssr's page pays for, is exactly pb-ssr: its auth cookie
(signature and claims), the cached check of the token with PocketBase, renewal, the
client address forwarded to PocketBase and the ``Set-Cookie``/``Vary``/``Cache-Control``
work after the view. The token goes to PocketBase as is; a 401 sends the user back to
the sign-in form.

Serve: ``PB_URL=... DJANGO_SECRET_KEY=... gunicorn bench.django_floor.wsgi:application``
or ``CHAT_ASYNC_VIEWS=1 ... uvicorn bench.django_floor.asgi:application``.
"""
