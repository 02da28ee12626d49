// The host's view of one application: the deployment manager, signature policy and audit log that
// services.AddBpfLifecycle(...) registers, plus the host's hook memory and audit entries around each operation.
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Audit;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Host.Lifecycle;

/// <summary>The SDK services of one application, resolved from the container (which owns and disposes them).</summary>
internal sealed class ApplicationLifecycle(HostPaths paths, DeploymentManager manager, SignaturePolicy signatures, IAuditLog audit)
{
    public HostPaths Paths { get; } = paths;

    public DeploymentManager Manager { get; } = manager;

    public SignaturePolicy Signatures { get; } = signatures;

    public IAuditLog Audit { get; } = audit;

    /// <summary>Reads an artifact directory, checking its signature before its manifest is interpreted.</summary>
    public Artifact LoadArtifact(string directory) => Signatures.LoadVerified(directory);

    private string HooksFile => Path.Combine(Paths.StateDirectory, "host-hooks.json");

    /// <summary>
    /// Deploys and audits the outcome. Hooks default to the request's, then the manifest's, then the hooks the
    /// application was last deployed to, so `deploy v2` after `deploy v1 --attach xdp:eth1` rolls out on eth1.
    /// </summary>
    public async Task<DeploymentOutcome> DeployAsync(Artifact artifact, DeploymentRequest request, IProgress<RolloutEvent>? progress, CancellationToken ct)
    {
        var program = request.Program ?? artifact.Manifest.Programs[0].Name;
        var hooks = request.AttachPoints
            ?? (artifact.Manifest.Programs.First(p => p.Name == program).Attach.Count > 0 ? null : LastHooks());
        if (hooks is not null)
        {
            request = new DeploymentRequest { Strategy = request.Strategy, Program = request.Program, Globals = request.Globals, AttachPoints = hooks };
        }

        var outcome = await Manager.DeployAsync(artifact, request, progress, ct);
        if (hooks is not null && outcome.Result != DeploymentResult.Refused)
        {
            Directory.CreateDirectory(Paths.StateDirectory);
            AtomicWrite(HooksFile, System.Text.Json.JsonSerializer.Serialize(hooks.Select(h => h.ToString()).ToArray()));
        }

        var auditOutcome = outcome.Result switch
        {
            DeploymentResult.Promoted => AuditOutcome.Success,
            DeploymentResult.RolledBack => AuditOutcome.Failure,
            _ => AuditOutcome.Refused,
        };
        Audit.Append(new AuditEvent(outcome.Result == DeploymentResult.RolledBack ? AuditAction.Rollback : AuditAction.Switch, auditOutcome)
        {
            Program = program,
            Version = outcome.Version?.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ArtifactSha256 = artifact.Sha256,
            AttachPoints = (hooks ?? artifact.Manifest.Programs.First(p => p.Name == program).AttachPoints.ToList()).Select(h => h.ToString()).ToList(),
            Details = new Dictionary<string, string?> { ["strategy"] = request.Strategy.Name, ["label"] = artifact.Manifest.Version, ["reason"] = outcome.Reason },
        });
        return outcome;
    }

    public async Task<DeploymentOutcome> RollbackAsync(long? to, IProgress<RolloutEvent>? progress, CancellationToken ct)
    {
        var outcome = await Manager.RollbackAsync(to, progress, ct);
        Audit.Append(new AuditEvent(AuditAction.Rollback, outcome.Result == DeploymentResult.Refused ? AuditOutcome.Refused : AuditOutcome.Success)
        {
            Version = outcome.Version?.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Details = new Dictionary<string, string?> { ["requested"] = to?.ToString(System.Globalization.CultureInfo.InvariantCulture), ["reason"] = outcome.Reason },
        });
        return outcome;
    }

    public async Task UndeployAsync(IProgress<RolloutEvent>? progress, CancellationToken ct)
    {
        await Manager.UndeployAsync(progress, ct);
        Audit.Append(new AuditEvent(AuditAction.Unload, AuditOutcome.Success) { Details = new Dictionary<string, string?> { ["application"] = Paths.Application } });
    }

    private List<AttachPoint>? LastHooks()
    {
        if (!File.Exists(HooksFile))
        {
            return null;
        }

        var names = System.Text.Json.JsonSerializer.Deserialize<string[]>(File.ReadAllText(HooksFile)) ?? [];
        return names.Length == 0 ? null : names.Select(AttachPoint.Parse).ToList();
    }

    private static void AtomicWrite(string path, string content)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>The host's rollout defaults (the "BpfLifecycle:Rollout" section) and the strategies built from them.</summary>
internal sealed class RolloutDefaults(IOptions<RolloutSettings> rollout)
{
    public RolloutSettings Rollout => rollout.Value;

    /// <summary>The strategy named on the command line, with the configured defaults.</summary>
    public RolloutStrategy Strategy(string name, IReadOnlyList<double>? stepsPercent = null, double? stepSeconds = null) => name switch
    {
        "immediate" => RolloutStrategy.Immediate(),
        "blue-green" => RolloutStrategy.BlueGreen(new BlueGreenRolloutOptions { ObservationWindow = TimeSpan.FromSeconds(stepSeconds ?? Rollout.BlueGreenWindowSeconds) }),
        "canary" => RolloutStrategy.Canary(new CanaryRolloutOptions
        {
            StepsBasisPoints = (stepsPercent is { Count: > 0 } ? stepsPercent : Rollout.Canary.StepsPercent is { Count: > 0 } s ? s : [10, 50, 100])
                .Select(p => (int)Math.Round(p * 100)).ToList(),
            StepObservation = TimeSpan.FromSeconds(stepSeconds ?? Rollout.Canary.StepSeconds),
        }),
        _ => throw new ArgumentException($"Unknown strategy '{name}': use immediate, blue-green or canary."),
    };
}

/// <summary>Writes every decision of the gate it wraps to the audit log.</summary>
internal sealed class AuditedGate(IDeploymentGate inner, IAuditLog audit) : IDeploymentGate
{
    public string Name => inner.Name;

    public int Order => inner.Order;

    public async ValueTask<GateResult> CheckAsync(GateContext context, CancellationToken cancellationToken)
    {
        var result = await inner.CheckAsync(context, cancellationToken);
        audit.Append(new AuditEvent(AuditAction.GateDecision, result.Allowed ? AuditOutcome.Success : AuditOutcome.Refused)
        {
            Program = context.Artifact.Manifest.Name,
            Version = context.Artifact.Manifest.Version,
            ArtifactSha256 = context.Artifact.Sha256,
            Details = new Dictionary<string, string?> { ["gate"] = inner.Name, ["reason"] = result.Reason },
        });
        return result;
    }
}
