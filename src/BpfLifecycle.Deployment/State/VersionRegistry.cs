// The version registry: every version ever deployed for one application, with its status and the
// artifact it came from. Kept as one JSON file written atomically; history is never rewritten, only
// statuses change and versions beyond the retention count lose their kernel objects.
using System.Text.Json;
using System.Text.Json.Serialization;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.State;

/// <summary>Status of a version.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VersionStatus>))]
public enum VersionStatus
{
    /// <summary>Registered, being rolled out; not yet serving all traffic.</summary>
    Pending,
    /// <summary>The version serving traffic.</summary>
    Active,
    /// <summary>Retained and loadable, not serving.</summary>
    Inactive,
    /// <summary>Beyond the retention count: its kernel objects were released; its artifact may still be stored.</summary>
    Deprecated,
    /// <summary>Refused by health checks, test vectors or an error; rolled back.</summary>
    Failed,
}

/// <summary>One version of an application's program.</summary>
public sealed record VersionRecord
{
    /// <summary>Version id, unique and increasing per application (also written to <c>bpflc_version_id</c>).</summary>
    public required long Id { get; init; }

    /// <summary>Artifact name.</summary>
    public required string Name { get; init; }

    /// <summary>The artifact's version label.</summary>
    public required string Label { get; init; }

    /// <summary>Source commit, if the manifest names one.</summary>
    public string? Commit { get; init; }

    /// <summary>Content address of the artifact in the artifact store.</summary>
    public required string ArtifactSha256 { get; init; }

    /// <summary>Program (function) name in the object.</summary>
    public required string Program { get; init; }

    /// <summary>When it was registered.</summary>
    public required DateTimeOffset DeployedAt { get; init; }

    /// <summary>Current status.</summary>
    public VersionStatus Status { get; init; }

    /// <summary>Kernel id of its loaded program, while loaded.</summary>
    public uint? ProgramId { get; init; }

    /// <summary>Why it failed or was rolled back, if it was.</summary>
    public string? Reason { get; init; }
}

/// <summary>The latest rollout of an application: which strategy ran and the last health verdict it produced.</summary>
public sealed record RolloutRecord
{
    /// <summary>Strategy name, e.g. <c>canary</c>.</summary>
    public required string Strategy { get; init; }

    /// <summary>The version that was rolled out (or rolled back to).</summary>
    public required long VersionId { get; init; }

    /// <summary>
    /// The last health report of the rollout, or of an earlier one when this rollout observed nothing (an immediate
    /// switch without a window); null when no rollout was ever observed.
    /// </summary>
    public HealthReport? Health { get; init; }

    /// <summary>When the record was written.</summary>
    public required DateTimeOffset RecordedAt { get; init; }
}

/// <summary>The registry document.</summary>
internal sealed record RegistryDocument
{
    public long NextId { get; init; } = 1;

    public List<VersionRecord> Versions { get; init; } = [];

    public RolloutRecord? LastRollout { get; init; }

    // Ratio rules in a health report read infinity when the baseline had no errors or no time.
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
}

/// <summary>Durable version registry of one application (<c>registry.json</c> in its state directory).</summary>
public sealed class VersionRegistry
{
    private readonly string _path;
    private RegistryDocument _doc;

    /// <summary>Opens (or starts) the registry file at <paramref name="path"/>.</summary>
    public VersionRegistry(string path)
    {
        _path = path;
        _doc = Read(path);
    }

    /// <summary>All versions, oldest first.</summary>
    public IReadOnlyList<VersionRecord> Versions => _doc.Versions;

    /// <summary>The active version, if any.</summary>
    public VersionRecord? Active => _doc.Versions.LastOrDefault(v => v.Status == VersionStatus.Active);

    /// <summary>The latest rollout's strategy and health, kept with the versions so it survives a restart; null before the first rollout.</summary>
    public RolloutRecord? LastRollout => _doc.LastRollout;

    /// <summary>Replaces <see cref="LastRollout"/> in one atomic write.</summary>
    public void RecordRollout(RolloutRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Save(_doc with { LastRollout = record });
    }

    /// <summary>Re-reads the file (another process may have changed it while this one did not hold the lock).</summary>
    public void Reload() => _doc = Read(_path);

    /// <summary>The version with <paramref name="id"/>, or null.</summary>
    public VersionRecord? Find(long id) => _doc.Versions.FirstOrDefault(v => v.Id == id);

    /// <summary>Allocates the next id and records a pending version.</summary>
    public VersionRecord Register(Func<long, VersionRecord> create)
    {
        var id = _doc.NextId;
        var record = create(id) with { Id = id, Status = VersionStatus.Pending };
        Save(_doc with { NextId = id + 1, Versions = [.. _doc.Versions, record] });
        return record;
    }

    /// <summary>Applies changes to several versions in one atomic write.</summary>
    public void Update(params (long Id, Func<VersionRecord, VersionRecord> Change)[] changes)
    {
        var list = _doc.Versions.ToList();
        foreach (var (id, change) in changes)
        {
            var i = list.FindIndex(v => v.Id == id);
            if (i < 0)
            {
                throw new InvalidOperationException($"Version {id} is not in the registry.");
            }

            list[i] = change(list[i]);
        }

        Save(_doc with { Versions = list });
    }

    private void Save(RegistryDocument doc)
    {
        AtomicFile.WriteAllBytes(_path, JsonSerializer.SerializeToUtf8Bytes(doc, RegistryDocument.JsonOptions));
        _doc = doc;
    }

    private static RegistryDocument Read(string path)
    {
        if (!File.Exists(path))
        {
            return new RegistryDocument();
        }

        try
        {
            return JsonSerializer.Deserialize<RegistryDocument>(File.ReadAllBytes(path), RegistryDocument.JsonOptions) ?? new RegistryDocument();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Version registry '{path}' is corrupt: {e.Message}", e);
        }
    }
}
