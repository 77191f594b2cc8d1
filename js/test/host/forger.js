//! A hostile frame on another origin: posts forged v1 messages to the host and to its sibling frames; all must be ignored.
(function () {
  "use strict";
  function envelope(type, payload, requestId) {
    return { alga: true, version: "1", type: type, request_id: requestId, payload: payload };
  }
  var forgedBody = btoa(JSON.stringify({ name: "forged" }));
  // To the host: as if a page asked for a call, a resize and a navigation.
  window.parent.postMessage(envelope("apiproxy", { route: "/tags", method: "POST", body: forgedBody }, "forged-1"), "*");
  window.parent.postMessage(envelope("resize", { height: 1234 }), "*");
  window.parent.postMessage(envelope("navigate", { path: "/silent" }), "*");
  window.parent.postMessage(envelope("ready", {}), "*");
  // To every sibling frame: as if the host switched the theme or answered a call.
  for (var i = 0; i < window.parent.frames.length; i++) {
    var frame = window.parent.frames[i];
    if (frame === window) continue;
    frame.postMessage(envelope("theme", { theme_tokens: { "--alga-primary": "rgb(255, 0, 0)" } }), "*");
    frame.postMessage(envelope("bootstrap", { session: { tenant: "evil", user: "mallory" }, theme_tokens: { "--alga-primary": "rgb(255, 0, 0)" } }), "*");
  }
  document.body.dataset.sent = "1";
})();
