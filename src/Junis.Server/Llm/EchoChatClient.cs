using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// The zero-configuration model: offline and deterministic. It answers "Echo: " followed by the last user message
/// (its images, audio and files named in brackets), word by word, and honours what a caller can ask of a real model's
/// answer: the output token limit, stop sequences, a JSON object or a JSON Schema's shape, a required tool call, and
/// log probabilities. Offered the server's <c>transfer_to_agent</c>, it hands over to the agent the last user message
/// names, so an organization's agents can be tried out offline.
/// </summary>
public sealed partial class EchoChatClient(TokenCounter tokens, TimeSpan wordDelay) : IChatClient
{
    public const string Prefix = "Echo: ";

    /// <summary>The function with which the server's agents hand over to their sub-agents (Orchestration's AgentRun).</summary>
    private const string TransferFunction = "transfer_to_agent";

    /// <summary>The longest answer, as every model has an output limit: what an answer costs the server grows with it.</summary>
    public const int MaxOutputTokens = 4096;

    // The answer to response_format json_object: the echo in an object.
    private static readonly JsonElement EchoObject =
        JsonElement.Parse("""{"type":"object","properties":{"echo":{"type":"string"}},"required":["echo"]}""");

    public static string ReplyTo(string? lastUserText) =>
        string.IsNullOrWhiteSpace(lastUserText) ? Prefix + "(no user message)" : Prefix + lastUserText;

