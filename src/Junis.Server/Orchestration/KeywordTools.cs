using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

/// <summary>
/// Turns what the assistant said into a tool call: a farewell into <c>end_call</c>, a transfer into
/// <c>transfer_call</c> (or the name the request gives it). Only the assistant's reply is read, never the
/// caller's words, and only tools the request offers are called.
/// </summary>
public sealed partial class KeywordTools(IOptions<KeywordToolOptions> options, ILogger<KeywordTools> logger)
{
    /// <summary>The one call the reply asks for, if any. Tools the model already called are not called again.</summary>
    public StoredToolCall? Detect(string reply, IList<AITool>? offered, IEnumerable<string> alreadyCalled)
    {
        if (offered is not { Count: > 0 } || string.IsNullOrWhiteSpace(reply))
            return null;

        var heard = Normalize(reply);
        var called = alreadyCalled.ToHashSet(StringComparer.Ordinal);
        foreach (var (name, detector) in options.Value.Keywords.OrderByDescending(d => d.Value.Priority))
        {
            var phrase = detector.Phrases.FirstOrDefault(p => Says(heard, Normalize(p)));
            if (phrase is null)
                continue;
            var tool = detector.ToolNames.Select(n => offered.OfType<DeclaredFunction>().FirstOrDefault(t => t.Name == n)).FirstOrDefault(t => t is not null);
            if (tool is null || called.Contains(tool.Name))
                continue;

            if (Arguments(name, tool, phrase, reply) is { } arguments)
                return new StoredToolCall(Ids.Random("call_"), tool.Name, arguments);
        }
        return null;
    }

    /// <summary>
    /// Tools the conversation has just used: those its latest assistant message called, and those whose results end
    /// the input. A keyword must not call them again, or a client's tool loop would go round for ever.
    /// </summary>
    public static HashSet<string> ToolsJustUsed(List<ChatMessage> input)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var latestAssistant = input.FindLastIndex(m => m.Role == ChatRole.Assistant);
        if (latestAssistant >= 0)
            used.UnionWith(input[latestAssistant].Contents.OfType<FunctionCallContent>().Select(c => c.Name));
        for (var i = input.Count - 1; i >= 0 && (input[i].Role == ChatRole.Tool || input[i].Role == Roles.Function); i--)
        {
            if (input[i].Role == Roles.Function && input[i].AuthorName is { } function)
                used.Add(function);
            foreach (var result in input[i].Contents.OfType<FunctionResultContent>())
            {
                var call = input.Take(i).Reverse().SelectMany(m => m.Contents.OfType<FunctionCallContent>()).FirstOrDefault(c => c.CallId == result.CallId);
                if (call is not null)
                    used.Add(call.Name);
            }
        }
        return used;
    }

    /// <summary>Whether the tool, by its name, belongs to the detector that ends the conversation.</summary>
    public bool EndsConversation(string toolName) =>
        options.Value.Keywords.TryGetValue(KeywordToolOptions.EndCall, out var endCall) && endCall.ToolNames.Contains(toolName);

    /// <summary>
    /// The arguments, holding only what the tool's schema declares: <c>reason</c> says what was heard,
    /// <c>message</c> and <c>client_message</c> carry the reply, <c>agent_message</c> the reason; a property with a
    /// default or an enum takes it. Null when a required property cannot be filled.
    /// </summary>
    private string? Arguments(string detector, DeclaredFunction function, string phrase, string reply)
    {
        var arguments = new JsonObject();
        if (function.Parameters is not { ValueKind: JsonValueKind.Object } schema
            || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return "{}";
        }

        var reason = $"The assistant said \"{phrase}\".";
        foreach (var property in properties.EnumerateObject())
        {
            JsonNode? value = property.Name switch
            {
                "reason" => reason,
                "message" or "client_message" => reply,
                "agent_message" => reason,
                _ when property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("default", out var fallback) => JsonNode.Parse(fallback.GetRawText()),
                _ when property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("enum", out var choices)
                    && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0 => JsonNode.Parse(choices[0].GetRawText()),
                _ => null,
            };
            if (value is not null)
                arguments[property.Name] = value;
        }

        if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()).OfType<string>())
            {
                if (!arguments.ContainsKey(name))
                {
                    Unfillable(logger, phrase, detector, function.Name, name);
                    return null;
                }
            }
        }
        return arguments.ToJsonString();
    }

    private static string Normalize(string text) => text.Normalize(NormalizationForm.FormKC).ToLowerInvariant();

    /// <summary>Whether the phrase is said: a phrase with Latin letters must stand as whole words, others may sit inside words.</summary>
    private static bool Says(string heard, string phrase)
    {
        if (phrase.Length == 0)
            return false;
        var wholeWords = phrase.Any(char.IsAsciiLetter);
        for (var at = heard.IndexOf(phrase, StringComparison.Ordinal); at >= 0; at = heard.IndexOf(phrase, at + 1, StringComparison.Ordinal))
        {
            if (!wholeWords)
                return true;
            var before = at == 0 || !char.IsLetterOrDigit(heard[at - 1]) || !char.IsLetterOrDigit(phrase[0]);
            var end = at + phrase.Length;
            var after = end == heard.Length || !char.IsLetterOrDigit(heard[end]) || !char.IsLetterOrDigit(phrase[^1]);
            if (before && after)
                return true;
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Heard \"{Phrase}\" for {Detector}, but {Tool} requires '{Property}', which cannot be derived from the reply; no call made")]
    private static partial void Unfillable(ILogger logger, string phrase, string detector, string tool, string property);
}
