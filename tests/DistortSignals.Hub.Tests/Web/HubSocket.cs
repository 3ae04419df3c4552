using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using DistortSignals.Hub.Tests.Core;

namespace DistortSignals.Hub.Tests.Web;

/// <summary>A real client connection to <c>/ws</c> that reads JSON messages with a timeout.</summary>
internal sealed class HubSocket(ClientWebSocket socket) : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public ClientWebSocket Socket => socket;

    public async Task SendAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    public async Task<JsonElement> SubscribeAsync(string subscribe)
    {
        await SendAsync(subscribe);
        var answer = await ReceiveAsync();
        Assert.Equal("subscribed", answer.Type());
        return answer;
    }

    /// <summary>The next message; fails when none comes within the timeout or the server closes.</summary>
    public async Task<JsonElement> ReceiveAsync()
    {
        var (text, close) = await ReceiveMessageAsync();
        Assert.True(text is not null, $"expected a message, the server closed: {close}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Reads past any messages to the server's close frame and returns its status and reason.</summary>
    public async Task<(WebSocketCloseStatus? Status, string? Reason)> ReceiveCloseAsync()
    {
        while (true)
        {
            var (text, close) = await ReceiveMessageAsync();
            if (text is null)
            {
                return close;
            }
        }
    }

    public void Dispose() => socket.Dispose();

    private async Task<(string? Text, (WebSocketCloseStatus?, string?) Close)> ReceiveMessageAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (null, (result.CloseStatus, result.CloseStatusDescription));
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (Encoding.UTF8.GetString(message.ToArray()), (null, null));
            }
        }
    }
}
