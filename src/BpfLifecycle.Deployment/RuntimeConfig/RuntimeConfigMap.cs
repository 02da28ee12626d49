// Runtime configuration for BPF programs: the pinned `bpflc_config` hash map of bpf_lifecycle.h
// (64-byte NUL-padded key -> u64), changed from user space without reloading, every change audited.
using System.Buffers.Binary;
using System.Text;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Audit;

namespace BpfLifecycle.Deployment.RuntimeConfig;

/// <summary>
/// The runtime configuration map shared by an application's programs. Programs read it with
/// <c>bpflc_config_get("key", default)</c> on every run, so a <see cref="Set"/> takes effect on the next run.
/// Pin it once per application and reuse its descriptor for the <c>bpflc_config</c> map of every object version
/// loaded (libbpf map reuse), so all versions see the same values. Thread-safe.
/// </summary>
public sealed class RuntimeConfigMap : IDisposable
{
    /// <summary>Map name in objects built on bpf_lifecycle.h.</summary>
    public const string MapName = "bpflc_config";

    /// <summary>Key size (<c>BPFLC_CONFIG_KEY_MAX</c>).</summary>
    public const int KeySize = 64;

    /// <summary>Longest usable key: the BPF helper copies a string literal without its NUL into the 64-byte key.</summary>
    public const int MaxKeyLength = KeySize - 1;

    /// <summary>Capacity, as declared in bpf_lifecycle.h.</summary>
    public const int MaxEntries = 256;

    private readonly BpfMapHandle _map;
    private readonly IAuditLog? _audit;
    private readonly Lock _lock = new();

    private RuntimeConfigMap(BpfMapHandle map, string? pinPath, IAuditLog? audit)
    {
        _map = map;
        PinPath = pinPath;
        _audit = audit;
    }

    /// <summary>The map's spec as bpf_lifecycle.h declares it.</summary>
    public static BpfMapSpec Spec { get; } = new(MapName, BpfMapType.Hash, KeySize, sizeof(ulong), MaxEntries);

    /// <summary>The map descriptor, e.g. to reuse it for an object's <c>bpflc_config</c> map before load.</summary>
    public BpfMapHandle Handle => _map;

    /// <summary>The pin path, or null for an unpinned map.</summary>
    public string? PinPath { get; }

    /// <summary>Opens the map pinned at <paramref name="pinPath"/>, or creates and pins it there.</summary>
    /// <exception cref="InvalidOperationException">Something else with another shape is pinned there (the message names the difference).</exception>
    public static RuntimeConfigMap OpenOrCreate(string pinPath, IAuditLog? audit = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pinPath);
        if (File.Exists(pinPath))
        {
            var existing = Bpf.GetPinnedMap(pinPath);
            var info = Bpf.GetMapInfo(existing);
            if (info.Type != BpfMapType.Hash || info.KeySize != KeySize || info.ValueSize != sizeof(ulong))
            {
                existing.Dispose();
                throw new InvalidOperationException($"The map pinned at '{pinPath}' is {info.Type} with key size {info.KeySize} and value size {info.ValueSize}; a runtime config map is Hash with key size {KeySize} and value size {sizeof(ulong)}.");
            }

            return new RuntimeConfigMap(existing, pinPath, audit);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(pinPath)!);
        var map = Bpf.MapCreate(Spec);
        try
        {
            Bpf.Pin(map, pinPath);
        }
        catch (BpfException e) when (e.Errno == Errno.EEXIST)
        {
            // Another process pinned it between our check and our pin: use theirs.
            map.Dispose();
            return OpenOrCreate(pinPath, audit);
        }
        catch
        {
            map.Dispose();
            throw;
        }

