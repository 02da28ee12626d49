// A BPF map whose values are sealed with AES-GCM before they are written and opened when read:
// for values that only user space reads (stashed credentials, tokens), so a dump of the map shows ciphertext.
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps.Sealed;

/// <summary>Kinds of access to a sealed map.</summary>
public enum SealedMapAccessKind
{
    /// <summary>A value was read (opened).</summary>
    Read,
    /// <summary>A value was written (sealed).</summary>
    Write,
    /// <summary>An entry was deleted.</summary>
    Delete,
}

/// <summary>One access to a sealed map, for auditing. The key is a copy; the plaintext is never included.</summary>
/// <param name="MapName">Map name.</param>
/// <param name="Kind">Access kind.</param>
/// <param name="Key">The entry's key bytes (audit hashes them).</param>
/// <param name="Found">For reads and deletes: whether the key existed; for writes, true.</param>
/// <param name="Error">A failure to open (wrong key, tampering), or null.</param>
public readonly record struct SealedMapAccess(string MapName, SealedMapAccessKind Kind, ReadOnlyMemory<byte> Key, bool Found, string? Error);

/// <summary>
/// Seals values of a hash or array map: the kernel map's value size is <see cref="SealedValue.SealedSize"/> of the
/// plaintext size. BPF programs must not read these values (they see ciphertext); user space reads and writes them
/// through this class.
/// </summary>
public sealed class SealedMap : IDisposable
{
    private readonly BpfMapHandle _map;
    private readonly bool _ownsHandle;
    private readonly ISealingKeyProvider _keys;

    /// <summary>Wraps a map whose value size is <c>plaintextSize + </c><see cref="SealedValue.Overhead"/>.</summary>
    /// <param name="map">The map.</param>
    /// <param name="name">Map name; bound into every value, so values cannot be moved to another map.</param>
    /// <param name="keySize">Key size of the map.</param>
    /// <param name="plaintextSize">Plaintext value size.</param>
    /// <param name="keys">Key provider.</param>
    /// <param name="ownsHandle">Dispose <paramref name="map"/> with this object.</param>
    public SealedMap(BpfMapHandle map, string name, int keySize, int plaintextSize, ISealingKeyProvider keys, bool ownsHandle = false)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keySize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(plaintextSize);
        var info = Bpf.GetMapInfo(map);
        if (info.KeySize != keySize || info.ValueSize != SealedValue.SealedSize(plaintextSize))
        {
            throw new ArgumentException($"Map '{name}' has key size {info.KeySize} and value size {info.ValueSize}; a sealed map with {keySize}-byte keys and {plaintextSize}-byte plaintext needs value size {SealedValue.SealedSize(plaintextSize)}.", nameof(map));
        }

        _map = map;
        _ownsHandle = ownsHandle;
        _keys = keys;
        Name = name;
        KeySize = keySize;
        PlaintextSize = plaintextSize;
    }

    /// <summary>Raised after each access (for the audit log). Runs on the calling thread.</summary>
    public event Action<SealedMapAccess>? Accessed;

    /// <summary>Map name.</summary>
    public string Name { get; }

    /// <summary>Key size.</summary>
    public int KeySize { get; }

    /// <summary>Plaintext value size.</summary>
    public int PlaintextSize { get; }

    /// <summary>The underlying map.</summary>
    public BpfMapHandle Handle => _map;

    /// <summary>The spec of a map that holds sealed values of <paramref name="plaintextSize"/> bytes.</summary>
    public static BpfMapSpec CreateSpec(string name, BpfMapType type, uint keySize, int plaintextSize, uint maxEntries)
    {
        if (type is not (BpfMapType.Hash or BpfMapType.Array or BpfMapType.LruHash))
        {
            throw new ArgumentException($"Sealed maps are hash, LRU hash or array maps, not {type}.", nameof(type));
        }

        return new BpfMapSpec(name, type, keySize, (uint)SealedValue.SealedSize(plaintextSize), maxEntries, type == BpfMapType.Hash ? BpfMapFlags.NoPrealloc : BpfMapFlags.None);
    }

    /// <summary>Creates a map for sealed values and wraps it (the map is owned).</summary>
    public static SealedMap Create(string name, BpfMapType type, int keySize, int plaintextSize, uint maxEntries, ISealingKeyProvider keys)
        => new(Bpf.MapCreate(CreateSpec(name, type, (uint)keySize, plaintextSize, maxEntries)), name, keySize, plaintextSize, keys, ownsHandle: true);

    /// <summary>Seals and writes a value.</summary>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, BpfUpdateFlags flags = BpfUpdateFlags.Any)
    {
        CheckSizes(key, plaintext.Length);
        var sealedValue = SealedValue.SealedSize(PlaintextSize) <= 1024 ? stackalloc byte[SealedValue.SealedSize(PlaintextSize)] : new byte[SealedValue.SealedSize(PlaintextSize)];
        SealedValue.Seal(_keys, Name, key, plaintext, sealedValue);
        Bpf.MapUpdate(_map, key, sealedValue, flags);
        Accessed?.Invoke(new SealedMapAccess(Name, SealedMapAccessKind.Write, key.ToArray(), true, null));
    }

    /// <summary>Reads and opens a value. Returns false when the key is missing.</summary>
    /// <exception cref="SealedValueException">The value does not open (wrong key, tampered, moved).</exception>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> plaintext)
    {
        CheckSizes(key, plaintext.Length);
        var sealedValue = SealedValue.SealedSize(PlaintextSize) <= 1024 ? stackalloc byte[SealedValue.SealedSize(PlaintextSize)] : new byte[SealedValue.SealedSize(PlaintextSize)];
        if (!Bpf.MapLookup(_map, key, sealedValue))
        {
            Accessed?.Invoke(new SealedMapAccess(Name, SealedMapAccessKind.Read, key.ToArray(), false, null));
            return false;
        }

        try
        {
            SealedValue.Open(_keys, Name, key, sealedValue, plaintext);
        }
        catch (SealedValueException e)
        {
            Accessed?.Invoke(new SealedMapAccess(Name, SealedMapAccessKind.Read, key.ToArray(), true, e.Message));
            throw;
        }

        Accessed?.Invoke(new SealedMapAccess(Name, SealedMapAccessKind.Read, key.ToArray(), true, null));
        return true;
    }

    /// <summary>Deletes an entry. Returns false when the key is missing.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckSizes(key, PlaintextSize);
        var found = Bpf.MapDelete(_map, key);
        Accessed?.Invoke(new SealedMapAccess(Name, SealedMapAccessKind.Delete, key.ToArray(), found, null));
        return found;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHandle)
        {
            _map.Dispose();
        }
    }

    private void CheckSizes(ReadOnlySpan<byte> key, int plaintextLength)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"Map '{Name}': key is {key.Length} bytes, expected {KeySize}.", nameof(key));
        }

        if (plaintextLength != PlaintextSize)
        {
            throw new ArgumentException($"Map '{Name}': value is {plaintextLength} bytes, expected {PlaintextSize}.", nameof(plaintextLength));
        }
    }
}
