// What the audit log records: an action on a program or map, by whom, with what outcome, chained by hashes.
using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace BpfLifecycle.Observability.Audit;

/// <summary>Audited actions.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuditAction>))]
public enum AuditAction
{
    /// <summary>A program version was loaded into the kernel.</summary>
    Load,
    /// <summary>A program was attached to a hook.</summary>
    Attach,
    /// <summary>Traffic was switched between versions.</summary>
    Switch,
    /// <summary>A deployment was rolled back.</summary>
    Rollback,
    /// <summary>A program version was unloaded (unpinned, detached).</summary>
    Unload,
    /// <summary>A runtime configuration value changed.</summary>
    ConfigChange,
    /// <summary>A map marked sensitive was read.</summary>
    SensitiveMapRead,
    /// <summary>A map marked sensitive was written or deleted from.</summary>
    SensitiveMapWrite,
    /// <summary>A deployment gate allowed or refused an artifact.</summary>
    GateDecision,
    /// <summary>An unsigned artifact was let through because policy explicitly allows it.</summary>
    UnsignedArtifactAllowed,
    /// <summary>Pinned maps no active program references were released to stay within a memory budget.</summary>
    Evict,
    /// <summary>An idle program (run count unchanged) was cleaned up.</summary>
    IdleCleanup,
    /// <summary>A program's sampling was lowered because its CPU share passed the limit.</summary>
    Throttle,
    /// <summary>The process dropped capabilities to its configured set.</summary>
    CapabilityDrop,
}

/// <summary>How an audited action ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuditOutcome>))]
public enum AuditOutcome
{
    /// <summary>It succeeded.</summary>
    Success,
    /// <summary>It failed.</summary>
    Failure,
    /// <summary>A policy refused it.</summary>
    Refused,
}

/// <summary>The process that performed an action.</summary>
/// <param name="Uid">Effective user id.</param>
/// <param name="Pid">Process id.</param>
/// <param name="Process">Process name (<c>/proc/self/comm</c>).</param>
public sealed record AuditActor(uint Uid, int Pid, string Process)
{
    private static readonly Lazy<AuditActor> s_current = new(ReadCurrent);

    /// <summary>This process.</summary>
    public static AuditActor Current => s_current.Value;

    private static AuditActor ReadCurrent()
    {
        uint uid = uint.MaxValue;
        string process = "unknown";
        if (OperatingSystem.IsLinux())
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    uid = uint.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                }
            }

            process = File.ReadAllText("/proc/self/comm").Trim();
        }

        return new AuditActor(uid, Environment.ProcessId, process);
    }
}

/// <summary>What a caller reports; the log adds time, actor, sequence and hashes.</summary>
public sealed record AuditEvent(AuditAction Action, AuditOutcome Outcome)
{
    /// <summary>Program name.</summary>
    public string? Program { get; init; }

    /// <summary>Version label.</summary>
    public string? Version { get; init; }

    /// <summary>Artifact content address (SHA-256 hex).</summary>
    public string? ArtifactSha256 { get; init; }

    /// <summary>Attach points (<c>kind:target</c>).</summary>
    public IReadOnlyList<string> AttachPoints { get; init; } = [];

    /// <summary>Map involved (for config and sensitive map accesses).</summary>
    public string? Map { get; init; }

    /// <summary>Free-form details (reason, old and new value, figures). Redacted before they are written.</summary>
    public IReadOnlyDictionary<string, string?> Details { get; init; } = new Dictionary<string, string?>();

    /// <summary>Sensitive data (map keys, values): only their keyed hashes are written, never the bytes.</summary>
    public IReadOnlyDictionary<string, ReadOnlyMemory<byte>> Sensitive { get; init; } = new Dictionary<string, ReadOnlyMemory<byte>>();
}

/// <summary>One line of the audit log as written and read back.</summary>
public sealed record AuditEntry
{
    /// <summary>Position in the chain, from 1.</summary>
    public required long Sequence { get; init; }

    /// <summary>When it happened (from the log's <see cref="TimeProvider"/>).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The action.</summary>
    public required AuditAction Action { get; init; }

    /// <summary>The outcome.</summary>
    public required AuditOutcome Outcome { get; init; }

    /// <summary>Who.</summary>
    public required AuditActor Actor { get; init; }

    /// <summary>Program name.</summary>
    public string? Program { get; init; }

    /// <summary>Version label.</summary>
    public string? Version { get; init; }

    /// <summary>Artifact content address.</summary>
    public string? ArtifactSha256 { get; init; }

    /// <summary>Attach points.</summary>
    public IReadOnlyList<string> AttachPoints { get; init; } = [];

    /// <summary>Map involved.</summary>
    public string? Map { get; init; }

    /// <summary>Redacted details.</summary>
    public IReadOnlyDictionary<string, string?> Details { get; init; } = new Dictionary<string, string?>();

    /// <summary>Hashes of sensitive data (<c>hmac-sha256:</c> or <c>sha256:</c> followed by hex).</summary>
    public IReadOnlyDictionary<string, string> Sensitive { get; init; } = new Dictionary<string, string>();

    /// <summary>Hash of the previous entry (64 zeros for the first).</summary>
    public required string PreviousHash { get; init; }

    /// <summary>SHA-256 of this entry's line without its <c>hash</c> field.</summary>
    [JsonIgnore]
    public string Hash { get; init; } = string.Empty;
}

/// <summary>Writes audit events.</summary>
public interface IAuditLog
{
    /// <summary>Appends an event durably and returns the entry as written.</summary>
    AuditEntry Append(AuditEvent auditEvent);

    /// <summary>Appends an event durably and returns the entry as written.</summary>
    ValueTask<AuditEntry> AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default);
}

/// <summary>Hashes sensitive data for the audit log.</summary>
public static class SensitiveData
{
    /// <summary>
    /// <c>hmac-sha256:&lt;hex&gt;</c> under <paramref name="key"/> when one is given (so low-entropy values cannot be
    /// guessed from the log), else <c>sha256:&lt;hex&gt;</c>.
    /// </summary>
    public static string Hash(ReadOnlySpan<byte> data, ReadOnlySpan<byte> key = default)
        => key.IsEmpty
            ? "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data))
            : "hmac-sha256:" + Convert.ToHexStringLower(HMACSHA256.HashData(key, data));
}
