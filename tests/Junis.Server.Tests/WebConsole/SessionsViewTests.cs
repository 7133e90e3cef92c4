using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// The Sessions view in a real browser: a conversation held with curl and the API is found in the list and read as a
/// transcript (roles, tool calls, finish reasons, the interrupted reply, token counts), and a session is deleted once
/// the user confirms.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed partial class SessionsViewTests(ConsoleFixture fixture)
{
    private HttpClient Api => fixture.Server.Client;

    /// <summary>A turn sent by curl as the README shows it, naming its session; the session's id from its X-Session-Id header.</summary>
    private async Task<string> CurlAsync(string conversation, string text)
    {
        var body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = text } }, session_id = conversation });
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true };
        foreach (var argument in new[] { "-s", "-D", "-", "-o", "/dev/null", new Uri(fixture.Address, Infrastructure.Api.Completions).ToString(),
            "-H", $"Authorization: Bearer {JunisApp.Key}", "-H", "Content-Type: application/json", "-d", body })
            start.ArgumentList.Add(argument);
        using var curl = Process.Start(start)!;
        var headers = await curl.StandardOutput.ReadToEndAsync();
        await curl.WaitForExitAsync();

        Assert.Equal(0, curl.ExitCode);
        Assert.StartsWith("HTTP/1.1 200", headers, StringComparison.Ordinal);
        return SessionHeader().Match(headers).Groups[1].Value;
    }

    /// <summary>A streamed turn whose caller hangs up after its first few words: the session keeps it, marked interrupted.</summary>
    private async Task InterruptAsync(string conversation)
    {
        const string Story = "Tell me the whole story of the lighthouse keeper who counted every ship that passed his island for forty years, " +
            "and of the night the light went out and a small boat found its way home anyway.";
        // Nothing of the rest of the answer is drained: disposed, it closes the connection at once, as a caller hanging up does.
        using var caller = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = fixture.Address };
        caller.DefaultRequestHeaders.Authorization = new("Bearer", JunisApp.Key);
        using var request = new HttpRequestMessage(HttpMethod.Post, Infrastructure.Api.Completions)
        {
            Content = Infrastructure.Api.Json(new { messages = new[] { Infrastructure.Api.UserMessage(Story) }, stream = true, session_id = conversation }),
        };
        using (var response = await caller.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var events = new StreamReader(await response.Content.ReadAsStreamAsync());
            for (var words = 0; words < 6;)
                words += (await events.ReadLineAsync())!.StartsWith("data:", StringComparison.Ordinal) ? 1 : 0;
        }
        for (var tries = 0; !await HasInterruptedReplyAsync(conversation); tries++)
        {
            Assert.True(tries < 100, "The interrupted reply was not stored within 10 s.");
            await Task.Delay(100);
        }
    }

    private async Task<bool> HasInterruptedReplyAsync(string conversation)
    {
        using var response = await Api.GetAsync($"/api/external/sessions/{conversation}/messages");
        return response.StatusCode == HttpStatusCode.OK
            && (await response.ReadJsonAsync())["messages"]!.AsArray().Any(m => (bool?)m!["interrupted"] == true);
    }

    [Fact]
    public async Task ATurnRunWithCurlIsFoundInTheListAndReadAsATranscript()
    {
        var conversation = $"curl-{Guid.NewGuid():N}";
        var sessionId = await CurlAsync(conversation, "Hello from curl");
        await InterruptAsync(conversation);
        var tools = new[]
        {
            new { type = "function", function = new { name = "lookup_order", parameters = new { type = "object", properties = new { order_id = new { type = "string" } }, required = new[] { "order_id" } } } },
        };
        using (var toolTurn = await Api.PostCompletionAsync(new { messages = new[] { Infrastructure.Api.UserMessage("Where is my order?") }, tools, tool_choice = "required", session_id = conversation }))
            Assert.Equal(HttpStatusCode.OK, toolTurn.StatusCode);
        var session = await (await Api.GetAsync($"/api/external/sessions/{sessionId}")).ReadJsonAsync();
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);

        await console.Page.GetByLabel("Conversation id").FillAsync(conversation);
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(console.Page.Locator("caption")).ToHaveTextAsync($"Sessions of conversation {conversation}");
        await Expect(console.Page.Locator("table tbody tr")).ToHaveCountAsync(1);
        await console.Page.GetByRole(AriaRole.Link, new() { Name = sessionId }).FocusAsync();
        await console.Page.Keyboard.PressAsync("Enter");

        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = $"Session {sessionId}" })).ToBeVisibleAsync();
        var messages = console.Page.Locator(".transcript > .message");
        await Expect(messages).ToHaveCountAsync((int)session["message_count"]!);
        await Expect(messages.Nth(0)).ToContainTextAsync("user");
        await Expect(messages.Nth(0)).ToContainTextAsync("Hello from curl");
        await Expect(messages.Nth(1)).ToContainTextAsync("Echo: Hello from curl");
        await Expect(messages.Nth(1)).ToContainTextAsync("finish: stop");
        await Expect(messages.Nth(3).Locator(".interrupted")).ToHaveTextAsync("interrupted");
        await Expect(messages.Nth(5).Locator(".tool-name")).ToHaveTextAsync("lookup_order");
        await Expect(messages.Nth(5).Locator("pre")).ToContainTextAsync("order_id");
        await Expect(messages.Nth(5)).ToContainTextAsync("finish: tool_calls");
        // The browser's language is English, and so are its number separators.
        await Expect(console.Page.Locator(".details")).ToContainTextAsync(string.Create(CultureInfo.GetCultureInfo("en-US"),
            $"{(long)session["prompt_tokens"]!:N0} prompt + {(long)session["completion_tokens"]!:N0} completion = {(long)session["total_tokens"]!:N0}"));
        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
        await messages.Last.ScrollIntoViewIfNeededAsync();
    }

    [Fact]
    public async Task ASessionIsDeletedOnlyOnceConfirmed()
    {
        var conversation = $"delete-{Guid.NewGuid():N}";
        using var turn = await Api.PostCompletionAsync(new { messages = new[] { Infrastructure.Api.UserMessage("Forget me") }, session_id = conversation });
        var sessionId = turn.Headers.GetValues("X-Session-Id").Single();
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);
        await console.Page.GotoAsync($"/console/#/sessions/{sessionId}");
        var delete = console.Page.GetByRole(AriaRole.Button, new() { Name = "Delete session…" });
        var dialog = console.Page.GetByRole(AriaRole.Dialog, new() { Name = "Delete this session?" });

        await delete.ClickAsync();
        await Expect(dialog).ToContainTextAsync(sessionId);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        using (var kept = await Api.GetAsync($"/api/external/sessions/{sessionId}"))
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);

        await delete.ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();

        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Sessions" })).ToBeVisibleAsync();
        Assert.EndsWith("#/sessions", console.Page.Url, StringComparison.Ordinal);
        await console.Page.GetByLabel("Conversation id").FillAsync(conversation);
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(console.Page.GetByText("No sessions.")).ToBeVisibleAsync();
        using (var gone = await Api.GetAsync($"/api/external/sessions/{sessionId}"))
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
    }

    [GeneratedRegex(@"(?im)^X-Session-Id:\s*(\S+)")]
    private static partial Regex SessionHeader();
}
