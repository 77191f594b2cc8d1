// The tag board: a static page that asks the host for the extension's `GET /tags` through
// Alga's v1 message envelope (`apiproxy`), so it never holds a token of its own.
(function () {
  "use strict";
  var pending = {};
  var statusLine = document.getElementById("status");
  var list = document.getElementById("tags");

  function send(type, payload, requestId) {
    var message = { alga: true, version: "1", type: type, payload: payload || {} };
    if (requestId) message.request_id = requestId;
    // The host checks the origin of what it receives; the page cannot know the host's.
    window.parent.postMessage(message, "*");
  }

  function api(route, method) {
    var id = String(Date.now()) + Math.random().toString(16).slice(2);
    return new Promise(function (resolve, reject) {
      pending[id] = { resolve: resolve, reject: reject };
      send("apiproxy", { route: route, method: method || "GET" }, id);
    });
  }

  function render(tags) {
    list.textContent = "";
    tags.forEach(function (tag) {
      var item = document.createElement("li");
      item.textContent = tag.name;
      item.style.background = tag.color;
      list.appendChild(item);
    });
    statusLine.textContent = tags.length ? "" : "No tags yet.";
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.alga !== true || data.version !== "1") return;
    if (data.type === "bootstrap") {
      api("/tags").then(function (body) {
        render((body && body.tags) || []);
      }, function (error) {
        statusLine.textContent = "Could not load tags: " + error;
      });
    } else if (data.type === "apiproxy_response" && pending[data.request_id]) {
      var waiter = pending[data.request_id];
      delete pending[data.request_id];
      var payload = data.payload || {};
      if (payload.error) {
        waiter.reject(payload.error);
      } else {
        try {
          waiter.resolve(payload.body ? JSON.parse(atob(payload.body)) : null);
        } catch (e) {
          waiter.reject(e);
        }
      }
    }
  });

  send("ready", {});
  send("resize", { height: document.documentElement.scrollHeight });
})();