    /// <summary>The whole answer as one message: its text or tool call, and one logprobs object for all its tokens.</summary>
    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        // Word by word only when each word has a pause of its own: otherwise a long answer costs a copy, not an update per word.
        if (wordDelay > TimeSpan.Zero)
            return await CollectAsync(GetStreamingResponseAsync(messages, options, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        var (call, reply, finish) = Answer(messages as IReadOnlyList<ChatMessage> ?? [.. messages], options);
        // The words streamed carry no whitespace after the last one.
        List<AIContent> contents = [call ?? (AIContent)new TextContent(reply.TrimEnd())];
        using var logprobs = call is null ? LogprobsAskedFor(options) : null;
        if (logprobs is not null && Words().Matches(reply) is { Count: > 0 } words)
            contents.Add(logprobs.For(words.Select(word => word.Value)));
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents)) { FinishReason = finish };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (call, reply, finish) = Answer(messages as IReadOnlyList<ChatMessage> ?? [.. messages], options);
        if (call is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, [call]);
            yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = finish };
            yield break;
        }

        using var logprobs = LogprobsAskedFor(options);
        var first = true;
        foreach (Match word in Words().Matches(reply))
        {
            if (!first && wordDelay > TimeSpan.Zero)
                await Task.Delay(wordDelay, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            first = false;
            yield return logprobs is null
                ? new ChatResponseUpdate(ChatRole.Assistant, word.Value)
                : new ChatResponseUpdate(ChatRole.Assistant, [new TextContent(word.Value), logprobs.For(word.Value)]);
        }
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = finish };
    }

    /// <summary>What Echo answers: a required tool call, or the reply in the response format, cut by stop sequences and the token limit.</summary>
    private (ToolCallFragment? Call, string Reply, ChatFinishReason Finish) Answer(IReadOnlyList<ChatMessage> conversation, ChatOptions? options)
    {
        var toolRequired = options?.ToolMode is RequiredChatToolMode;
        var toolResult = EchoPrompt.FinalToolResult(conversation);
        // After a tool's result, a required call would call again and again: answering the result lets a tool loop end.
        var echo = toolRequired && toolResult is not null
            ? ReplyToToolResult(EchoPrompt.ResultText(toolResult.Result))
            : ReplyTo(conversation.LastOrDefault(m => m.Role == ChatRole.User) is { } user ? EchoPrompt.Describe(user) : null);

        if (toolRequired && toolResult is null && RequiredTool(options!) is { } tool)
        {
            // Whole arguments in one piece; a tool call is not cut by max_tokens or stop sequences.
            var arguments = tool.JsonSchema.ValueKind == JsonValueKind.Object ? SchemaSample.Json(tool.JsonSchema, echo) : "{}";
            return (new ToolCallFragment(0, Ids.Random("call_"), tool.Name, arguments), "", ChatFinishReason.ToolCalls);
        }

        if (!toolRequired && toolResult is null && HandOver(options, conversation) is { } handOver)
            return (handOver, "", ChatFinishReason.ToolCalls);

        var reply = InResponseFormat(echo, options);
        var finish = ChatFinishReason.Stop;
        foreach (var stop in options?.StopSequences ?? [])
        {
            var at = reply.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0) reply = reply[..at];
        }
        var limit = Math.Min(options?.MaxOutputTokens ?? MaxOutputTokens, MaxOutputTokens);
        if (tokens.Count(reply) > limit)
        {
            reply = tokens.Truncate(reply, limit);
            finish = ChatFinishReason.Length;
        }
        return (null, reply, finish);
    }

    /// <summary>A call of <c>transfer_to_agent</c> for the first of its agents whose name is a word of the last user message.</summary>
    private static ToolCallFragment? HandOver(ChatOptions? options, IReadOnlyList<ChatMessage> conversation)
    {
        if (options?.Tools?.OfType<AIFunctionDeclaration>().FirstOrDefault(f => f.Name == TransferFunction) is not { } transfer
            || conversation.LastOrDefault(m => m.Role == ChatRole.User) is not { } user
            || !transfer.JsonSchema.TryGetProperty("properties", out var properties)
            || !properties.TryGetProperty("agent_name", out var agentName) || !agentName.TryGetProperty("enum", out var agents))
            return null;
        var words = NameWords().Matches(EchoPrompt.Describe(user)).Select(w => w.Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var named = agents.EnumerateArray().Select(a => a.GetString()).FirstOrDefault(a => a is not null && words.Contains(a));
        return named is null ? null
            : new ToolCallFragment(0, Ids.Random("call_"), TransferFunction, new System.Text.Json.Nodes.JsonObject { ["agent_name"] = named }.ToJsonString());
    }

    /// <summary>A streamed answer as one message: its text or tool call, and one logprobs object for all its tokens.</summary>
    private static async Task<ChatResponse> CollectAsync(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        var text = new StringBuilder();
        ToolCallFragment? call = null;
        var logprobs = new List<LogprobsContent>();
        ChatFinishReason? finish = null;
        await foreach (var update in updates)
        {
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent piece:
                        text.Append(piece.Text);
                        break;
                    case ToolCallFragment fragment:
                        call = fragment;
                        break;
                    case LogprobsContent pieceLogprobs:
                        logprobs.Add(pieceLogprobs);
                        break;
                }
            }
            finish = update.FinishReason ?? finish;
        }
        List<AIContent> contents = [call ?? (AIContent)new TextContent(text.ToString())];
        if (logprobs.Count > 0)
            contents.Add(EchoLogprobs.Merge(logprobs));
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents)) { FinishReason = finish };
    }

    private static string ReplyToToolResult(string result) =>
        Prefix + (string.IsNullOrWhiteSpace(result) ? "(empty tool result)" : result);

    /// <summary>Log probabilities when the caller asks for them, with the token itself as its alternative if it asks for those.</summary>
    private static EchoLogprobs? LogprobsAskedFor(ChatOptions? options) =>
        RequestField(options, "logprobs") is { ValueKind: JsonValueKind.True }
            ? new EchoLogprobs(withTopLogprobs: RequestField(options, "top_logprobs") is { ValueKind: JsonValueKind.Number } top
                                                && top.TryGetInt32(out var count) && count >= 1)
            : null;

    /// <summary>The tool a caller requires a call of: the one it names, or the first when any will do.</summary>
    private static AIFunctionDeclaration? RequiredTool(ChatOptions options)
    {
        var functions = options.Tools?.OfType<AIFunctionDeclaration>() ?? [];
        return options.ToolMode is RequiredChatToolMode { RequiredFunctionName: { } name }
            ? functions.FirstOrDefault(f => f.Name == name)
            : functions.FirstOrDefault();
    }

    /// <summary>The echo as the caller's response_format asks: as it is, in a JSON object, or as a JSON Schema's sample.</summary>
    private static string InResponseFormat(string echo, ChatOptions? options)
    {
        if (RequestField(options, "response_format") is not { ValueKind: JsonValueKind.Object } format
            || !format.TryGetProperty("type", out var type))
            return echo;
        if (type.ValueEquals("json_schema") && format.TryGetProperty("json_schema", out var jsonSchema)
            && jsonSchema.ValueKind == JsonValueKind.Object && jsonSchema.TryGetProperty("schema", out var schema))
            return SchemaSample.Json(schema, echo);
        // json_schema without a schema asks only for JSON, as json_object does.
        return type.ValueEquals("json_object") || type.ValueEquals("json_schema") ? SchemaSample.Json(EchoObject, echo) : echo;
    }

    /// <summary>A request field the server passed on, by its OpenAI name, as the caller wrote it.</summary>
    private static JsonElement? RequestField(ChatOptions? options, string name) =>
        options?.AdditionalProperties?.TryGetValue(name, out var value) == true && value is JsonElement field ? field : null;

    private static readonly ChatClientMetadata Metadata = new("junis.echo", defaultModelId: "echo");

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }

    [GeneratedRegex(@"[A-Za-z0-9_-]+")]
    private static partial Regex NameWords();

    // A word with the whitespace before it, so that the pieces concatenate back to the reply.
    [GeneratedRegex(@"\s*\S+")]
    private static partial Regex Words();
}
