using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Security;

/// <summary>
/// Refuses request bodies larger than <see cref="PlatformSecurityOptions.MaxRequestBodyBytes"/> (or the
/// endpoint's <see cref="IRequestSizeLimitMetadata"/>) with 413. A declared Content-Length is refused
/// before anything is read; a chunked body is counted as it is read. The counting stream is the only
/// enforcement so that every server (Kestrel, TestServer) answers the same way; Kestrel's own limit is
/// lifted for the request because its error would be swallowed by minimal APIs as an I/O failure.
/// </summary>
internal sealed class RequestBodyLimit(RequestDelegate next, IOptions<PlatformSecurityOptions> options)
{
    private readonly long _defaultLimit = options.Value.MaxRequestBodyBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>() is { } metadata
            ? metadata.MaxRequestBodySize
            : _defaultLimit;
        if (limit is null)
        {
            await next(context);
            return;
        }

        if (context.Request.ContentLength > limit)
        {
            await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, TooLarge(limit.Value));
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } serverLimit)
        {
            serverLimit.MaxRequestBodySize = null;
        }

        var body = new LimitedReadStream(context.Request.Body, limit.Value);
        context.Request.Body = body;
        await next(context);
        if (body.LimitExceeded && !context.Response.HasStarted)
        {
            context.Response.Clear();
            await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, TooLarge(limit.Value));
        }
    }

    internal static string TooLarge(long limit) => $"The request body is larger than the limit of {limit} bytes.";

    /// <summary>Reads through to the server's body and throws a 413 once more than the limit has come in.</summary>
    private sealed class LimitedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public bool LimitExceeded { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            if (_read > limit)
            {
                LimitExceeded = true;
                throw new BadHttpRequestException(TooLarge(limit), StatusCodes.Status413PayloadTooLarge);
            }

            return read;
        }
    }
}
