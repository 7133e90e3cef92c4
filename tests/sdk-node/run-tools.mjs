// Runs a client-side tool loop with openai-node's `chat.completions.runTools()`: the SDK asks the model, runs each
// function the model calls with its (parsed) arguments, sends the result back as a `role: "tool"` message, and asks
// again, until the model answers without a tool call. At most 6 requests, so a model (or server) that keeps calling
// shows as 6 calls rather than a hang. Tool sets:
//   weather   get_weather({ city }), a strict function made with `zodFunction`, whose arguments zod checks;
//   end_call  a voice agent's end_call({ reason, message }), declared by hand as README shows it.
// Prints each call's arguments and result, the final text and the number of requests.
// Usage: node run-tools.mjs <baseURL> <apiKey> weather|end_call '<request JSON>'
import OpenAI from "openai";
import { zodFunction } from "openai/helpers/zod";
import { z } from "zod";

const [baseURL, apiKey, toolSet, request] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const calls = [];
// Wraps a tool's function so that every run is counted, with what it was given and what it returned.
const record = (run) => (args) => {
  const result = run(args);
  calls.push({ arguments: args, result });
  return result;
};
const tools = {
  weather: [zodFunction({
    name: "get_weather",
    parameters: z.object({ city: z.string() }),
    function: record(({ city }) => `${city}: sunny, 21 C`),
  })],
  end_call: [{
    type: "function",
    function: {
      name: "end_call",
      description: "Ends the call",
      parameters: {
        type: "object",
        properties: { reason: { type: "string" }, message: { type: "string" } },
        required: ["reason"],
      },
      parse: JSON.parse,
      function: record(() => "call ended"),
    },
  }],
}[toolSet];

const runner = client.chat.completions.runTools(
  { model: "junis-orchestrator", tools, ...JSON.parse(request) },
  { maxChatCompletions: 6 },
);
const finalContent = await runner.finalContent();
process.stdout.write(JSON.stringify({ calls, finalContent, requests: runner.allChatCompletions().length }));
