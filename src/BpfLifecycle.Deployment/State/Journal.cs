// The write-ahead journal: before a step changes the kernel, the journal records that it is about to
// happen and what is needed to undo it. After a crash the manager reads the one open entry and either
// finishes it (it reached Committing) or reverts it (anything earlier).
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BpfLifecycle.Deployment.State;

/// <summary>Phases of an operation, in order. Recovery reverts any phase before <see cref="Committing"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JournalPhase>))]
public enum JournalPhase
{
    /// <summary>The candidate is registered; nothing is loaded yet.</summary>
    Registered,
    /// <summary>The candidate is being loaded and pinned.</summary>
    Loading,
    /// <summary>The candidate is loaded and pinned; traffic not yet switched.</summary>
    Loaded,
    /// <summary>Traffic is being moved to the candidate (all or a share).</summary>
    Switching,
    /// <summary>The candidate receives traffic and is watched.</summary>
    Observing,
    /// <summary>The decision to promote is made: the candidate serves everything; finishing only updates records.</summary>
    Committing,
}

/// <summary>Kind of operation in the journal.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JournalOperation>))]
public enum JournalOperation
{
    /// <summary>A new version.</summary>
    Deploy,
    /// <summary>Back to a retained version.</summary>
    Rollback,
    /// <summary>Remove the application from its hooks.</summary>
    Undeploy,
}

/// <summary>The open journal entry.</summary>
public sealed record JournalEntry
{
    /// <summary>Operation id.</summary>
    public required Guid OperationId { get; init; }

    /// <summary>What the operation does.</summary>
    public required JournalOperation Operation { get; init; }

    /// <summary>Where it got to.</summary>
    public required JournalPhase Phase { get; init; }

    /// <summary>The version being deployed (or rolled back to).</summary>
    public long? CandidateVersionId { get; init; }

    /// <summary>The version that served before the operation began (what recovery restores).</summary>
    public long? PreviousVersionId { get; init; }

    /// <summary>Whether the hooks were attached before the operation (first deployment attaches them).</summary>
    public bool HooksExisted { get; init; }

    /// <summary>Whether the candidate was already loaded and pinned before the operation (a retained version being rolled back to).</summary>
    public bool CandidatePreloaded { get; init; }

    /// <summary>Whether the dispatcher existed before the operation.</summary>
    public bool DispatcherExisted { get; init; }

    /// <summary>When the operation started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Steps performed, in order (for the audit trail and drift reports).</summary>
    public IReadOnlyList<string> Steps { get; init; } = [];
}

/// <summary>One application's journal file (<c>journal.json</c>): at most one open entry.</summary>
public sealed class Journal
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly string _path;

    /// <summary>Opens the journal at <paramref name="path"/>.</summary>
    public Journal(string path) => _path = path;

    /// <summary>Called after every durable journal write with the entry written (a test seam for crash injection).</summary>
    internal Action<JournalEntry>? AfterWrite { get; set; }

    /// <summary>The open entry, or null when the last operation completed.</summary>
    public JournalEntry? Read()
    {
        if (!File.Exists(_path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<JournalEntry>(File.ReadAllBytes(_path), Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Journal '{_path}' is corrupt: {e.Message}", e);
        }
    }

    /// <summary>Writes the entry durably before the step it announces.</summary>
    public JournalEntry Write(JournalEntry entry)
    {
        AtomicFile.WriteAllBytes(_path, JsonSerializer.SerializeToUtf8Bytes(entry, Options));
        AfterWrite?.Invoke(entry);
        return entry;
    }

    /// <summary>Advances the entry to <paramref name="phase"/>, recording <paramref name="step"/>.</summary>
    public JournalEntry Advance(JournalEntry entry, JournalPhase phase, string step) => Write(entry with { Phase = phase, Steps = [.. entry.Steps, step] });

    /// <summary>Closes the entry: the operation completed or was fully reverted.</summary>
    public void Complete() => AtomicFile.Delete(_path);
}
