// A modal dialog on the native <dialog>: focus moves into it, the page behind is inert, Escape closes it, focus returns.
import { html, useEffect, useId, useRef } from "./lib.js";

/**
 * Open while `open` is true. `onClose` is called however it closes (Escape, a button), so the
 * caller's state follows. Focus goes to the element marked `data-autofocus`, else the first
 * control, and back to whatever had it before the dialog opened.
 */
export function Dialog({ open, title, onClose, children, tone = "" }) {
  const ref = useRef(null);
  const opener = useRef(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const dialog = ref.current;
    const closed = () => {
      const back = opener.current;
      opener.current = null;
      if (back && back.isConnected) back.focus();
      closeRef.current();
    };
    dialog.addEventListener("close", closed);
    return () => dialog.removeEventListener("close", closed);
  }, []);

  useEffect(() => {
    const dialog = ref.current;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
      const first = dialog.querySelector("[data-autofocus]") || dialog.querySelector("input, select, textarea, button");
      if (first) first.focus();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open]);

  return html`<dialog ref=${ref} class=${`dialog ${tone}`} aria-labelledby=${titleId}>
    <h2 id=${titleId}>${title}</h2>
    ${open ? children : null}
  </dialog>`;
}
