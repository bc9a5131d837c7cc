/* pb-ssr live updates: apply a relay stream (pb_ssr.relay) to the page. No build step.
 *
 *   <ul data-pb-live="/live?feeds=messages" data-pb-live-prefix="msg-">
 *     <li id="msg-RECORD_ID">...</li>   (the page's own partial, server-rendered)
 *   </ul>
 *   <script src=".../pb_ssr/live.js" defer></script>
 *
 * Contract: an event named after a feed carries JSON. {"action","id","html"}: the
 * fragment's root element has id="<prefix><record id>"; it replaces the element with
 * that id, or on "create" is inserted at the top (data-pb-live-insert="append": at the
 * bottom). {"action":"delete","id"}: the element <prefix><id> is removed. The prefix
 * defaults to "<feed>-". Every event (JSON {"action","record"} feeds too) is also
 * dispatched on the container as a bubbling "pb:live" CustomEvent (detail: feed, action,
 * id, record, html), for pages that apply it themselves. Without JavaScript, or without
 * EventSource, nothing happens: the page still works with reloads.
 */
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelectorAll) return;

  function feedsOf(url) {
    var names = new URL(url, location.href).searchParams.get("feeds") || "";
    return names.split(",").map(function (n) { return n.trim(); }).filter(Boolean);
  }

  function apply(container, feed, data) {
    var prefix = container.getAttribute("data-pb-live-prefix") || feed + "-";
    var existing = data.id ? document.getElementById(prefix + data.id) : null;
    if (data.action === "delete") {
      if (existing) existing.remove();
    } else if (typeof data.html === "string") {
      var template = document.createElement("template");
      template.innerHTML = data.html.trim();
      var node = template.content.firstElementChild;
      if (!node) return;
      if (existing) {
        existing.replaceWith(node);
      } else if (data.action === "create") {
        if (container.getAttribute("data-pb-live-insert") === "append") container.append(node);
        else container.prepend(node);
      }
    }
    container.dispatchEvent(new CustomEvent("pb:live", {
      bubbles: true,
      detail: { feed: feed, action: data.action, id: data.id || (data.record || {}).id,
                record: data.record, html: data.html }
    }));
  }

  function follow(container) {
    var url = container.getAttribute("data-pb-live");
    var delay = 2000;
    var source;
    function connect() {
      source = new EventSource(url);
      source.onopen = function () { delay = 2000; };
      feedsOf(url).forEach(function (feed) {
        source.addEventListener(feed, function (event) {
          try { apply(container, feed, JSON.parse(event.data)); } catch (e) { /* skip */ }
        });
      });
      source.addEventListener("pb:end", function (event) {
        // Signed out or expired: reconnecting would only get 401s. Otherwise the
        // browser reconnects by itself after the server's retry hint.
        if (event.data === "signed-out" || event.data === "expired") source.close();
      });
      source.onerror = function () {
        // A refused stream (401, 503 past the cap) closes the EventSource for good:
        // try again later, backing off up to a minute.
        if (source.readyState !== EventSource.CLOSED) return;
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 60000);
      };
    }
    connect();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-pb-live]"), follow);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
