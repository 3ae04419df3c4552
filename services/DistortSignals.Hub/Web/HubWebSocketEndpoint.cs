using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using DistortSignals.Hub.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DistortSignals.Hub.Web;

/// <summary>
/// <c>GET /ws</c>: accepts the WebSocket and runs two loops over one <see cref="HubClient"/>: one reads
/// the client's text messages into it, the other sends its queue. Only the send loop writes to the
/// socket, close frames included, so sends never overlap.
/// </summary>
internal static class HubWebSocketEndpoint
{
    public static async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest,
                detail: "GET /ws needs a WebSocket upgrade request").ExecuteAsync(context);
            return;
        }

        if (!TryReadSince(context.Request.Query["since"], out var since))
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest,
                detail: "since must be a non-negative integer: the last seq the client has seen").ExecuteAsync(context);
            return;
        }

        var hub = context.RequestServices.GetRequiredService<EventHub>();
        var metrics = context.RequestServices.GetRequiredService<HubMetrics>();
        var options = context.RequestServices.GetRequiredService<IOptions<HubOptions>>().Value;
        var lifetime = context.RequestServices.GetRequiredService<IHostApplicationLifetime>();
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
        });

        var client = hub.Connect(since);
        using var stopping = lifetime.ApplicationStopping.Register(() => client.RequestClose(HubCloseStatus.GoingAway, "hub is shutting down"));
        try
        {
            var loops = Task.WhenAll(
                ReceiveAsync(socket, client, options.MaxMessageBytes, context.RequestAborted),
                SendAsync(socket, client, metrics, context.RequestAborted));
            await Task.WhenAny(loops, client.CloseRequested);
            if (await Task.WhenAny(loops, Task.Delay(options.CloseTimeout, context.RequestAborted)) != loops)
            {
                socket.Abort();
            }

            await loops;
        }
        finally
        {
            hub.Disconnect(client);
        }
    }

    private static bool TryReadSince(string? text, out long? since)
    {
        since = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            since = value;
            return true;
        }

        return false;
    }

    private static async Task ReceiveAsync(WebSocket socket, HubClient client, int maxMessageBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(maxMessageBytes + 1);
        try
        {
            var length = 0;
            var refusing = false;
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(length, buffer.Length - length), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    client.RequestClose(HubCloseStatus.NormalClosure, "closed by the client");
                    return;
                }

                length += result.Count;
                if (refusing)
                {
                    length = 0;
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    client.Refuse(HubCloseStatus.InvalidMessageType, "binary messages are not supported: send JSON text");
                    refusing = true;
                }
                else if (length > maxMessageBytes)
                {
                    client.Refuse(HubCloseStatus.MessageTooBig, $"message larger than {maxMessageBytes} bytes");
                    refusing = true;
                }
                else if (result.EndOfMessage)
                {
                    client.Receive(Encoding.UTF8.GetString(buffer, 0, length));
                }

                // Once refused, the rest is read only to reach the client's close frame.
                if (result.EndOfMessage || refusing)
                {
                    length = 0;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            client.RequestClose(HubCloseStatus.GoingAway, "connection lost");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task SendAsync(WebSocket socket, HubClient client, HubMetrics metrics, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var message = await client.ReadAsync(cancellationToken);
                if (message.Close is { } close)
                {
                    if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync((WebSocketCloseStatus)close.Status, close.Reason, cancellationToken);
                    }

                    return;
                }

                await socket.SendAsync(message.Frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                if (message.IsEvent)
                {
                    metrics.EventsSent.Add(1);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            client.RequestClose(HubCloseStatus.GoingAway, "connection lost");
        }
    }
}
