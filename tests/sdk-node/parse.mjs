// Asks for a structured answer the way openai-node's docs show it: a zod schema turned into `response_format` by
// `zodResponseFormat`, sent with `chat.completions.parse()` ("whole") or the `chat.completions.stream()` helper
// ("stream"). The SDK parses the answer's content and checks it against the schema (zod throws if it does not
// fit): the completion it prints carries the result as `choices[0].message.parsed`, beside the response_format
// the SDK sent (`sent`), for comparing with what reached the model.
// Usage: node parse.mjs <baseURL> <apiKey> whole|stream '<user message>'
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

const [baseURL, apiKey, mode, question] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const WeatherReport = z.object({ city: z.string(), forecast: z.string(), celsius: z.number() });
const request = {
  model: "junis-orchestrator",
  messages: [{ role: "user", content: question }],
  response_format: zodResponseFormat(WeatherReport, "weather_report"),
};
const completion = mode === "stream"
  ? await client.chat.completions.stream(request).finalChatCompletion()
  : await client.chat.completions.parse(request);
process.stdout.write(JSON.stringify({ completion, sent: request.response_format }));
