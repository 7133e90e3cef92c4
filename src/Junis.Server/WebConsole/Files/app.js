// Signing in and out, and which view the address's fragment (#/sessions, #/sessions/<id>, …) shows.
import { ApiError, call, forgetKey, storeKey, storedKey } from "./api.js";
import { el, problem } from "./dom.js";
import * as sessions from "./sessions.js";
import * as playground from "./playground.js";
import * as usage from "./usage.js";
import * as keys from "./keys.js";

const views = { sessions, playground, usage, keys };
const $ = id => document.getElementById(id);
let current = null; // the signed-in key as GET /keys/current shows it

const allowed = link => current.scopes.includes(link.dataset.scope);

function showSignIn(message) {
  current = null;
  $("nav").hidden = $("who").hidden = true;
  $("view").replaceChildren();
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message ?? "";
  $("key").focus();
}

function showSignedIn() {
  $("sign-in").hidden = true;
  $("nav").hidden = $("who").hidden = false;
  for (const link of $("nav").querySelectorAll("a")) link.hidden = !allowed(link);
  $("who-key").textContent = `${current.name} · ${current.prefix}…`;
}

async function route() {
  if (!current) return;
  const [name, id] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const first = [...$("nav").querySelectorAll("a")].find(allowed);
  if (!views[name]) {
    if (first) location.replace(first.href);
    else $("view").replaceChildren(el("p", { class: "error", role: "alert" },
      `This key (scopes: ${current.scopes.join(", ") || "none"}) may use none of the console's views.`));
    return;
  }
  for (const link of $("nav").querySelectorAll("a"))
    link.toggleAttribute("aria-current", link.dataset.view === name);
  const view = el("section", { class: "view" });
  $("view").replaceChildren(view);
  try {
    // A view the key may not use is not linked; opened by its address anyway, the server's refusal is shown.
    await views[name].render(view, { id, scopes: current.scopes, key: current });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) {
      // Revoked or expired since sign-in: the key is no use any more.
      forgetKey();
      return showSignIn(error.message);
    }
    view.append(problem(error));
  }
  view.querySelector("h1")?.focus();
}

async function signIn(key) {
  current = await call("/keys/current", { key });
  storeKey(key);
  showSignedIn();
  await route();
}

$("sign-in-form").addEventListener("submit", async event => {
  event.preventDefault();
  const input = $("key");
  try {
    await signIn(input.value.trim());
    input.value = "";
  } catch (error) {
    $("sign-in-error").textContent = error.message;
  }
});

$("sign-out").addEventListener("click", () => {
  forgetKey();
  history.replaceState(null, "", location.pathname);
  showSignIn();
});

addEventListener("hashchange", route);

if (storedKey()) {
  signIn(storedKey()).catch(error => {
    forgetKey();
    showSignIn(error.message);
  });
} else {
  showSignIn();
}
