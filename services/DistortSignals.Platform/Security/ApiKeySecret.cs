using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace DistortSignals.Platform.Security;

/// <summary>
/// The text form of an API key: <c>ds_</c> followed by 43 base64url characters encoding 32 random bytes.
/// The first <see cref="KeyIdLength"/> of those characters are the public key id, used in logs and to
/// find the key's row; the rest stays secret.
/// </summary>
public static class ApiKeySecret
{
    public const string Prefix = "ds_";

    public const int SecretBytes = 32;

    /// <summary>Twelve characters (72 bits) keep ids unique among any realistic number of keys and leave 184 secret bits.</summary>
    public const int KeyIdLength = 12;

    private const int EncodedLength = 43;

    public static string Rule => $"'{Prefix}' followed by {EncodedLength} base64url characters ({SecretBytes} random bytes)";

    public static string Generate() =>
        Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));

    /// <summary>The key id of a well-formed secret, or null when the text is not one of our keys.</summary>
    public static string? KeyIdOf(string? secret) =>
        IsWellFormed(secret) ? secret![Prefix.Length..(Prefix.Length + KeyIdLength)] : null;

    public static bool IsWellFormed(string? secret) =>
        secret is not null
        && secret.Length == Prefix.Length + EncodedLength
        && secret.StartsWith(Prefix, StringComparison.Ordinal)
        && Base64Url.IsValid(secret.AsSpan(Prefix.Length), out var decodedLength)
        && decodedLength == SecretBytes;

    /// <summary>
    /// SHA-256 of the whole secret. A fast unsalted hash is enough here: the secret is 256 random bits,
    /// so there is no dictionary to try and brute force is out of reach; slow password hashes (PBKDF2,
    /// Argon2) only defend low-entropy human passwords and would cost milliseconds on every request.
    /// </summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
