// Sessions: the organization's sessions, newest first, and one of them as a transcript, which may be deleted.
import { call } from "./api.js";
import { el, heading, number, pager, problem, table, when } from "./dom.js";

// Kept while the page lives, so coming back from a transcript finds the list as it was left.
const filters = { page: 1, page_size: 20, conversation_id: "", is_active: "" };

export const render = (view, context) => context.id ? transcript(view, context) : list(view);

async function list(view) {
  const form = el("form", { class: "filters", method: "post" },
    el("label", {}, "Conversation id", el("input", { name: "conversation_id", type: "search", value: filters.conversation_id })),
    el("label", {}, "State", el("select", { name: "is_active" },
      [["", "Any"], ["true", "Active"], ["false", "Inactive"]].map(([value, text]) =>
        el("option", { value, selected: filters.is_active === value }, text)))),
    el("label", {}, "Per page", el("select", { name: "page_size" },
      [10, 20, 50, 100].map(size => el("option", { value: size, selected: filters.page_size === size }, size)))),
    el("button", { type: "submit" }, "Apply"));
  const results = el("div", { "aria-live": "polite" });
  view.append(heading("Sessions"), form, results);

  const load = async page => {
    filters.page = page;
    const answer = await call("/sessions", { query: filters });
    const rows = answer.sessions.map(s => el("tr", {},
      el("td", {}, el("a", { href: `#/sessions/${encodeURIComponent(s.session_id)}`, class: "mono" }, s.session_id)),
      el("td", {}, when(s.last_update_time)),
      el("td", {}, when(s.created_at)),
      el("td", { class: "figure" }, number(s.message_count)),
      el("td", {}, s.is_active ? "active" : "inactive")));
    results.replaceChildren(answer.total === 0
      ? el("p", {}, "No sessions.")
      : table(filters.conversation_id ? `Sessions of conversation ${filters.conversation_id}` : "Sessions, newest first",
        ["Session", "Last update", "Created", "Messages", "State"], rows),
      pager(answer, page => load(page).catch(error => results.replaceChildren(problem(error)))));
  };
  form.addEventListener("submit", event => {
    event.preventDefault();
    const data = new FormData(form);
    filters.conversation_id = data.get("conversation_id").trim();
    filters.is_active = data.get("is_active");
    filters.page_size = Number(data.get("page_size"));
    load(1).catch(error => results.replaceChildren(problem(error)));
  });
  await load(filters.page);
}

async function transcript(view, { id, scopes }) {
  view.append(el("p", {}, el("a", { href: "#/sessions" }, "← All sessions")));
  const session = await call(`/sessions/${encodeURIComponent(id)}`);
  view.append(heading(`Session ${session.session_id}`), details(session));
  if (scopes.includes("sessions:delete"))
    view.append(el("button", { type: "button", class: "danger", onclick: () => confirmDelete(session) }, "Delete session…"));
  if (!scopes.includes("sessions:messages")) {
    view.append(el("p", { class: "hint" }, "This key lacks the sessions:messages scope, so the messages are not shown."));
    return;
  }
  const messages = [];
  for (let page = 1, more = true; more; page++) {
    const answer = await call(`/sessions/${encodeURIComponent(id)}/messages`, { query: { page, page_size: 100 } });
    messages.push(...answer.messages);
    more = answer.has_next;
  }
  view.append(el("h2", {}, "Transcript"), el("ol", { class: "transcript" }, messages.map(message)));
}

const details = s => el("dl", { class: "details" },
  [["Conversation id", s.conversation_id ?? "—"], ["User id", s.user_id ?? "—"], ["Created", when(s.created_at)],
   ["Last update", when(s.last_update_time)], ["State", s.is_active ? "active" : "inactive"], ["Messages", number(s.message_count)],
   ["Tokens", `${number(s.prompt_tokens)} prompt + ${number(s.completion_tokens)} completion = ${number(s.total_tokens)}`]]
    .map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));

const toolCalls = calls => calls?.length
  ? el("ul", { class: "tool-calls" }, calls.map(call => el("li", {},
      el("span", { class: "tool-name" }, call.function.name), el("pre", {}, call.function.arguments))))
  : null;

const message = m => el("li", { class: `message role-${m.role}` },
  el("p", { class: "meta" },
    el("strong", { class: "role" }, m.role),
    m.agent && el("span", {}, `agent ${m.agent}`),
    m.name && el("span", {}, `name ${m.name}`),
    m.tool_call_id && el("span", { class: "mono" }, `for ${m.tool_call_id}`),
    m.finish_reason && el("span", { class: "finish" }, `finish: ${m.finish_reason}`),
    m.interrupted && el("span", { class: "interrupted" }, "interrupted"),
    m.provider && el("span", {}, `provider ${m.provider}`),
    el("time", { datetime: m.created_at }, when(m.created_at))),
  m.content !== null && el("p", { class: "content" }, m.content),
  m.refusal && el("p", { class: "content refusal" }, `Refused: ${m.refusal}`),
  m.heard_content !== undefined && el("p", { class: "heard" }, `The caller heard: ${m.heard_content}`),
  toolCalls(m.tool_calls),
  m.agent_steps && el("details", {}, el("summary", {}, `${m.agent_steps.length} agent steps`),
    el("ol", {}, m.agent_steps.map(step => el("li", {}, el("strong", {}, step.agent), " ", step.content ?? "", toolCalls(step.tool_calls))))));

function confirmDelete(session) {
  const error = el("p", { class: "error", role: "alert" });
  const dialog = el("dialog", { "aria-labelledby": "delete-title" },
    el("h2", { id: "delete-title" }, "Delete this session?"),
    el("p", {}, `Session ${session.session_id} and its ${session.message_count} messages will be gone for good.`),
    error,
    el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
      el("button", {
        type: "button", class: "danger", onclick: async () => {
          try {
            await call(`/sessions/${encodeURIComponent(session.session_id)}`, { method: "DELETE" });
            dialog.close();
            location.hash = "#/sessions";
          } catch (failure) {
            error.textContent = failure.message;
          }
        },
      }, "Delete")));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
