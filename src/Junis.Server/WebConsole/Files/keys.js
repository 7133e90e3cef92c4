// Keys: the organization's keys, for a key holding admin:read; never their secrets, which the server does not keep.
import { call } from "./api.js";
import { el, heading, pager, problem, table, when } from "./dom.js";

// As the server stores a key's own limit: none takes the deployment's default, 0 is no limit.
const limit = value => value === null ? "default" : value === 0 ? "unlimited" : value.toLocaleString();

const state = key => key.revoked_at ? "revoked" : key.expires_at && new Date(key.expires_at) <= new Date() ? "expired" : "active";

export async function render(view, { key: signedIn }) {
  const results = el("div", { "aria-live": "polite" });
  view.append(heading("Keys"), results);
  const load = async page => {
    const list = await call("/keys", { query: { page, page_size: 50 } });
    const rows = list.keys.map(k => el("tr", {},
      el("td", {}, k.name, k.id === signedIn.id && el("span", { class: "badge" }, "this key")),
      el("td", { class: "mono" }, `${k.prefix}…`),
      el("td", {}, el("ul", { class: "scopes" }, k.scopes.map(s => el("li", {}, s)))),
      el("td", { class: "figure" }, limit(k.per_minute)),
      el("td", { class: "figure" }, limit(k.per_hour)),
      el("td", {}, k.last_used_at ? when(k.last_used_at) : "never"),
      el("td", {}, when(k.created_at)),
      el("td", {}, k.expires_at ? when(k.expires_at) : "never"),
      el("td", {}, state(k))));
    results.replaceChildren(
      table("The organization's keys", ["Name", "Prefix", "Scopes", "Per minute", "Per hour", "Last used", "Created", "Expires", "State"], rows),
      pager(list, page => load(page).catch(error => results.replaceChildren(problem(error)))));
  };
  await load(1);
}
