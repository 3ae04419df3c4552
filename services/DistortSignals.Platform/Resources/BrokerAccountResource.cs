using DistortSignals.Core.Accounts;
using DistortSignals.Core.Validation;

namespace DistortSignals.Platform.Resources;

/// <summary>A BrokerAccount read from a manifest and validated.</summary>
public sealed record BrokerAccountResource(string Name, string? Namespace, BrokerAccountSpec Spec)
{
    public const string ApiVersion = CustomResource.ApiVersion;
    public const string Kind = "BrokerAccount";

    /// <summary>
    /// The longest account name: the EA key's scope is <c>ea:&lt;account&gt;</c> and a directive id embeds no
    /// account, so only the label rule applies.
    /// </summary>
    public const int MaxNameLength = 63;

    /// <summary>Reads and validates one document; every problem is reported at once, each naming its field.</summary>
    public static BrokerAccountResource From(ManifestDocument document) =>
        new(document.Name, document.Namespace, CustomResource.ReadSpec<BrokerAccountSpec>(document, Kind, MaxNameLength, BrokerAccountValidator.Validate));
}
