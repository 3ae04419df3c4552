using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistortSignals.Core.Market;

namespace DistortSignals.EndToEnd.Tests;

/// <summary>
/// A deterministic stream of EURUSD ticks, one per market second in time order, posted in batches of
/// varying size to POST /api/v1/ticks. Each batch is sent again until the platform answers it: a request
/// that died with the process may or may not have been committed, and the ingest dedupe makes the resend
/// safe. Batches follow each other without a pause, so that most kills land during a request. The stream
/// keeps every tick the platform acknowledged (accepted or reported as a duplicate).
/// </summary>
internal sealed class TickStream(HttpClient client, int seed)
{
    public const string Symbol = "EURUSD";

    /// <summary>
    /// Far enough in the past that the wall-clock watermark never closes a bar (it only closes bars of the
    /// last minutes): every bar is closed by a later tick, so which bars exist follows from the ticks alone.
    /// </summary>
    public static readonly DateTimeOffset MarketStart = new(2025, 3, 3, 0, 0, 0, TimeSpan.Zero);

    private const int MaxBatchSize = 60;

    private readonly SyntheticMarket _market = new(Symbol, 1.0850, (ulong)seed);
    private readonly Random _batchSizes = new(seed);
    private readonly List<Tick> _acknowledged = [];
    private DateTimeOffset _nextTime = MarketStart;
    private int _requestInFlight;

    public IReadOnlyList<Tick> Acknowledged => _acknowledged;

    public int Batches { get; private set; }

    /// <summary>Requests that got no answer (the process died or was starting) or an error status, and were sent again.</summary>
    public int UnansweredAttempts { get; private set; }

    /// <summary>Batches whose resend was answered as all duplicates: the lost request had been committed.</summary>
    public int BatchesCommittedBeforeTheirAnswerWasLost { get; private set; }

    /// <summary>Error statuses the platform answered with (the request is sent again), the first few with their bodies.</summary>
    public List<string> ErrorAnswers { get; } = [];

    public bool RequestInFlight => Volatile.Read(ref _requestInFlight) == 1;

    /// <summary>Posts batches until <paramref name="stop"/> is signalled, finishing the batch under way; <paramref name="abort"/> ends it at once.</summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        while (!stop.IsCancellationRequested)
        {
            var batch = NextBatch();
            await SendUntilAnsweredAsync(batch, abort);
            _acknowledged.AddRange(batch);
        }
    }

    private List<Tick> NextBatch()
    {
        var size = _batchSizes.Next(1, MaxBatchSize + 1);
        var batch = new List<Tick>(size);
        for (var i = 0; i < size; i++)
        {
            batch.Add(_market.NextTick(_nextTime, ticksPerBar: 60, spread: 0.0002, source: "crash-test"));
            _nextTime += TimeSpan.FromSeconds(1);
        }

        return batch;
    }

    private async Task SendUntilAnsweredAsync(List<Tick> batch, CancellationToken abort)
    {
        Batches++;
        var body = batch.Select(t => new { symbol = t.Symbol, time = t.Time.UtcDateTime, bid = t.Bid, ask = t.Ask, volume = t.Volume, source = t.Source }).ToList();
        var mayHaveArrivedBefore = false;
        while (true)
        {
            HttpResponseMessage? response = null;
            Volatile.Write(ref _requestInFlight, 1);
            try
            {
                response = await client.PostAsJsonAsync("/api/v1/ticks", body, abort);
            }
            catch (HttpRequestException)
            {
                // The process died under the request, or is not listening yet.
            }
            catch (TaskCanceledException) when (!abort.IsCancellationRequested)
            {
                // The client's timeout: no answer.
            }
            finally
            {
                Volatile.Write(ref _requestInFlight, 0);
            }

            using (response)
            {
                if (response?.StatusCode == HttpStatusCode.OK)
                {
                    var answer = await response.Content.ReadFromJsonAsync<BatchAnswer>(abort)
                        ?? throw new InvalidOperationException($"batch {Batches} was answered 200 without a body");
                    CheckAnswer(batch, answer, mayHaveArrivedBefore);
                    return;
                }

                if (response is not null)
                {
                    var text = await response.Content.ReadAsStringAsync(abort);
                    if (response.StatusCode is not (HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError))
                    {
                        throw new InvalidOperationException($"batch {Batches} ({Describe(batch)}) was answered {(int)response.StatusCode}: {text}");
                    }

                    if (ErrorAnswers.Count < 5)
                    {
                        ErrorAnswers.Add($"batch {Batches}: {(int)response.StatusCode} {text}");
                    }
                }
            }

            mayHaveArrivedBefore = true;
            UnansweredAttempts++;
            await Task.Delay(TimeSpan.FromMilliseconds(50), abort);
        }
    }

    /// <summary>
    /// A batch is one transaction: a resend finds all of it stored or none of it, so its items are all
    /// accepted or all duplicates; a mix, a duplicate on first delivery or any refusal is a platform bug.
    /// </summary>
    private void CheckAnswer(List<Tick> batch, BatchAnswer answer, bool mayHaveArrivedBefore)
    {
        var where = $"batch {Batches} ({Describe(batch)})";
        if (answer.Refused.Count > 0)
        {
            var first = answer.Refused[0];
            throw new InvalidOperationException(
                $"{where}: {answer.Refused.Count} ticks were refused, the first: item {first.Index} {batch[first.Index].Time:O}: {string.Join("; ", first.Errors.Select(e => $"{e.Field}: {e.Message}"))}");
        }

        if (answer.Received != batch.Count || answer.Accepted + answer.Duplicates.Count != batch.Count)
        {
            throw new InvalidOperationException($"{where}: the answer does not account for every item: {JsonSerializer.Serialize(answer)}");
        }

        if (answer.Accepted > 0 && answer.Duplicates.Count > 0)
        {
            throw new InvalidOperationException($"{where}: part of the batch was already stored ({answer.Duplicates.Count} duplicates, {answer.Accepted} accepted): a batch was committed in part");
        }

        if (answer.Duplicates.Count > 0 && !mayHaveArrivedBefore)
        {
            throw new InvalidOperationException($"{where}: {answer.Duplicates.Count} ticks were reported as duplicates on their first delivery");
        }

        if (answer.Duplicates.Count > 0)
        {
            BatchesCommittedBeforeTheirAnswerWasLost++;
        }
    }

    private static string Describe(List<Tick> batch) => $"{batch.Count} ticks {batch[0].Time:O} .. {batch[^1].Time:O}";

    private sealed record BatchAnswer(int Received, int Accepted, IReadOnlyList<int> Duplicates, IReadOnlyList<RefusedAnswer> Refused, int BarsClosed);

    private sealed record RefusedAnswer(int Index, IReadOnlyList<ErrorAnswer> Errors);

    private sealed record ErrorAnswer(string Field, string Message);
}
