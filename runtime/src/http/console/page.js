// What every screen does on arrival: name the browser tab after it and move focus to its heading.
import { useEffect, useRef } from "./lib.js";

/**
 * Sets `document.title` and answers a ref for the screen's <h1 tabindex="-1">, focused when
 * the screen mounts (and when `stage` changes), so keyboard and screen reader users start at the new screen's top
 * instead of on a link that is gone.
 */
export function usePage(title, stage = "") {
  const heading = useRef(null);
  useEffect(() => {
    document.title = `${title} · Alga admin console`;
  }, [title]);
  // A screen that shows a loading heading first passes its stage, so the final heading gets focus too.
  useEffect(() => {
    if (heading.current) heading.current.focus();
  }, [stage]);
  return heading;
}
