// Where the AES-256 keys that seal map values come from: a pluggable provider with numbered keys for rotation.
using System.Security.Cryptography;

namespace BpfLifecycle.Maps.Sealed;

/// <summary>
/// Supplies AES-256 keys by numeric id. New values are sealed under <see cref="CurrentKeyId"/>; values sealed under
/// older ids stay readable as long as the provider still has those keys (rotation without rewriting the map).
/// Implement it over a KMS, a TPM, or a secrets store; keys must never be logged.
/// </summary>
public interface ISealingKeyProvider
{
    /// <summary>The key id new values are sealed under.</summary>
    uint CurrentKeyId { get; }

    /// <summary>Copies key <paramref name="keyId"/> (32 bytes) into <paramref name="destination"/>; false if unknown.</summary>
    bool TryGetKey(uint keyId, Span<byte> destination);
}

/// <summary>Keys held in memory (tests, or keys fetched at start from elsewhere). Thread-safe.</summary>
public sealed class InMemorySealingKeyProvider : ISealingKeyProvider, IDisposable
{
    private readonly Dictionary<uint, byte[]> _keys = new();
    private readonly Lock _lock = new();
    private uint _current;

    /// <summary>Creates an empty provider; add keys with <see cref="Add"/>.</summary>
    public InMemorySealingKeyProvider()
    {
    }

    /// <summary>Creates a provider holding one key as the current key.</summary>
    public InMemorySealingKeyProvider(uint keyId, ReadOnlySpan<byte> key) => Add(keyId, key, makeCurrent: true);

    /// <summary>A provider with one fresh random key (id 1).</summary>
    public static InMemorySealingKeyProvider CreateRandom()
    {
        Span<byte> key = stackalloc byte[SealedValue.KeySize];
        RandomNumberGenerator.Fill(key);
        var p = new InMemorySealingKeyProvider(1, key);
        CryptographicOperations.ZeroMemory(key);
        return p;
    }

    /// <inheritdoc />
    public uint CurrentKeyId
    {
        get
        {
            lock (_lock)
            {
                return _keys.Count == 0 ? throw new InvalidOperationException("The sealing key provider holds no keys.") : _current;
            }
        }
    }

    /// <summary>Adds a 32-byte key; optionally makes it the current key.</summary>
    public void Add(uint keyId, ReadOnlySpan<byte> key, bool makeCurrent = false)
    {
        if (key.Length != SealedValue.KeySize)
        {
            throw new ArgumentException($"Sealing key {keyId} is {key.Length} bytes; AES-256 keys are {SealedValue.KeySize} bytes.", nameof(key));
        }

        lock (_lock)
        {
            if (!_keys.TryAdd(keyId, key.ToArray()))
            {
                throw new ArgumentException($"Sealing key {keyId} already exists.", nameof(keyId));
            }

            if (makeCurrent || _keys.Count == 1)
            {
                _current = keyId;
            }
        }
    }

    /// <summary>Forgets a key: values sealed under it can no longer be opened.</summary>
    public bool Remove(uint keyId)
    {
        lock (_lock)
        {
            if (_keys.Remove(keyId, out var k))
            {
                CryptographicOperations.ZeroMemory(k);
                return true;
            }

            return false;
        }
    }

    /// <inheritdoc />
    public bool TryGetKey(uint keyId, Span<byte> destination)
    {
        lock (_lock)
        {
            if (!_keys.TryGetValue(keyId, out var k))
            {
                return false;
            }

            k.CopyTo(destination);
            return true;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var k in _keys.Values)
            {
                CryptographicOperations.ZeroMemory(k);
            }

            _keys.Clear();
        }
    }
}

/// <summary>
/// Keys read from a directory of files named <c>&lt;id&gt;.key</c>, each holding 32 raw bytes or their base64.
/// The highest id is current. Files must not be readable by other users: a key file with group or other
/// permissions is refused.
/// </summary>
public sealed class DirectorySealingKeyProvider : ISealingKeyProvider, IDisposable
{
    private readonly InMemorySealingKeyProvider _keys = new();

    /// <summary>Reads the keys.</summary>
    /// <exception cref="InvalidOperationException">The directory has no keys, or a key file is malformed or too open (the message names it).</exception>
    public DirectorySealingKeyProvider(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new InvalidOperationException($"Sealing key directory '{directory}' does not exist.");
        }

        var ids = new List<uint>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.key"))
        {
            if (!uint.TryParse(Path.GetFileNameWithoutExtension(file), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            {
                throw new InvalidOperationException($"Sealing key file '{file}' is not named <number>.key.");
            }

            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(file) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                throw new InvalidOperationException($"Sealing key file '{file}' is readable or writable by group or others; chmod 600 it.");
            }

            var raw = File.ReadAllBytes(file);
            byte[] key;
            if (raw.Length == SealedValue.KeySize)
            {
                key = raw;
            }
            else
            {
                try
                {
                    key = Convert.FromBase64String(System.Text.Encoding.ASCII.GetString(raw).Trim());
                }
                catch (FormatException)
                {
                    throw new InvalidOperationException($"Sealing key file '{file}' holds neither {SealedValue.KeySize} raw bytes nor their base64.");
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(raw);
                }
            }

            if (key.Length != SealedValue.KeySize)
            {
                throw new InvalidOperationException($"Sealing key file '{file}' holds a {key.Length}-byte key; AES-256 keys are {SealedValue.KeySize} bytes.");
            }

            _keys.Add(id, key);
            CryptographicOperations.ZeroMemory(key);
            ids.Add(id);
        }

        if (ids.Count == 0)
        {
            throw new InvalidOperationException($"Sealing key directory '{directory}' holds no <number>.key files.");
        }

        CurrentKeyId = ids.Max();
    }

    /// <inheritdoc />
    public uint CurrentKeyId { get; }

    /// <inheritdoc />
    public bool TryGetKey(uint keyId, Span<byte> destination) => _keys.TryGetKey(keyId, destination);

    /// <inheritdoc />
    public void Dispose() => _keys.Dispose();
}
