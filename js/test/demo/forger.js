//! A hostile popup on another origin: posts forged v1 messages to the /demo shell that opened it and to the shell's frames; all must be ignored.
(function () {
  "use strict";
  function envelope(type, payload, requestId) {
    return { alga: true, version: "1", type: type, request_id: requestId, payload: payload };
  }
  var shell = window.opener;
  if (!shell) {
    document.body.dataset.sent = "no-opener";
    return;
  }
  var forgedBody = btoa(JSON.stringify({ name: "forged-in-demo" }));
  // To the shell: as if its page asked for a call, a resize, a navigation, and said it was ready.
  shell.postMessage(envelope("apiproxy", { route: "/tags", method: "POST", body: forgedBody }, "forged-demo-1"), "*");
  shell.postMessage(envelope("resize", { height: 1234 }), "*");
  shell.postMessage(envelope("navigate", { path: "/silent" }), "*");
  shell.postMessage(envelope("ready", {}), "*");
  // To every frame of the shell: as if the host switched the theme or bootstrapped another user.
  for (var i = 0; i < shell.frames.length; i++) {
    var frame = shell.frames[i];
    frame.postMessage(envelope("theme", { theme_tokens: { "--alga-primary": "rgb(255, 0, 0)" } }), "*");
    frame.postMessage(envelope("bootstrap", { session: { tenant: "evil", user: "mallory" }, theme_tokens: { "--alga-primary": "rgb(255, 0, 0)" } }), "*");
  }
  document.body.dataset.sent = String(shell.frames.length);
})();