        return new RuntimeConfigMap(map, pinPath, audit);
    }

    /// <summary>Creates an unpinned map (tests, or programs that do not share configuration).</summary>
    public static RuntimeConfigMap CreateUnpinned(IAuditLog? audit = null) => new(Bpf.MapCreate(Spec), null, audit);

    /// <summary>Sets a value; the program sees it on its next run. Audited with the old and new value.</summary>
    /// <param name="key">Key: 1 to 63 printable ASCII characters.</param>
    /// <param name="value">Value.</param>
    /// <param name="reason">Why (written to the audit log), e.g. <c>operator</c> or <c>cpu-overhead</c>.</param>
    /// <param name="program">The program the change is meant for, for the audit log.</param>
    public void Set(string key, ulong value, string? reason = null, string? program = null)
    {
        Span<byte> k = stackalloc byte[KeySize];
        EncodeKey(key, k);
        Span<byte> v = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(v, value);
        lock (_lock)
        {
            Span<byte> old = stackalloc byte[sizeof(ulong)];
            var had = Bpf.MapLookup(_map, k, old);
            try
            {
                Bpf.MapUpdate(_map, k, v);
            }
            catch (BpfException e)
            {
                Audit(key, had ? BinaryPrimitives.ReadUInt64LittleEndian(old) : null, value, reason, program, e.Message);
                throw;
            }

            Audit(key, had ? BinaryPrimitives.ReadUInt64LittleEndian(old) : null, value, reason, program, null);
        }
    }

    /// <summary>Reads a value.</summary>
    public bool TryGet(string key, out ulong value)
    {
        Span<byte> k = stackalloc byte[KeySize];
        EncodeKey(key, k);
        Span<byte> v = stackalloc byte[sizeof(ulong)];
        if (Bpf.MapLookup(_map, k, v))
        {
            value = BinaryPrimitives.ReadUInt64LittleEndian(v);
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Reads a value, or <paramref name="defaultValue"/> when unset (what the BPF helper does).</summary>
    public ulong Get(string key, ulong defaultValue) => TryGet(key, out var v) ? v : defaultValue;

    /// <summary>Removes a key: programs fall back to their default. Audited.</summary>
    public bool Remove(string key, string? reason = null, string? program = null)
    {
        Span<byte> k = stackalloc byte[KeySize];
        EncodeKey(key, k);
        lock (_lock)
        {
            Span<byte> old = stackalloc byte[sizeof(ulong)];
            var had = Bpf.MapLookup(_map, k, old);
            var removed = Bpf.MapDelete(_map, k);
            if (removed)
            {
                Audit(key, had ? BinaryPrimitives.ReadUInt64LittleEndian(old) : null, null, reason, program, null);
            }

            return removed;
        }
    }

    /// <summary>All keys and values.</summary>
    public IReadOnlyDictionary<string, ulong> ReadAll()
    {
        var result = new SortedDictionary<string, ulong>(StringComparer.Ordinal);
        var key = new byte[KeySize];
        var next = new byte[KeySize];
        var value = new byte[sizeof(ulong)];
        var first = true;
        while (Bpf.MapGetNextKey(_map, first ? ReadOnlySpan<byte>.Empty : key, next))
        {
            first = false;
            next.CopyTo(key);
            if (Bpf.MapLookup(_map, key, value))
            {
                var len = key.AsSpan().IndexOf((byte)0);
                result[Encoding.ASCII.GetString(key, 0, len < 0 ? KeySize : len)] = BinaryPrimitives.ReadUInt64LittleEndian(value);
            }
        }

        return result;
    }

    /// <summary>Encodes a key as the BPF side sees it: ASCII, NUL-padded to 64 bytes.</summary>
    /// <exception cref="ArgumentException">Empty, longer than 63 characters, or not printable ASCII.</exception>
    public static void EncodeKey(string key, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (destination.Length != KeySize)
        {
            throw new ArgumentException($"Config key buffer must be {KeySize} bytes.", nameof(destination));
        }

        if (key.Length is 0 or > MaxKeyLength)
        {
            throw new ArgumentException($"Config key '{key}' is {key.Length} characters; keys are 1 to {MaxKeyLength} characters (the 64-byte key keeps a NUL, as bpflc_config_get(\"key\", ...) requires).", nameof(key));
        }

        destination.Clear();
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c is < (char)0x21 or > (char)0x7e)
            {
                throw new ArgumentException($"Config key '{key}' has a character that is not printable ASCII at position {i}.", nameof(key));
            }

            destination[i] = (byte)c;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _map.Dispose();

    private void Audit(string key, ulong? oldValue, ulong? newValue, string? reason, string? program, string? error)
    {
        _audit?.Append(new AuditEvent(AuditAction.ConfigChange, error is null ? AuditOutcome.Success : AuditOutcome.Failure)
        {
            Program = program,
            Map = PinPath ?? MapName,
            Details = new Dictionary<string, string?>
            {
                ["key"] = key,
                ["old"] = oldValue?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["new"] = newValue?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["reason"] = reason,
                ["error"] = error,
            },
        });
    }
}
