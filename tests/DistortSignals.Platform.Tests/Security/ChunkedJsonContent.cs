using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace DistortSignals.Platform.Tests.Security;

/// <summary>A JSON body sent without a Content-Length, as a streaming client would.</summary>
public sealed class ChunkedJsonContent : HttpContent
{
    private readonly long _size;

    public ChunkedJsonContent(long size)
    {
        _size = size;
        Headers.ContentType = new MediaTypeHeaderValue("application/json");
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var chunk = Encoding.UTF8.GetBytes(new string(' ', 8192));
        for (long written = 0; written < _size; written += chunk.Length)
        {
            await stream.WriteAsync(chunk);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
