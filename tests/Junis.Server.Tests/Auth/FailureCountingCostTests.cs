using System.Diagnostics;
using System.Net;
using Junis.Server.Auth.Memory;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Auth;

/// <summary>
/// A failed authentication costs the in-memory counters the same however many addresses have failed: addresses are
/// cheap (IPv6), and a cost that grows with them would let a spray of them slow every attempt.
/// </summary>
public sealed class FailureCountingCostTests
{
    private const int Batch = 1_000, Batches = 5, Failed = 50_000;

    [Fact]
    public async Task AFailureCostsTheSameAfterFiftyThousandAddressesFailed()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 10, 0, 30, TimeSpan.Zero));
        var addresses = Enumerable.Range(0, Failed + Batches * Batch).Select(Address).ToArray();
        await FailAsync(new MemoryLimitCounters(clock), addresses.AsMemory(0, Batch)); // compiled before it is timed

        var counters = new MemoryLimitCounters(clock);
        // The fastest of several batches: on a busy machine a batch can only be slowed, never sped up.
        var first = await FastestBatchAsync(counters, addresses.AsMemory(0, Batches * Batch));
        await FailAsync(counters, addresses.AsMemory(Batches * Batch, Failed - Batches * Batch));
        var later = await FastestBatchAsync(counters, addresses.AsMemory(Failed, Batches * Batch));

        Assert.True(later < 100, $"a failure after {Failed} addresses took {later:F2} µs");
        Assert.True(later < 3 * first, $"{later:F2} µs a failure after {Failed} addresses, {first:F2} µs at first");
    }

    /// <summary>The mean cost of a failure, in microseconds, in the fastest batch of <see cref="Batch"/>.</summary>
    private static async Task<double> FastestBatchAsync(MemoryLimitCounters counters, ReadOnlyMemory<IPAddress> addresses)
    {
        var fastest = double.MaxValue;
        for (var start = 0; start < addresses.Length; start += Batch)
        {
            var watch = Stopwatch.StartNew();
            await FailAsync(counters, addresses.Slice(start, Batch));
            fastest = Math.Min(fastest, watch.Elapsed.TotalMicroseconds / Batch);
        }
        return fastest;
    }

    private static async Task FailAsync(MemoryLimitCounters counters, ReadOnlyMemory<IPAddress> addresses)
    {
        for (var i = 0; i < addresses.Length; i++)
            await counters.RecordFailureAsync(addresses.Span[i], 60, default);
    }

    /// <summary>A distinct IPv6 address for every number, as a spray of them from one /64 would have.</summary>
    private static IPAddress Address(int number)
    {
        var bytes = new byte[16];
        bytes[0] = 0x20;
        bytes[1] = 0x01;
        bytes[2] = 0x0d;
        bytes[3] = 0xb8;
        BitConverter.TryWriteBytes(bytes.AsSpan(12), number);
        return new IPAddress(bytes);
    }
}
