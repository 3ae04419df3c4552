using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DistortSignals.Operator.Kube;

namespace DistortSignals.Operator.Tests;

/// <summary>Kubeconfig and in-cluster configuration.</summary>
public sealed class KubeConnectionTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("kube-");

    public void Dispose() => folder.Delete(true);

    private static (string CertPem, string KeyPem) SelfSigned(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void The_current_context_gives_server_namespace_ca_and_client_certificate()
    {
        var ca = SelfSigned("test-ca");
        var client = SelfSigned("operator");
        var path = Path.Combine(folder.FullName, "config");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            current-context: dev
            contexts:
              - name: other
                context: {"{"}cluster: other, user: token-user{"}"}
              - name: dev
                context: {"{"}cluster: k3d, user: cert-user, namespace: trading{"}"}
            clusters:
              - name: k3d
                cluster:
                  server: https://127.0.0.1:6443
                  certificate-authority-data: {B64(ca.CertPem)}
              - name: other
                cluster: {"{"}server: https://other:6443{"}"}
            users:
              - name: cert-user
                user:
                  client-certificate-data: {B64(client.CertPem)}
                  client-key-data: {B64(client.KeyPem)}
              - name: token-user
                user: {"{"}token: abc{"}"}
            """);

        var connection = KubeConnection.FromKubeconfig(path);
        Assert.Equal(new Uri("https://127.0.0.1:6443"), connection.Server);
        Assert.Equal("trading", connection.Namespace);
        Assert.Equal("CN=test-ca", Assert.Single(connection.CertificateAuthority!).Subject);
        Assert.Equal("CN=operator", connection.ClientCertificate!.Subject);
        Assert.True(connection.ClientCertificate.HasPrivateKey);
        Assert.Null(connection.Token());

        var other = KubeConnection.FromKubeconfig(path, "other");
        Assert.Equal("abc", other.Token());
        Assert.Equal("default", other.Namespace);
    }

    [Fact]
    public void Exec_credentials_and_missing_entries_are_refused_with_the_reason()
    {
        var path = Path.Combine(folder.FullName, "config");
        File.WriteAllText(path, """
            current-context: eks
            contexts: [{name: eks, context: {cluster: eks, user: aws}}]
            clusters: [{name: eks, cluster: {server: "https://eks"}}]
            users: [{name: aws, user: {exec: {command: aws}}}]
            """);
        Assert.Contains("exec", Assert.Throws<KubeConfigException>(() => KubeConnection.FromKubeconfig(path)).Message);
        Assert.Contains("no entry named 'nope'", Assert.Throws<KubeConfigException>(() => KubeConnection.FromKubeconfig(path, "nope")).Message);
        Assert.Contains("not found", Assert.Throws<KubeConfigException>(() => KubeConnection.FromKubeconfig(Path.Combine(folder.FullName, "missing"))).Message);
    }

    [Fact]
    public void In_cluster_reads_the_namespace_and_rereads_a_rotated_token()
    {
        File.WriteAllText(Path.Combine(folder.FullName, "token"), "first\n");
        File.WriteAllText(Path.Combine(folder.FullName, "namespace"), "distortsignals");
        File.WriteAllText(Path.Combine(folder.FullName, "ca.crt"), SelfSigned("cluster-ca").CertPem);
        var clock = new ManualClock();
        var connection = KubeConnection.InCluster(folder.FullName, "10.0.0.1", "443", clock);

        Assert.Equal(new Uri("https://10.0.0.1:443"), connection.Server);
        Assert.Equal("distortsignals", connection.Namespace);
        Assert.Equal("CN=cluster-ca", Assert.Single(connection.CertificateAuthority!).Subject);
        Assert.Equal("first", connection.Token());

        File.WriteAllText(Path.Combine(folder.FullName, "token"), "second");
        Assert.Equal("first", connection.Token());
        clock.Advance(KubeConnection.TokenRefresh);
        Assert.Equal("second", connection.Token());

        File.WriteAllText(Path.Combine(folder.FullName, "token"), "third");
        connection.InvalidateToken();
        Assert.Equal("third", connection.Token());
    }

    [Fact]
    public void In_cluster_outside_a_cluster_says_so() =>
        Assert.Contains("KUBERNETES_SERVICE_HOST", Assert.Throws<KubeConfigException>(() => KubeConnection.InCluster(folder.FullName, "", "")).Message);

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => now;

        public void Advance(TimeSpan by) => now += by;
    }
}
