namespace MockUpstream;

/// <summary>How a streamed answer is paced: how many content chunks, and the pause between two of them.</summary>
public sealed record StreamSettings(int Chunks, int DelayMs)
{
    public const string ChunksHeader = "x-mock-chunks";
    public const string DelayHeader = "x-mock-delay-ms";

    public StreamSettings OverriddenBy(IHeaderDictionary headers) =>
        headers.ContainsKey(ChunksHeader) || headers.ContainsKey(DelayHeader)
            ? new(ParseOr(headers[ChunksHeader], Chunks), ParseOr(headers[DelayHeader], DelayMs))
            : this;

    public StreamSettings OverriddenBy(IQueryCollection query) => new(
        ParseOr(query["chunks"], Chunks),
        ParseOr(query["delay_ms"], DelayMs));

    static int ParseOr(string? text, int fallback) =>
        int.TryParse(text, out var value) && value >= 0 ? value : fallback;
}
