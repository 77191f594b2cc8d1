//! A page written with the Page SDK's React hooks (as an Alga extension UI would be), framed by the test host.
import { createElement as h, render, useEffect, useState } from "react";
import { callHandlerJson } from "../../page/alga-page.js";
import { useBridge, useTheme } from "../../page/react.js";

function App() {
  const bridge = useBridge();
  const theme = useTheme(bridge);
  const [tags, setTags] = useState(null);
  useEffect(() => {
    bridge
      .whenBootstrapped()
      .then(() => callHandlerJson(bridge, "/tags"))
      .then((body) => setTags(body.tags.map((tag) => tag.name)));
  }, [bridge]);
  return h(
    "div",
    null,
    h("p", { id: "primary" }, theme ? theme["--alga-primary"] : "no theme"),
    h("ul", { id: "tags" }, (tags || []).map((name) => h("li", { key: name }, name))),
  );
}

render(h(App), document.getElementById("root"));
