using System.Text.Json;
using DistortSignals.Hub.Core;

namespace DistortSignals.Hub.Tests.Core;

/// <summary>Reads a hub client's queue as a connection would, with a timeout so a missing message fails the test.</summary>
internal static class HubClientReader
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static async Task<JsonElement> NextAsync(this HubClient client)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var message = await client.ReadAsync(timeout.Token);
        Assert.True(message.Close is null, $"expected a message, got close {message.Close}");
        return JsonDocument.Parse(message.Frame).RootElement.Clone();
    }

    public static async Task<HubClose> NextCloseAsync(this HubClient client)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            var message = await client.ReadAsync(timeout.Token);
            if (message.Close is { } close)
            {
                return close;
            }
        }
    }

    /// <summary>Asserts that nothing is queued: a read does not complete at once.</summary>
    public static async Task AssertNothingPendingAsync(this HubClient client)
    {
        using var cancel = new CancellationTokenSource();
        var read = client.ReadAsync(cancel.Token).AsTask();
        await Task.Yield();
        Assert.False(read.IsCompleted, read.IsCompleted ? $"unexpected message: {System.Text.Encoding.UTF8.GetString(read.Result.Frame.Span)}" : "");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
    }

    public static string Type(this JsonElement message) => message.GetProperty("type").GetString()!;

    public static long Seq(this JsonElement message) => message.GetProperty("seq").GetInt64();
}
