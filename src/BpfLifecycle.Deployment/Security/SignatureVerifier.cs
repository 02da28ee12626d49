// Verifies detached signatures as `openssl dgst -sha256 -sign` (DER) and `cosign sign-blob --key` (base64 of DER) write them.
using System.Buffers.Text;

namespace BpfLifecycle.Deployment.Security;

/// <summary>How a detached signature file was encoded.</summary>
public enum SignatureEncoding
{
    /// <summary>Raw bytes: a DER ECDSA signature or a PKCS#1 v1.5 RSA signature.</summary>
    Der,

    /// <summary>Base64 of the raw bytes (with or without a trailing newline), as cosign writes it.</summary>
    Base64,
}

/// <summary>The outcome of verifying one signature.</summary>
/// <param name="IsValid">True when a trusted key verified the signature.</param>
/// <param name="KeyId">The key that verified it, or null.</param>
/// <param name="Encoding">How the signature file was encoded, or null when it could not be decoded.</param>
/// <param name="Reason">One sentence: which key verified, or why none did.</param>
public sealed record SignatureVerification(bool IsValid, string? KeyId, SignatureEncoding? Encoding, string Reason);

/// <summary>Checks detached signatures against the keys of a <see cref="TrustStore"/>.</summary>
public sealed class SignatureVerifier
{
    private readonly TrustStore _trustStore;

    /// <summary>Creates a verifier over a trust store.</summary>
    public SignatureVerifier(TrustStore trustStore)
    {
        ArgumentNullException.ThrowIfNull(trustStore);
        _trustStore = trustStore;
    }

    /// <summary>
    /// Verifies <paramref name="signatureFile"/> (DER or base64 of DER) over <paramref name="data"/> with every trusted key,
    /// or only with <paramref name="keyId"/> when given. Never throws for a bad signature: the result says why.
    /// </summary>
    public SignatureVerification Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signatureFile, string? keyId = null)
    {
        if (signatureFile.IsEmpty)
        {
            return new(false, null, null, "the signature is empty");
        }

        var (signature, encoding) = Decode(signatureFile);

        IReadOnlyList<TrustedKey> keys;
        if (keyId is not null)
        {
            if (!_trustStore.TryGet(keyId, out var k))
            {
                return new(false, null, encoding, $"key id '{keyId}' is not in the trust store");
            }

            keys = [k];
        }
        else
        {
            keys = _trustStore.Keys;
        }

        if (keys.Count == 0)
        {
            return new(false, null, encoding, "the trust store holds no keys");
        }

        foreach (var key in keys)
        {
            if (key.Verify(data, signature))
            {
                return new(true, key.KeyId, encoding, $"signature verified by trusted key '{key.KeyId}' ({key.Algorithm})");
            }
        }

        var tried = string.Join(", ", keys.Select(k => $"'{k.KeyId}'"));
        return new(false, null, encoding, $"the {encoding} signature ({signature.Length} bytes) does not verify with any trusted key (tried {tried}); the signed bytes were changed or were signed by another key");
    }

    /// <summary>
    /// Decodes a signature file. Text made only of base64 characters and whitespace that decodes is base64
    /// (a DER ECDSA signature starts with 0x30 and an RSA one is uniformly random, so neither is mistaken for it);
    /// anything else is taken as raw bytes.
    /// </summary>
    public static (byte[] Signature, SignatureEncoding Encoding) Decode(ReadOnlySpan<byte> signatureFile)
    {
        var trimmed = Trim(signatureFile);
        if (trimmed.Length >= 8 && IsBase64Text(trimmed))
        {
            var buffer = new byte[Base64.GetMaxDecodedFromUtf8Length(trimmed.Length)];
            var compact = Compact(trimmed);
            if (Base64.DecodeFromUtf8(compact, buffer, out _, out var written) == System.Buffers.OperationStatus.Done && written > 0)
            {
                return (buffer[..written], SignatureEncoding.Base64);
            }
        }

        return (signatureFile.ToArray(), SignatureEncoding.Der);
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && IsSpace(s[start]))
        {
            start++;
        }

        while (end > start && IsSpace(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';

    private static bool IsBase64Text(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            if (!(b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/' or (byte)'=') && !IsSpace(b))
            {
                return false;
            }
        }

        return true;
    }

    private static byte[] Compact(ReadOnlySpan<byte> s)
    {
        var result = new List<byte>(s.Length);
        foreach (var b in s)
        {
            if (!IsSpace(b))
            {
                result.Add(b);
            }
        }

        return result.ToArray();
    }
}
