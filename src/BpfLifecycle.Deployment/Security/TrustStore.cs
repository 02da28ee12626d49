// Public keys trusted to sign artifacts, each under a key id, read from PEM (SubjectPublicKeyInfo).
using System.Security.Cryptography;
using System.Text;

namespace BpfLifecycle.Deployment.Security;

/// <summary>The algorithm of a trusted key.</summary>
public enum TrustedKeyAlgorithm
{
    /// <summary>ECDSA on NIST P-256 with SHA-256.</summary>
    EcdsaP256Sha256,

    /// <summary>RSA (2048 bits or more), PKCS#1 v1.5 with SHA-256.</summary>
    RsaPkcs1Sha256,
}

/// <summary>A public key trusted to sign artifacts.</summary>
public sealed class TrustedKey
{
    private readonly byte[] _subjectPublicKeyInfo;

    private TrustedKey(string keyId, TrustedKeyAlgorithm algorithm, int keySizeBits, byte[] subjectPublicKeyInfo)
    {
        KeyId = keyId;
        Algorithm = algorithm;
        KeySizeBits = keySizeBits;
        _subjectPublicKeyInfo = subjectPublicKeyInfo;
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo));
    }

    /// <summary>Minimum RSA modulus size accepted.</summary>
    public const int MinimumRsaKeySizeBits = 2048;

    /// <summary>The key id the key was trusted under.</summary>
    public string KeyId { get; }

    /// <summary>The signature algorithm.</summary>
    public TrustedKeyAlgorithm Algorithm { get; }

    /// <summary>Key size in bits (256 for P-256, the modulus size for RSA).</summary>
    public int KeySizeBits { get; }

    /// <summary>Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo: names the key independently of its id.</summary>
    public string Fingerprint { get; }

    /// <summary>Parses a PEM public key (<c>-----BEGIN PUBLIC KEY-----</c>, as <c>openssl pkey -pubout</c> and <c>cosign generate-key-pair</c> write it).</summary>
    /// <param name="keyId">Id to trust the key under; when null, the first 16 hex digits of its fingerprint.</param>
    /// <param name="pem">The PEM text.</param>
    /// <exception cref="TrustStoreException">The PEM holds no public key, or an unsupported algorithm, curve or size.</exception>
    public static TrustedKey FromPem(string? keyId, string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var label = keyId ?? "(unnamed key)";
        if (!PemEncoding.TryFind(pem, out var fields))
        {
            throw new TrustStoreException($"Key '{label}': no PEM block found.");
        }

        var type = pem[fields.Label];
        if (type != "PUBLIC KEY")
        {
            throw new TrustStoreException($"Key '{label}': PEM block is '{type}', expected 'PUBLIC KEY' (a SubjectPublicKeyInfo; export it with 'openssl pkey -pubout').");
        }

        var der = Convert.FromBase64String(pem[fields.Base64Data].ToString());
        TrustedKeyAlgorithm algorithm;
        int size;
        try
        {
            using var ec = ECDsa.Create();
            ec.ImportSubjectPublicKeyInfo(der, out _);
            var curve = ec.ExportParameters(false).Curve;
            if (curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new TrustStoreException($"Key '{label}': EC curve '{curve.Oid?.FriendlyName ?? curve.Oid?.Value}' is not supported; only P-256 (prime256v1) is.");
            }

            algorithm = TrustedKeyAlgorithm.EcdsaP256Sha256;
            size = 256;
        }
        catch (CryptographicException)
        {
            try
            {
                using var rsa = RSA.Create();
                rsa.ImportSubjectPublicKeyInfo(der, out _);
                size = rsa.KeySize;
            }
            catch (CryptographicException e)
            {
                throw new TrustStoreException($"Key '{label}': not an ECDSA P-256 or RSA public key ({e.Message}).", e);
            }

            if (size < MinimumRsaKeySizeBits)
            {
                throw new TrustStoreException($"Key '{label}': RSA key of {size} bits is too small; at least {MinimumRsaKeySizeBits} bits are required.");
            }

            algorithm = TrustedKeyAlgorithm.RsaPkcs1Sha256;
        }

        return new TrustedKey(keyId ?? Convert.ToHexStringLower(SHA256.HashData(der))[..16], algorithm, size, der);
    }

    /// <summary>Verifies a raw signature (DER ECDSA or PKCS#1 v1.5 RSA) over <paramref name="data"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (Algorithm == TrustedKeyAlgorithm.EcdsaP256Sha256)
        {
            using var ec = ECDsa.Create();
            ec.ImportSubjectPublicKeyInfo(_subjectPublicKeyInfo, out _);
            return ec.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }

        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(_subjectPublicKeyInfo, out _);
        return rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    /// <inheritdoc />
    public override string ToString() => $"{KeyId} ({Algorithm}, {KeySizeBits} bits, sha256:{Fingerprint[..16]})";
}

/// <summary>A trusted key could not be read: the message names the key and the problem.</summary>
public sealed class TrustStoreException : Exception
{
    /// <summary>Creates the error.</summary>
    public TrustStoreException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// The set of public keys whose signatures are accepted. Thread-safe for reads once built; keys are added at start.
/// </summary>
public sealed class TrustStore
{
    private readonly Dictionary<string, TrustedKey> _keys = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The trusted keys, in key id order.</summary>
    public IReadOnlyList<TrustedKey> Keys
    {
        get
        {
            lock (_lock)
            {
                return _keys.Values.OrderBy(k => k.KeyId, StringComparer.Ordinal).ToArray();
            }
        }
    }

    /// <summary>Number of trusted keys.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _keys.Count;
            }
        }
    }

    /// <summary>Trusts a key. Its id must be new.</summary>
    public TrustStore Add(TrustedKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            if (!_keys.TryAdd(key.KeyId, key))
            {
                throw new TrustStoreException($"Key id '{key.KeyId}' is already trusted.");
            }
        }

        return this;
    }

    /// <summary>Trusts a PEM public key under <paramref name="keyId"/>.</summary>
    public TrustedKey AddPem(string keyId, string pem)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyId);
        var key = TrustedKey.FromPem(keyId, pem);
        Add(key);
        return key;
    }

    /// <summary>Trusts the PEM public key in <paramref name="path"/>; the key id defaults to the file name without extension.</summary>
    public TrustedKey AddFile(string path, string? keyId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new TrustStoreException($"Trusted key file '{path}' does not exist.");
        }

        var id = keyId ?? Path.GetFileNameWithoutExtension(path);
        try
        {
            return AddPem(id, File.ReadAllText(path, Encoding.ASCII));
        }
        catch (TrustStoreException e)
        {
            throw new TrustStoreException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Trusts every <c>*.pem</c> and <c>*.pub</c> file of a directory, each under its file name without extension.</summary>
    public TrustStore AddDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new TrustStoreException($"Trusted key directory '{directory}' does not exist.");
        }

        foreach (var file in Directory.EnumerateFiles(directory).Where(f => f.EndsWith(".pem", StringComparison.Ordinal) || f.EndsWith(".pub", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            AddFile(file);
        }

        return this;
    }

    /// <summary>Looks a key up by id.</summary>
    public bool TryGet(string keyId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TrustedKey? key)
    {
        lock (_lock)
        {
            return _keys.TryGetValue(keyId, out key);
        }
    }

    /// <summary>Stops trusting a key (e.g. a revoked one).</summary>
    public bool Remove(string keyId)
    {
        lock (_lock)
        {
            return _keys.Remove(keyId);
        }
    }
}
