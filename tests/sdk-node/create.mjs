// Sends one request with `chat.completions.create()` and prints what a caller of the SDK gets: the completion
// (or, streamed, every chunk) and the request id the SDK read from the answer's x-request-id header, or else the
// error the SDK raised, with the fields and headers a caller decides on (its class says which status it was).
// Usage: node create.mjs <baseURL> <apiKey> '<request JSON>'
import OpenAI from "openai";

const [baseURL, apiKey, request] = process.argv.slice(2);
// No retries: a 429 must reach this script as the SDK's error, not be waited out.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
try {
  const { data, request_id } = await client.chat.completions
    .create({ model: "junis-orchestrator", ...JSON.parse(request) })
    .withResponse();
  if (typeof data[Symbol.asyncIterator] === "function") {
    const chunks = [];
    for await (const chunk of data) chunks.push(chunk);
    process.stdout.write(JSON.stringify({ chunks, requestId: request_id }));
  } else {
    process.stdout.write(JSON.stringify({ completion: data, requestId: request_id }));
  }
} catch (err) {
  if (!(err instanceof OpenAI.APIError)) throw err;
  process.stdout.write(JSON.stringify({
    error: {
      class: err.constructor.name, status: err.status, type: err.type, code: err.code, message: err.message,
      requestID: err.requestID,
      retryAfter: err.headers?.get("retry-after"), retryAfterMs: err.headers?.get("retry-after-ms"),
    },
  }));
}
