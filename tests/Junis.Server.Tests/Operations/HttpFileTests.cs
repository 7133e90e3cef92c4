using System.Net;
using System.Text.RegularExpressions;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Operations;

/// <summary>Every request in <c>Junis.Server.http</c> works as written, in order, against the real pipeline.</summary>
public sealed partial class HttpFileTests : IDisposable
{
    private readonly JunisApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task EveryRequestInTheHttpFileSucceedsInOrder()
    {
        var text = await File.ReadAllTextAsync(Path.Combine(Repository.ServerSource, "Junis.Server.http"));
        var variables = Variable().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());
        Assert.Equal("jns_live_DevelopmentKeyForLocalUseOnly000", variables["key"]);
        variables["key"] = JunisApp.Key; // the Development profile's key is refused outside Development
        variables["host"] = "";
        var requests = text.Split("###").Skip(1).Select(block => Parse(block, variables)).ToList();
        Assert.True(requests.Count >= 10, $"Only {requests.Count} requests were read.");

        using var client = _app.CreateClient();
        foreach (var (title, request) in requests)
        {
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{title}: {(int)response.StatusCode} {body}");
            if (response.StatusCode != HttpStatusCode.NoContent)
                Assert.DoesNotContain("\"error\"", body);
        }
    }

    private static (string Title, HttpRequestMessage Request) Parse(string block, Dictionary<string, string> variables)
    {
        var lines = Placeholder().Replace(block, m => variables[m.Groups[1].Value]).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var title = lines[0].Trim();
        var start = lines.FindIndex(1, l => l.Length > 0 && !l.StartsWith('#'));
        var requestLine = lines[start].Split(' ', 2);
        var request = new HttpRequestMessage(new HttpMethod(requestLine[0]), requestLine[1]);
        var headerEnd = lines.FindIndex(start + 1, l => l.Length == 0);
        if (headerEnd < 0)
            headerEnd = lines.Count;
        var body = string.Join('\n', lines.Skip(headerEnd + 1)).Trim();
        string? contentType = null;
        foreach (var header in lines.Skip(start + 1).Take(headerEnd - start - 1))
        {
            var (name, value) = (header[..header.IndexOf(':')], header[(header.IndexOf(':') + 1)..].Trim());
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                contentType = value;
            else
                request.Headers.TryAddWithoutValidation(name, value);
        }
        if (body.Length > 0)
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, contentType ?? "application/json");
        return (title, request);
    }

    [GeneratedRegex(@"^@(\w+)\s*=\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex Variable();

    [GeneratedRegex(@"\{\{(\w+)\}\}")]
    private static partial Regex Placeholder();
}
