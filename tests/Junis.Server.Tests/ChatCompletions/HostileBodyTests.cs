using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Junis.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Junis.Server.Tests.ChatCompletions;

public sealed class HostileBodyTests(ITestOutputHelper output) : IDisposable
{
    private readonly JunisApp _app = new();

    private async Task Probe(HttpClient client, string name, HttpContent content)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            using var r = await client.PostAsync(Api.Completions, content);
            var text = await r.Content.ReadAsStringAsync();
            output.WriteLine($"{name}: {(int)r.StatusCode} {r.Content.Headers.ContentType} {sw.ElapsedMilliseconds}ms {text[..Math.Min(300, text.Length)]}");
        }
        catch (Exception e) { output.WriteLine($"{name}: EXCEPTION {e.GetType().Name} {e.Message} {sw.ElapsedMilliseconds}ms"); }
    }

    private static ByteArrayContent Raw(byte[] bytes) { var c = new ByteArrayContent(bytes); c.Headers.ContentType = new MediaTypeHeaderValue("application/json"); return c; }
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);
    private static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    [Fact]
    public async Task ProbeInMemory()
    {
        var c = _app.CreateAuthorizedClient();
        await Probe(c, "empty", Raw([]));
        await Probe(c, "null", Raw(B("null")));
        await Probe(c, "lone", Api.Json("""{"messages":[{"role":"user","content":"a\ud800b"}]}"""));
        await Probe(c, "lonelow", Api.Json("""{"messages":[{"role":"\udc00","content":"a"}]}"""));
        await Probe(c, "badutf8content", Raw(Cat(B("""{"messages":[{"role":"user","content":"a"""), [0xFF, 0xFE], B("\"}]}"))));
        await Probe(c, "badutf8unknown", Raw(Cat(B("""{"messages":[{"role":"user","content":"a"}],"x":"""), [0x22, 0xFF, 0x22], B("}"))));
        await Probe(c, "badutf8key", Raw(Cat(B("""{"messages":[{"role":"user","content":"a"}],"""), [0x22, 0xC0, 0xAF, 0x22], B(":1}"))));
        await Probe(c, "overlong", Raw(Cat(B("""{"messages":[{"role":"user","content":"a"""), [0xC0, 0xAF], B("\"}]}"))));
        await Probe(c, "surrogateutf8", Raw(Cat(B("""{"messages":[{"role":"user","content":"a"""), [0xED, 0xA0, 0x80], B("\"}]}"))));
        await Probe(c, "bom", Raw(Cat([0xEF, 0xBB, 0xBF], B("""{"messages":[{"role":"user","content":"a"}]}"""))));
        await Probe(c, "dup", Api.Json("""{"messages":[{"role":"user","content":"a"}],"messages":[{"role":"user","content":"b"}]}"""));
        await Probe(c, "params-null", Api.Json("""{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f","parameters":null}}]}"""));
        await Probe(c, "e309", Api.Json("""{"messages":[{"role":"user","content":"a"}],"temperature":1e309}"""));
        await Probe(c, "e309unknown", Api.Json("""{"messages":[{"role":"user","content":"a"}],"seed":1e309}"""));
        await Probe(c, "deeparr", Api.Json(new string('[', 10000) + new string(']', 10000)));
        await Probe(c, "deepextra", Api.Json("""{"messages":[{"role":"user","content":"a"}],"elevenlabs_extra_body":""" + string.Concat(Enumerable.Repeat("{\"a\":", 10000)) + "1" + new string('}', 10000) + "}"));
        await Probe(c, "typeTemp", Api.Json("""{"messages":[{"role":"user","content":"a"}],"temperature":"hot"}"""));
        await Probe(c, "fnnewline", Api.Json("""{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f\n"}}]}"""));
        await Probe(c, "10k", Api.Json("{\"messages\":[" + string.Join(",", Enumerable.Repeat("""{"role":"user","content":"hi"}""", 10000)) + "]}"));
        await Probe(c, "2mib", Api.Json(new { messages = new[] { new { role = "user", content = new string('a', 2 * 1024 * 1024) } } }));
        await Probe(c, "900kb-words", Api.Json(new { messages = new[] { new { role = "user", content = string.Concat(Enumerable.Repeat("lorem ipsum ", 900 * 1024 / 12)) } } }));
        await Probe(c, "900kb-a", Api.Json(new { messages = new[] { new { role = "user", content = new string('a', 900 * 1024) } } }));
        var chunked = new StreamContent(new MemoryStream(B("{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 2 * 1024 * 1024) + "\"}]}")));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await Probe(c, "chunked2mib-memory", new NoLength(chunked));
        await Probe(c, "ok", Api.Json("""{"messages":[{"role":"user","content":"a"}]}"""));
        using var get = await c.GetAsync(Api.Completions);
        output.WriteLine($"GET {(int)get.StatusCode} {get.Content.Headers.ContentType} allow={get.Content.Headers.Allow} {await get.Content.ReadAsStringAsync()}");
        await Probe(c, "nocontenttype", new ByteArrayContent(B("{}")));
    }

    [Fact]
    public async Task ProbeKestrel()
    {
        using var app = new JunisApp();
        app.UseKestrel(0);
        app.StartServer();
        var c = app.CreateAuthorizedClient();
        output.WriteLine("base " + c.BaseAddress);
        var chunked = new StreamContent(new MemoryStream(B("{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 2 * 1024 * 1024) + "\"}]}")));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await Probe(c, "chunked2mib-kestrel", new NoLength(chunked));
        await Probe(c, "cl2mib-kestrel", Api.Json(new { messages = new[] { new { role = "user", content = new string('a', 2 * 1024 * 1024) } } }));
        await Probe(c, "ok", Api.Json("""{"messages":[{"role":"user","content":"a"}]}"""));
    }

    private sealed class NoLength(HttpContent inner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => inner.CopyToAsync(stream);
        protected override bool TryComputeLength(out long length) { length = 0; return false; }
    }

    public void Dispose() => _app.Dispose();
}
