using System.Text.Json.Nodes;
using DistortSignals.Operator.Kube;

namespace DistortSignals.Operator.Reconcile;

/// <summary>A controller in the KubeOps shape: reconcile a live object, or finalize one that is being deleted.</summary>
public interface IController
{
    ResourceKind Kind { get; }

    /// <summary>The kind of the children it makes and reads status from (their ownerReferences name it), or null; a change of one reconciles its owner at once.</summary>
    ResourceKind? Owns { get; }

    /// <summary>Makes the world match the object; returns when to look again, or null for the next resync.</summary>
    Task<TimeSpan?> ReconcileAsync(JsonObject resource, CancellationToken cancellationToken);

    /// <summary>Cleans up an object with a deletionTimestamp and removes this controller's finalizer.</summary>
    Task FinalizeAsync(JsonObject resource, CancellationToken cancellationToken);
}
