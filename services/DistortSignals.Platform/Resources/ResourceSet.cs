using System.Text;
using System.Text.Json.Nodes;
using DistortSignals.Platform.Security;

namespace DistortSignals.Platform.Resources;

/// <summary>
/// The manifests of a resources folder, validated: TradingStrategy resources, BrokerAccount resources and
/// Secrets (the same YAML that <c>kubectl apply</c> takes). The one-process host loads it at start and
/// refuses to start when any document is invalid, naming every problem with its file and field.
/// </summary>
public sealed record ResourceSet(
    IReadOnlyList<TradingStrategyResource> Strategies,
    IReadOnlyList<BrokerAccountResource> BrokerAccounts,
    IReadOnlyDictionary<string, SecretResource> Secrets)
{
    public static ResourceSet Empty { get; } = new([], [], new Dictionary<string, SecretResource>());

    /// <summary>Every symbol a strategy trades, in order of first mention.</summary>
    public IReadOnlyList<string> Symbols => [.. Strategies.SelectMany(s => s.Spec.Symbols).Distinct(StringComparer.Ordinal)];

    public static ResourceSet LoadFolder(string folder)
    {
        var problems = new List<string>();
        var strategies = new List<TradingStrategyResource>();
        var accounts = new List<BrokerAccountResource>();
        var secrets = new Dictionary<string, SecretResource>(StringComparer.Ordinal);
        foreach (var document in YamlManifestReader.ReadFolder(folder))
        {
            try
            {
                switch (document.Kind)
                {
                    case TradingStrategyResource.Kind:
                        strategies.Add(TradingStrategyResource.From(document));
                        break;
                    case BrokerAccountResource.Kind:
                        accounts.Add(BrokerAccountResource.From(document));
                        break;
                    case SecretResource.Kind:
                        var secret = SecretResource.From(document);
                        secrets[secret.Name] = secret;
                        break;
                    default:
                        problems.Add($"{document.Source}: kind: '{document.Kind}' is not one of TradingStrategy, BrokerAccount, Secret");
                        break;
                }
            }
            catch (ManifestException e)
            {
                problems.Add(e.Message);
            }
        }

        foreach (var duplicate in strategies.GroupBy(s => s.Name).Where(g => g.Count() > 1))
        {
            problems.Add($"{folder}: metadata.name: TradingStrategy '{duplicate.Key}' is defined {duplicate.Count()} times");
        }

        foreach (var duplicate in accounts.GroupBy(a => a.Name).Where(g => g.Count() > 1))
        {
            problems.Add($"{folder}: metadata.name: BrokerAccount '{duplicate.Key}' is defined {duplicate.Count()} times");
        }

        var set = new ResourceSet(strategies, accounts, secrets);
        problems.AddRange(set.CrossReferenceProblems(folder));
        return problems.Count > 0 ? throw new ManifestException(folder, problems) : set;
    }

    /// <summary>The account's EA key from its credentials Secret; null when the Secret or its key is missing.</summary>
    public string? EaKeyOf(BrokerAccountResource account) =>
        Secrets.TryGetValue(account.Spec.CredentialsSecretRef.Name, out var secret)
        && secret.Values.TryGetValue(account.Spec.CredentialsSecretRef.Key, out var key)
            ? key
            : null;

    /// <summary>References between documents: the accounts a strategy names and the Secret keys an account names must exist.</summary>
    private IEnumerable<string> CrossReferenceProblems(string folder)
    {
        var accountNames = BrokerAccounts.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var strategy in Strategies)
        {
            for (var i = 0; i < strategy.Spec.Accounts.Count; i++)
            {
                if (!accountNames.Contains(strategy.Spec.Accounts[i]))
                {
                    yield return $"{folder}: TradingStrategy {strategy.Name}: spec.accounts[{i}]: BrokerAccount '{strategy.Spec.Accounts[i]}' is not defined";
                }
            }
        }

        foreach (var account in BrokerAccounts)
        {
            var reference = account.Spec.CredentialsSecretRef;
            if (!Secrets.TryGetValue(reference.Name, out var secret))
            {
                yield return $"{folder}: BrokerAccount {account.Name}: spec.credentialsSecretRef.name: Secret '{reference.Name}' is not defined";
            }
            else if (!secret.Values.TryGetValue(reference.Key, out var key))
            {
                yield return $"{folder}: BrokerAccount {account.Name}: spec.credentialsSecretRef.key: Secret '{reference.Name}' has no key '{reference.Key}'";
            }
            else if (!ApiKeySecret.IsWellFormed(key))
            {
                // The value is a secret: say what is wrong with it, never what it is.
                yield return $"{folder}: BrokerAccount {account.Name}: spec.credentialsSecretRef: the value of Secret '{reference.Name}' key '{reference.Key}' is not an API key ({ApiKeySecret.Rule})";
            }
        }
    }
}

/// <summary>A v1 Secret: its <c>data</c> (base64) and <c>stringData</c> merged into plain values.</summary>
public sealed record SecretResource(string Name, IReadOnlyDictionary<string, string> Values)
{
    public const string Kind = "Secret";

    public override string ToString() => $"Secret {Name} ({Values.Count} keys)";

    public static SecretResource From(ManifestDocument document)
    {
        var problems = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (document.Body["data"] is JsonObject data)
        {
            foreach (var (key, value) in data)
            {
                try
                {
                    values[key] = Encoding.UTF8.GetString(Convert.FromBase64String(value?.GetValue<string>() ?? ""));
                }
                catch (Exception e) when (e is FormatException or InvalidOperationException)
                {
                    // The value is a secret: say where it is, never what it is.
                    problems.Add($"data.{key}: is not base64 (use stringData for plain text)");
                }
            }
        }

        if (document.Body["stringData"] is JsonObject plain)
        {
            foreach (var (key, value) in plain)
            {
                if (value is JsonValue text && text.TryGetValue<string>(out var s))
                {
                    values[key] = s;
                }
                else
                {
                    problems.Add($"stringData.{key}: must be a string");
                }
            }
        }

        return problems.Count > 0 ? throw new ManifestException(document.Source, problems) : new SecretResource(document.Name, values);
    }
}
