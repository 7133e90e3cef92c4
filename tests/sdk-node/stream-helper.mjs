// Streams one chat completion through openai-node's `chat.completions.stream()` helper, which checks every
// chunk as it assembles the answer (a role for each choice, a finish_reason, well-formed tool calls), and
// prints the assembled completion as JSON. Usage: node stream-helper.mjs <baseURL> <apiKey> '<request JSON>'
import OpenAI from "openai";

const [baseURL, apiKey, request] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const stream = client.chat.completions.stream({ model: "junis-orchestrator", ...JSON.parse(request) });
const completion = await stream.finalChatCompletion();
process.stdout.write(JSON.stringify(completion));
