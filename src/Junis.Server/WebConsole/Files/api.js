// The server's API as the console calls it: the signed-in key in the Authorization header, never in an address.
const keyName = "junis.key";
const base = new URL("../api/external/", import.meta.url);

export const storedKey = () => sessionStorage.getItem(keyName);
export const storeKey = key => sessionStorage.setItem(keyName, key);
export const forgetKey = () => sessionStorage.removeItem(keyName);

/** A refusal or failure, with the server's own message (OpenAI's error envelope) when it sent one. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const address = (path, query = {}) => {
  const url = new URL(path.replace(/^\//, ""), base);
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  return url;
};

const headers = (key, json) => ({
  Authorization: `Bearer ${key ?? storedKey()}`,
  ...(json ? { "Content-Type": "application/json" } : {}),
});

async function refusal(response) {
  let error;
  try {
    error = (await response.json()).error;
  } catch {
    // Not the envelope: a proxy's page, say.
  }
  return new ApiError(response.status, error?.message ?? `The server answered ${response.status}.`, error?.code);
}

/** The JSON answer of a call, or null for 204; throws an ApiError when the server refuses. */
export async function call(path, { method = "GET", query, body, key } = {}) {
  const response = await fetch(address(path, query), {
    method,
    headers: headers(key, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await refusal(response);
  return response.status === 204 ? null : response.json();
}

/**
 * Posts a streamed chat completion and hands each chunk to onChunk as it arrives; onOpen gets the response first,
 * for its headers. Resolves at `data: [DONE]`; a stream cut before it is an error, as the server means it to be.
 */
export async function stream(path, body, { onOpen, onChunk }) {
  const response = await fetch(address(path), { method: "POST", headers: headers(null, true), body: JSON.stringify(body) });
  if (!response.ok) throw await refusal(response);
  onOpen(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new ApiError(0, "The stream ended before it was complete.");
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const data = buffer.slice(0, end).split("\n")
        .filter(line => line.startsWith("data:")).map(line => line.slice(5).trimStart()).join("\n");
      buffer = buffer.slice(end + 2);
      if (data === "[DONE]") return;
      if (!data) continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(0, chunk.error.message, chunk.error.code);
      onChunk(chunk);
    }
  }
}
