// The public surface of a deployment: options, the request, the outcome, status and recovery reports.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment;

/// <summary>Where one application keeps its state and kernel objects, and how long it retains versions.</summary>
public sealed class DeploymentOptions
{
    /// <summary>Application name: letters, digits, '-', '_' (names the pin and state directories).</summary>
    public string Application { get; set; } = string.Empty;

    /// <summary>State directory root; the application's registry, journal, lock and artifacts live in <c>&lt;root&gt;/&lt;app&gt;</c>.</summary>
    public string StateDirectory { get; set; } = "/var/lib/bpflifecycle";

    /// <summary>bpffs root; pins go to <c>&lt;root&gt;/&lt;app&gt;/...</c>.</summary>
    public string BpffsRoot { get; set; } = "/sys/fs/bpf/bpflifecycle";

    /// <summary>Versions kept loaded (the active one included); older ones are released and marked deprecated (default 3).</summary>
    public int RetainedVersions { get; set; } = 3;

    /// <summary>How long an operation waits for another process holding the application's lock (default 30 s).</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Validation errors, empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Application))
        {
            yield return "Application is empty";
        }
        else if (!Application.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            yield return $"Application '{Application}' may only contain letters, digits, '-' and '_'";
        }

        if (string.IsNullOrWhiteSpace(StateDirectory))
        {
            yield return "StateDirectory is empty";
        }

        if (string.IsNullOrWhiteSpace(BpffsRoot) || !Path.IsPathRooted(BpffsRoot))
        {
            yield return $"BpffsRoot '{BpffsRoot}' must be an absolute path on a bpffs mount";
        }

        if (RetainedVersions < 1)
        {
            yield return $"RetainedVersions must be at least 1, got {RetainedVersions}";
        }

        if (LockTimeout < TimeSpan.Zero)
        {
            yield return $"LockTimeout {LockTimeout} is negative";
        }
    }

    internal void ThrowIfInvalid()
    {
        var errors = Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid DeploymentOptions: {string.Join("; ", errors)}.");
        }
    }
}

/// <summary>What to deploy and how.</summary>
public sealed class DeploymentRequest
{
    /// <summary>The rollout strategy (default blue-green).</summary>
    public RolloutStrategy Strategy { get; init; } = RolloutStrategy.BlueGreen();

    /// <summary>Hooks to serve; defaults to the manifest's attach points of <see cref="Program"/>. Must match the live deployment's hooks.</summary>
    public IReadOnlyList<AttachPoint>? AttachPoints { get; init; }

    /// <summary>Program (function) to deploy; defaults to the manifest's first program.</summary>
    public string? Program { get; init; }

    /// <summary>Globals to set before load, on top of the manifest's (<c>bpflc_version_id</c> is set by the manager).</summary>
    public IReadOnlyDictionary<string, ulong>? Globals { get; init; }
}

/// <summary>How a deployment ended.</summary>
public enum DeploymentResult
{
    /// <summary>The candidate serves all traffic.</summary>
    Promoted,
    /// <summary>The candidate was removed; the previous version serves (or nothing, for a first deployment).</summary>
    RolledBack,
    /// <summary>A gate refused: nothing was loaded or registered.</summary>
    Refused,
}

/// <summary>The outcome of a deployment, rollback or undeploy.</summary>
/// <param name="Result">How it ended.</param>
/// <param name="Version">The candidate version (null when refused before registration).</param>
/// <param name="Reason">Why, in one sentence.</param>
/// <param name="Evidence">The health report behind the decision, if any.</param>
public sealed record DeploymentOutcome(DeploymentResult Result, VersionRecord? Version, string Reason, HealthReport? Evidence);

/// <summary>A snapshot of an application's deployment.</summary>
public sealed record DeploymentStatus
{
    /// <summary>The application.</summary>
    public required string Application { get; init; }

    /// <summary>Program (function) name of the active version.</summary>
    public string? Program { get; init; }

    /// <summary>Hooks the application is attached to.</summary>
    public IReadOnlyList<string> AttachPoints { get; init; } = [];

    /// <summary>Strategy of the running rollout, else of the last one (kept in the registry, so it survives a restart).</summary>
    public string? Strategy { get; init; }

    /// <summary>The version serving traffic.</summary>
    public long? ActiveVersionId { get; init; }

    /// <summary>The version being rolled out, if any.</summary>
    public long? CandidateVersionId { get; init; }

    /// <summary>Canary share in basis points (0 outside a canary).</summary>
    public int CanaryBasisPoints { get; init; }

    /// <summary>Kernel program id of the active version.</summary>
    public uint? ActiveProgramId { get; init; }

    /// <summary>Kernel program id of the candidate.</summary>
    public uint? CandidateProgramId { get; init; }

    /// <summary>Kernel program id of the dispatcher, when traffic goes through one.</summary>
    public uint? DispatcherProgramId { get; init; }

    /// <summary>Kernel link ids per hook.</summary>
    public IReadOnlyDictionary<string, uint> LinkIds { get; init; } = new Dictionary<string, uint>();

    /// <summary>The latest health report of the running or last rollout, if any (kept in the registry, so it survives a restart).</summary>
    public HealthReport? Health { get; init; }

    /// <summary>Phase of an unfinished operation in the journal, if any.</summary>
    public JournalPhase? PendingPhase { get; init; }
}

/// <summary>What recovery did.</summary>
public enum RecoveryAction
{
    /// <summary>No operation was open.</summary>
    None,
    /// <summary>An interrupted operation was reverted to the previous version.</summary>
    Reverted,
    /// <summary>An interrupted operation past its decision was finished.</summary>
    Finished,
}

/// <summary>The result of recovery: the action taken and the drift found between registry, bpffs and kernel.</summary>
/// <param name="Action">What was done with the journal.</param>
/// <param name="Operation">The interrupted operation, if any.</param>
/// <param name="Drift">Differences found (and repaired where possible), one sentence each.</param>
public sealed record RecoveryReport(RecoveryAction Action, JournalEntry? Operation, IReadOnlyList<string> Drift);
