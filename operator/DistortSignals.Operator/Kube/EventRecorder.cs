using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Kube;

/// <summary>
/// Writes events.k8s.io/v1 Events about our objects (reference/kubernetes-api.md, "Events"): eventTime,
/// reportingController, reportingInstance, action, reason, type, regarding and a note of at most 1 kB. An
/// event is a report, not a state: a failure to write one is logged and never fails a reconcile.
/// </summary>
public sealed class EventRecorder(KubeClient client, string controller, string instance, ILogger logger)
{
    public const int MaxNote = 1024;

    public async Task RecordAsync(JsonObject regarding, string type, string reason, string action, string note, CancellationToken cancellationToken)
    {
        var metadata = regarding["metadata"]!;
        var ns = metadata["namespace"]!.GetValue<string>();
        var name = metadata["name"]!.GetValue<string>();
        var now = DateTimeOffset.UtcNow;
        var body = new JsonObject
        {
            ["apiVersion"] = ResourceKind.Events.ApiVersion,
            ["kind"] = ResourceKind.Events.Kind,
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{name}.{now.ToUnixTimeMilliseconds():x}{Random.Shared.Next(0x1000):x3}",
                ["namespace"] = ns,
            },
            ["eventTime"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
            ["reportingController"] = controller,
            ["reportingInstance"] = instance.Length > 128 ? instance[..128] : instance,
            ["action"] = action,
            ["reason"] = reason,
            ["type"] = type,
            ["note"] = note.Length > MaxNote ? note[..MaxNote] : note,
            ["regarding"] = new JsonObject
            {
                ["apiVersion"] = regarding["apiVersion"]?.DeepClone(),
                ["kind"] = regarding["kind"]?.DeepClone(),
                ["name"] = name,
                ["namespace"] = ns,
                ["uid"] = metadata["uid"]?.DeepClone(),
                ["resourceVersion"] = metadata["resourceVersion"]?.DeepClone(),
            },
        };
        try
        {
            await client.CreateAsync(ResourceKind.Events, ns, body, cancellationToken);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException)
        {
            logger.LogWarning("could not record event {Reason} on {Namespace}/{Name}: {Error}", reason, ns, name, e.Message);
        }
    }
}
