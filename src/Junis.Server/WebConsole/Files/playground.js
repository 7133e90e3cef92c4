// Playground: a streamed chat with the organization's orchestrator, or with one of its agents.
import { call, stream } from "./api.js";
import { el, heading, problem } from "./dom.js";

// One conversation while the page lives: its target, its session (X-Session-Id) and what was said.
const conversation = { target: "", sessionId: null, turns: [] };

export async function render(view, { scopes }) {
  const agents = scopes.includes("agents:list") && scopes.includes("agents:invoke")
    ? (await call("/agents", { query: { agent_type: "LLM_AGENT", is_active: true, page_size: 100 } })).agents
    : [];
  const target = el("select", { id: "target", name: "target" },
    el("option", { value: "" }, "Orchestrator"),
    agents.map(agent => el("option", { value: agent.id, selected: conversation.target === agent.id }, `Agent: ${agent.name}`)));
  const session = el("output", { id: "session-id", class: "mono" });
  const firstToken = el("output", { id: "first-token" });
  const log = el("ol", { class: "chat", "aria-label": "Conversation" });
  const input = el("textarea", { id: "prompt", name: "prompt", rows: "3", required: true,
    placeholder: "Say something; Enter sends, Shift+Enter starts a new line" });
  const send = el("button", { type: "submit" }, "Send");
  const form = el("form", { class: "composer", method: "post" }, el("label", { for: "prompt" }, "Message"), input, send);
  const status = el("div", { "aria-live": "polite" });

  const showSession = () => {
    session.textContent = conversation.sessionId ?? "none yet";
  };
  const bubble = (role, text) => {
    const content = el("p", { class: "content" }, text);
    log.append(el("li", { class: `message role-${role}` }, el("p", { class: "meta" }, el("strong", { class: "role" }, role)), content));
    return content;
  };
  const reset = () => {
    Object.assign(conversation, { target: target.value, sessionId: null, turns: [] });
    log.replaceChildren();
    firstToken.textContent = "—";
    status.replaceChildren();
    showSession();
    input.focus();
  };

  for (const turn of conversation.turns) bubble(turn.role, turn.text);
  showSession();
  firstToken.textContent = "—";

  target.addEventListener("change", reset);
  input.addEventListener("keydown", event => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || send.disabled) return;
    input.value = "";
    send.disabled = true;
    status.replaceChildren();
    bubble("user", text);
    conversation.turns.push({ role: "user", text });
    const reply = bubble("assistant", "");
    log.setAttribute("aria-busy", "true");
    const path = conversation.target ? `/agents/${encodeURIComponent(conversation.target)}/chat/completions` : "/v1/chat/completions";
    // The session keeps the history: after the first turn only the new message is sent, with the session's id.
    const body = { messages: [{ role: "user", content: text }], stream: true, stream_options: { include_usage: true },
      ...(conversation.sessionId ? { session_id: conversation.sessionId } : {}) };
    const started = performance.now();
    let first = true;
    try {
      await stream(path, body, {
        onOpen: response => {
          conversation.sessionId = response.headers.get("X-Session-Id") ?? conversation.sessionId;
          showSession();
        },
        onChunk: chunk => {
          const words = chunk.choices?.[0]?.delta?.content;
          if (!words) return;
          if (first) {
            firstToken.textContent = `${Math.round(performance.now() - started)} ms`;
            first = false;
          }
          reply.append(words);
        },
      });
      conversation.turns.push({ role: "assistant", text: reply.textContent });
    } catch (error) {
      status.replaceChildren(problem(error));
    } finally {
      log.removeAttribute("aria-busy");
      send.disabled = false;
      input.focus();
    }
  });

  view.append(heading("Playground"),
    el("div", { class: "toolbar" },
      el("label", { for: "target" }, "Answered by"), target,
      el("button", { type: "button", onclick: reset }, "New conversation")),
    el("dl", { class: "details" },
      el("dt", {}, "Session"), el("dd", {}, session),
      el("dt", {}, "Time to first token"), el("dd", {}, firstToken)),
    log, status, form);
}
