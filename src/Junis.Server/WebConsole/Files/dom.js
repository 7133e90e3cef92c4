// Building the page from data: text always goes in as text nodes, never as HTML.

/** An element with attributes (on… names are listeners; true is a bare attribute) and children (nodes or text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter(child => child !== undefined && child !== null && child !== false));
  return node;
}

/** A view's heading, focused when the view opens so keyboard and screen-reader users land on it. */
export const heading = text => el("h1", { tabindex: "-1" }, text);

/** The server's message when it refused or failed, where every view shows it. */
export const problem = error => el("p", { class: "error", role: "alert" }, error.message);

export const when = iso => iso ? new Date(iso).toLocaleString() : "—";

export const number = value => value === null || value === undefined ? "—" : Number(value).toLocaleString();

/** A table in a box that scrolls sideways on a narrow screen rather than squeezing its columns. */
export const table = (caption, columns, rows) =>
  el("div", { class: "scroll", role: "region", "aria-label": caption, tabindex: "0" },
    el("table", {},
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, columns.map(c => el("th", { scope: "col" }, c)))),
      el("tbody", {}, rows)));

/** Previous and next buttons for one of the API's pages ({page, page_size, total, has_next}). */
export const pager = (list, go) =>
  el("nav", { class: "pager", "aria-label": "Pages" },
    el("button", { type: "button", disabled: list.page <= 1, onclick: () => go(list.page - 1) }, "Previous"),
    el("span", {}, `Page ${list.page} of ${Math.max(1, Math.ceil(list.total / list.page_size))} · ${number(list.total)} in all`),
    el("button", { type: "button", disabled: !list.has_next, onclick: () => go(list.page + 1) }, "Next"));
