using DistortSignals.Core.Validation;

namespace DistortSignals.Ingest.Processing;

/// <summary>What became of a batch: how many items were taken, which were repeats, which were refused and why.</summary>
public sealed record IngestResult(int Accepted, IReadOnlyList<int> Duplicates, IReadOnlyList<RefusedItem> Refused, int BarsClosed);

/// <summary>One refused item: its position in the batch and every problem with it.</summary>
public sealed record RefusedItem(int Index, IReadOnlyList<ValidationError> Errors);
