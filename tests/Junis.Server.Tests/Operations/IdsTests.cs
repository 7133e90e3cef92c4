namespace Junis.Server.Tests.Operations;

public sealed class IdsTests
{
    [Fact]
    public void TimeOrderedIdsAreVersion7UuidsCarryingTheirMillisecond()
    {
        var at = new DateTimeOffset(2026, 11, 30, 14, 5, 9, 123, TimeSpan.Zero);
        var id = Ids.TimeOrdered(at);
        var text = id.ToString();

        Assert.Equal(7, id.Version);
        Assert.Contains(text[19], "89ab");
        Assert.Equal(at.ToUnixTimeMilliseconds(), Convert.ToInt64(text[..8] + text[9..13], 16));
    }

    [Fact]
    public void TimeOrderedIdsAreUniqueAndSortByTheirTime()
    {
        var start = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 10_000).Select(i => Ids.TimeOrdered(start.AddMilliseconds(i / 100))).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        var texts = ids.Select(id => id.ToString()).ToList();
        for (var i = 100; i < texts.Count; i += 100)
            Assert.True(string.CompareOrdinal(texts[i - 1], texts[i]) < 0, "an id of a later millisecond sorts after the earlier ones");
    }

    [Fact]
    public void RandomIdsHaveThePrefixAnd32LowerCaseHexDigits()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => Ids.Random("chatcmpl-")).ToList();

        Assert.All(ids, id => Assert.Matches("^chatcmpl-[0-9a-f]{32}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
