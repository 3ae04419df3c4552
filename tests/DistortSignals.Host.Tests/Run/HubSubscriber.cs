using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// A real WebSocket client of the hub (/ws, docs/hub.md) subscribed to channels with an accounts filter; it keeps
/// every event it receives, in order, for the test to wait on.
/// </summary>
internal sealed class HubSubscriber : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<JsonElement> _events = [];
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiving = Task.CompletedTask;

    /// <summary>The CloudEvents received so far.</summary>
    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Connects with a reader key and returns once the hub confirmed the subscription, so no later event is missed.</summary>
    public static async Task<HubSubscriber> ConnectAsync(RunningPlatform platform, string[] channels, string account)
    {
        var hub = new HubSubscriber();
        hub._socket.Options.SetRequestHeader("X-API-Key", platform.ReaderKey);
        await hub._socket.ConnectAsync(new UriBuilder(platform.Address) { Scheme = "ws", Path = "/ws" }.Uri, hub._stop.Token);
        hub._receiving = hub.ReceiveAllAsync();
        var subscribe = JsonSerializer.Serialize(new { type = "subscribe", channels, filter = new { accounts = new[] { account } } });
        await hub._socket.SendAsync(Encoding.UTF8.GetBytes(subscribe), WebSocketMessageType.Text, true, hub._stop.Token);
        await hub._subscribed.Task.WaitAsync(TimeSpan.FromSeconds(15));
        return hub;
    }

    /// <summary>Waits for an event of <paramref name="type"/> (e.g. breaker.changed) whose data matches, and returns its data.</summary>
    public async Task<JsonElement> WaitForAsync(string type, Func<JsonElement, bool> data, string what, TimeSpan timeout)
    {
        JsonElement found = default;
        await Eventually.UntilAsync($"the hub delivered {type} with {what}", () =>
        {
            var match = Events.Where(e => e.GetProperty("type").GetString() == $"io.distortsignals.{type}.v1")
                .Select(e => e.GetProperty("data")).Where(data).ToList();
            found = match.FirstOrDefault();
            return match.Count > 0;
        }, timeout);
        return found;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _receiving;
        }
        catch (OperationCanceledException)
        {
        }

        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task ReceiveAllAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (_socket.State == WebSocketState.Open)
        {
            var result = await _socket.ReceiveAsync(buffer, _stop.Token);
            message.Write(buffer, 0, result.Count);
            if (!result.EndOfMessage)
            {
                continue;
            }

            var json = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
            message.SetLength(0);
            switch (json.GetProperty("type").GetString())
            {
                case "subscribed":
                    _subscribed.TrySetResult();
                    break;
                case "event":
                    lock (_events)
                    {
                        _events.Add(json.GetProperty("event"));
                    }

                    break;
            }
        }
    }
}
