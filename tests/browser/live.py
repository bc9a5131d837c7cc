"""Two signed-in browsers on a live chat page: one acts, the other watches.

The watcher's page records (``Date.now()``) when a change shows up in its message
list, through a MutationObserver, so the measure does not depend on how often
Playwright polls; the actor's page records the moment of its click in
``sessionStorage`` (the click submits a form, so the page it was on is gone after).
Both clocks are the same machine's. The times are printed, never asserted.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

#: The watcher's observer: ``window.pbWatch(name, js_condition)`` notes when it holds.
WATCH = """
window.pbSeen = window.pbSeen || {};
window.pbStill = true;  // a reload would lose it: the page must never reload
window.pbWatch = (name, condition) => {
  const holds = new Function("return (" + condition + ");");
  const list = document.getElementById("messages");
  const check = () => { if (!window.pbSeen[name] && holds()) window.pbSeen[name] = Date.now(); };
  new MutationObserver(check).observe(list, {childList: true, subtree: true, characterData: true});
  check();
};
"""
#: Notes when the page's EventSource is open (the relay subscribed before answering).
OPEN_PROBE = """
const Native = window.EventSource;
window.EventSource = function (url, options) {
  const source = new Native(url, options);
  source.addEventListener("open", () => { window.pbOpen = (window.pbOpen || 0) + 1; });
  return source;
};
Object.assign(window.EventSource, {CONNECTING: 0, OPEN: 1, CLOSED: 2});
"""
#: The actor's click clock.
CLICK_CLOCK = """
document.addEventListener(
  "click", () => sessionStorage.setItem("pbClick", String(Date.now())), true);
"""


def sign_in(browser: Any, base: str, login_path: str, email: str, password: str) -> Any:
    """A new browser context signed in through the login form, on the chat page."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + login_path)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def text_is(message_id: str, text: str) -> str:
    """A JS condition: the item of *message_id* shows *text*."""
    item = f"document.getElementById({json.dumps('msg-' + message_id)})"
    return (
        f"{item} && {item}.querySelector('[data-testid=text]').textContent === {json.dumps(text)}"
    )


def has_text(text: str) -> str:
    """A JS condition: some item shows *text*."""
    return (
        "[...document.querySelectorAll('#messages [data-testid=text]')]"
        f".some(e => e.textContent === {json.dumps(text)})"
    )


def gone(message_id: str) -> str:
    return f"!document.getElementById({json.dumps('msg-' + message_id)})"


class LiveDuo:
    """The actor's page and the watcher's page, and the click-to-change times."""

    def __init__(self, actor: Any, watcher: Any, label: str) -> None:
        self.actor, self.watcher, self.label = actor, watcher, label
        self.times: dict[str, int] = {}
        actor.add_init_script(CLICK_CLOCK)
        actor.reload()
        watcher.add_init_script(OPEN_PROBE)
        watcher.reload()
        # The watcher's stream is open before anything happens (live.js connects on load).
        watcher.wait_for_function("window.pbOpen >= 1", timeout=20_000)
        watcher.evaluate(WATCH)

    def step(self, name: str, condition: str, act: Any) -> int:
        """Watch for *condition* on the watcher's page, run *act* on the actor's, and
        return the milliseconds from the actor's click to the change."""
        self.watcher.evaluate("([n, c]) => window.pbWatch(n, c)", [name, condition])
        act(self.actor)
        self.watcher.wait_for_function(f"window.pbSeen[{json.dumps(name)}]", timeout=20_000)
        seen = self.watcher.evaluate(f"window.pbSeen[{json.dumps(name)}]")
        clicked = int(self.actor.evaluate("sessionStorage.getItem('pbClick')"))
        self.times[name] = seen - clicked
        assert self.watcher.evaluate("window.pbStill") is True, "the watcher's page reloaded"
        return self.times[name]

    def report(self) -> None:
        line = ", ".join(f"{name} {ms} ms" for name, ms in self.times.items())
        print(f"\n[{self.label}] click on one page -> change on the other: {line}")


def message_id(page: Any, text: str) -> str:
    """The record id of the actor's item showing *text* (from its ``id="msg-..."``)."""
    item = page.locator(
        "#messages li", has=page.locator(f"[data-testid=text]:text-is({json.dumps(text)})")
    )
    value = item.first.get_attribute("id") or ""
    match = re.fullmatch(r"msg-([a-z0-9]+)", value)
    assert match, value
    return match.group(1)


def live_round(duo: LiveDuo, post_path: str) -> None:
    """Post, edit and delete on the actor's page; the watcher sees each without a reload."""
    text = f"live hello {time.monotonic_ns()}"

    def post(page: Any) -> None:
        page.fill("#text", text)
        page.click(f"form[action='{post_path}'] button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))

    duo.step("create", has_text(text), post)
    # The actor's new item is the first one, and the watcher's too.
    ident = message_id(duo.actor, text)
    first = duo.watcher.locator("#messages li").first
    assert first.get_attribute("id") == f"msg-{ident}"
    # Rendered for the watcher: someone else's message has no edit or delete control.
    assert first.locator("[data-testid=edit]").count() == 0
    assert first.locator("form").count() == 0
    assert duo.watcher.locator(f"#msg-{ident}").count() == 1
    # ...while the actor owns it.
    assert duo.actor.locator(f"#msg-{ident} [data-testid=edit]").count() == 1

    edited = text + " (edited)"

    def edit(page: Any) -> None:
        page.click(f"#msg-{ident} [data-testid=edit]")
        page.fill("#text", edited)
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))

    duo.step("edit", text_is(ident, edited), edit)
    assert "edited" in (duo.watcher.locator(f"#msg-{ident} small").text_content() or "")

    def delete(page: Any) -> None:
        page.click(f"#msg-{ident} form button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))

    duo.step("delete", gone(ident), delete)
    duo.report()
