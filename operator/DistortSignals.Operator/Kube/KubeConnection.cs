using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace DistortSignals.Operator.Kube;

/// <summary>
/// Where the API server is and how to authenticate to it: from a kubeconfig (current context, token or
/// token file, client certificate, CA) or from the pod's service account (reference/kubernetes-api.md,
/// "In-cluster config" and "Kubeconfig").
/// </summary>
public sealed class KubeConnection
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>client-go re-reads the projected token about every minute; the kubelet rotates it at ~80% of its hour.</summary>
    public static readonly TimeSpan TokenRefresh = TimeSpan.FromMinutes(1);

    private readonly string? staticToken;
    private readonly string? tokenFile;
    private readonly TimeProvider clock;
    private readonly Lock gate = new();
    private string? cachedToken;
    private DateTimeOffset tokenReadAt;

    private KubeConnection(Uri server, string @namespace, string? token, string? tokenFile, X509Certificate2Collection? certificateAuthority, X509Certificate2? clientCertificate, bool insecure, TimeProvider? clock)
    {
        Server = server;
        Namespace = @namespace;
        staticToken = token;
        this.tokenFile = tokenFile;
        CertificateAuthority = certificateAuthority;
        ClientCertificate = clientCertificate;
        InsecureSkipTlsVerify = insecure;
        this.clock = clock ?? TimeProvider.System;
    }

    public Uri Server { get; }

    /// <summary>The context's namespace, or the service account's; where the Lease lives.</summary>
    public string Namespace { get; }

    public X509Certificate2Collection? CertificateAuthority { get; }

    public X509Certificate2? ClientCertificate { get; }

    public bool InsecureSkipTlsVerify { get; }

    /// <summary>A plain connection with no authentication, for a local API server (tests, kubectl proxy).</summary>
    public static KubeConnection ForServer(Uri server, string @namespace = "default", string? token = null) =>
        new(server, @namespace, token, null, null, null, false, null);

    /// <summary>Inside a pod: KUBERNETES_SERVICE_HOST/PORT and the mounted service-account token, CA and namespace.</summary>
    public static KubeConnection InCluster(string directory = ServiceAccountDirectory, string? host = null, string? port = null, TimeProvider? clock = null)
    {
        host ??= Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
        port ??= Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new KubeConfigException("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
        }

        var tokenPath = Path.Combine(directory, "token");
        if (!File.Exists(tokenPath))
        {
            throw new KubeConfigException($"no service-account token at {tokenPath}");
        }

        var caPath = Path.Combine(directory, "ca.crt");
        var ca = File.Exists(caPath) ? PemCollection(File.ReadAllText(caPath)) : null;
        var nsPath = Path.Combine(directory, "namespace");
        var ns = File.Exists(nsPath) ? File.ReadAllText(nsPath).Trim() : "default";
        var hostPart = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return new KubeConnection(new Uri($"https://{hostPart}:{port}"), ns, null, tokenPath, ca, null, false, clock);
    }

    /// <summary>The kubeconfig's current context (or <paramref name="context"/>): server, CA, token or client certificate, namespace.</summary>
    public static KubeConnection FromKubeconfig(string path, string? context = null)
    {
        if (!File.Exists(path))
        {
            throw new KubeConfigException($"kubeconfig not found: {path}");
        }

        var config = ReadYaml(File.ReadAllText(path), path);
        var contextName = context ?? config["current-context"]?.GetValue<string>()
            ?? throw new KubeConfigException($"{path}: current-context is not set");
        var ctx = Named(config, "contexts", contextName, path)["context"] as JsonObject
            ?? throw new KubeConfigException($"{path}: context '{contextName}' has no context section");
        var clusterName = ctx["cluster"]?.GetValue<string>() ?? throw new KubeConfigException($"{path}: context '{contextName}' names no cluster");
        var cluster = Named(config, "clusters", clusterName, path)["cluster"] as JsonObject
            ?? throw new KubeConfigException($"{path}: cluster '{clusterName}' has no cluster section");
        var userName = ctx["user"]?.GetValue<string>();
        var user = userName is null ? new JsonObject() : Named(config, "users", userName, path)["user"] as JsonObject ?? [];
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;

        var server = cluster["server"]?.GetValue<string>() ?? throw new KubeConfigException($"{path}: cluster '{clusterName}' has no server");
        var ca = Material(cluster, "certificate-authority", baseDir) is { } caPem ? PemCollection(caPem) : null;
        var insecure = cluster["insecure-skip-tls-verify"] is JsonValue v && v.TryGetValue<bool>(out var skip) && skip;

        X509Certificate2? clientCertificate = null;
        if (Material(user, "client-certificate", baseDir) is { } certPem)
        {
            var keyPem = Material(user, "client-key", baseDir)
                ?? throw new KubeConfigException($"{path}: user '{userName}' has a client certificate but no client key");
            clientCertificate = X509Certificate2.CreateFromPem(certPem, keyPem);
        }

        if (user["exec"] is not null || user["auth-provider"] is not null)
        {
            throw new KubeConfigException($"{path}: user '{userName}' uses exec or auth-provider credentials, which this operator does not run; use a token or a client certificate");
        }

        var token = user["token"]?.GetValue<string>();
        var tokenFile = user["tokenFile"]?.GetValue<string>() is { } tf ? Path.Combine(baseDir, tf) : null;
        var ns = ctx["namespace"]?.GetValue<string>() ?? "default";
        return new KubeConnection(new Uri(server), ns, token, tokenFile, ca, clientCertificate, insecure, null);
    }

    /// <summary>$KUBECONFIG (its first file), then ~/.kube/config, then the in-cluster service account.</summary>
    public static KubeConnection Discover()
    {
        var fromEnv = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return FromKubeconfig(fromEnv.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)[0]);
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")))
        {
            return InCluster();
        }

        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return FromKubeconfig(home);
    }

    /// <summary>The bearer token: a file token is re-read every <see cref="TokenRefresh"/> and after <see cref="InvalidateToken"/>.</summary>
    public string? Token()
    {
        if (tokenFile is null)
        {
            return staticToken;
        }

        lock (gate)
        {
            var now = clock.GetUtcNow();
            if (cachedToken is null || now - tokenReadAt >= TokenRefresh)
            {
                cachedToken = File.ReadAllText(tokenFile).Trim();
                tokenReadAt = now;
            }

            return cachedToken;
        }
    }

    /// <summary>After a 401 the token may have rotated under us: read it again on the next request.</summary>
    public void InvalidateToken()
    {
        lock (gate)
        {
            cachedToken = null;
        }
    }

    /// <summary>One long-lived handler (a handler per request leaks sockets): CA pinning, client certificate, keep-alive pings.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (ClientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [ClientCertificate];
        }

        if (InsecureSkipTlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (CertificateAuthority is { Count: > 0 } ca)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null && ValidateAgainst(ca, new X509Certificate2(certificate), errors);
        }

        return handler;
    }

    private static bool ValidateAgainst(X509Certificate2Collection ca, X509Certificate2 certificate, SslPolicyErrors errors)
    {
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        return chain.Build(certificate);
    }

    private static X509Certificate2Collection PemCollection(string pem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(pem);
        return collection;
    }

    /// <summary>The PEM text of "<paramref name="key"/>-data" (base64) or of the file "<paramref name="key"/>" (relative to the kubeconfig).</summary>
    private static string? Material(JsonObject section, string key, string baseDir)
    {
        if (section[key + "-data"]?.GetValue<string>() is { } data)
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(data));
        }

        return section[key]?.GetValue<string>() is { } file ? File.ReadAllText(Path.Combine(baseDir, file)) : null;
    }

    private static JsonObject Named(JsonObject config, string list, string name, string path) =>
        (config[list] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(e => e["name"]?.GetValue<string>() == name)
        ?? throw new KubeConfigException($"{path}: {list} has no entry named '{name}'");

    private static JsonObject ReadYaml(string yaml, string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count == 0 || ToJson(stream.Documents[0].RootNode) is not JsonObject root)
        {
            throw new KubeConfigException($"{path}: not a kubeconfig (a YAML mapping)");
        }

        return root;
    }

    /// <summary>Kubeconfig values are all read as strings except booleans, which is all this reader needs.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode { Value: "true" or "false" } scalar when scalar.Style == YamlDotNet.Core.ScalarStyle.Plain => JsonValue.Create(scalar.Value == "true"),
        YamlScalarNode { Value: null or "" or "null" or "~" } scalar when scalar.Style == YamlDotNet.Core.ScalarStyle.Plain => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => null,
    };
}

public sealed class KubeConfigException(string message) : Exception(message);
