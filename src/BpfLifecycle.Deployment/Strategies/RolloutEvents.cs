// Progress events of a rollout: a readonly struct carrying the context so it can grow without breaking callers.
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Strategies;

/// <summary>Kinds of rollout event.</summary>
public enum RolloutEventKind
{
    /// <summary>A journal entry was written durably (the step it announces comes next).</summary>
    JournalWritten,
    /// <summary>A gate allowed the deployment.</summary>
    GatePassed,
    /// <summary>The candidate was loaded and pinned.</summary>
    Loaded,
    /// <summary>Test vectors ran.</summary>
    TestVectors,
    /// <summary>Traffic moved (all of it, or a canary share).</summary>
    TrafficSwitched,
    /// <summary>An observation window ended with a health report.</summary>
    Observed,
    /// <summary>The candidate was promoted.</summary>
    Promoted,
    /// <summary>The candidate was rolled back.</summary>
    RolledBack,
    /// <summary>Retired versions were released.</summary>
    CleanedUp,
    /// <summary>Free-form information from a strategy.</summary>
    Info,
}

/// <summary>A rollout event.</summary>
public readonly struct RolloutEvent
{
    /// <summary>Creates an event.</summary>
    public RolloutEvent(RolloutEventKind kind, string application, long versionId, string message, DateTimeOffset timestamp)
    {
        Kind = kind;
        Application = application;
        VersionId = versionId;
        Message = message;
        Timestamp = timestamp;
    }

    /// <summary>What happened.</summary>
    public RolloutEventKind Kind { get; }

    /// <summary>The application.</summary>
    public string Application { get; }

    /// <summary>The candidate version.</summary>
    public long VersionId { get; }

    /// <summary>A sentence with the figures.</summary>
    public string Message { get; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The strategy running, if any.</summary>
    public string? Strategy { get; init; }

    /// <summary>Canary share at the time, in basis points.</summary>
    public int CanaryBasisPoints { get; init; }

    /// <summary>The journal phase (for <see cref="RolloutEventKind.JournalWritten"/>).</summary>
    public State.JournalPhase? Phase { get; init; }

    /// <summary>Health evidence, for <see cref="RolloutEventKind.Observed"/> and decisions.</summary>
    public HealthReport? Health { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Timestamp:O} {Application} v{VersionId} {Kind}: {Message}";
}
