// deploy, status, versions, rollback, undeploy and audit verify: thin commands over the application's DeploymentManager.
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Host.Lifecycle;
using BpfLifecycle.Host.Rendering;
using BpfLifecycle.Observability.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace BpfLifecycle.Host.Commands;

// The application's services are resolved per command, so `audit verify` opens no audit log of its own.
internal sealed class LifecycleCommands(IServiceProvider services, RolloutDefaults rollouts, HostPaths paths, TextWriter output)
{
    public async Task<int> DeployAsync(string artifactDirectory, string strategy, IReadOnlyList<string> attach, IReadOnlyList<double>? stepsPercent, double? stepSeconds, CancellationToken ct)
    {
        var attachPoints = attach.Count == 0 ? null : attach.Select(ParseAttach).ToList();
        var rollout = rollouts.Strategy(strategy, stepsPercent, stepSeconds);
        var app = services.GetRequiredService<ApplicationLifecycle>();
        var artifact = app.LoadArtifact(artifactDirectory);
        output.WriteLine($"deploying {artifact.Manifest.Name} {artifact.Manifest.Version} to application '{paths.Application}' by {strategy}");
        var view = RolloutProgressView.ForConsole();
        var outcome = await app.DeployAsync(artifact, new DeploymentRequest { Strategy = rollout, AttachPoints = attachPoints }, view, ct);
        view.Complete();
        output.WriteLine($"{outcome.Result.ToString().ToLowerInvariant()}: version {outcome.Version?.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}: {outcome.Reason}");
        return ExitCodeOf(outcome);
    }

    public int Status(bool json)
    {
        var app = services.GetRequiredService<ApplicationLifecycle>();
        var status = app.Manager.GetStatus();
        if (json)
        {
            output.WriteLine(Json.Serialize(status.ActiveVersionId is null && status.CandidateVersionId is null ? [] : new[] { DeploymentDocument.From(status) }));
            return ExitCodes.Success;
        }

        PrintStatus(status, output);
        return ExitCodes.Success;
    }

    public int Versions(bool json)
    {
        var app = services.GetRequiredService<ApplicationLifecycle>();
        var versions = app.Manager.GetVersions().Select(VersionDocument.From).ToList();
        if (json)
        {
            output.WriteLine(Json.Serialize(versions));
            return ExitCodes.Success;
        }

        PrintVersions(versions, output);
        return ExitCodes.Success;
    }

    public async Task<int> RollbackAsync(long? to, CancellationToken ct)
    {
        var app = services.GetRequiredService<ApplicationLifecycle>();
        var view = RolloutProgressView.ForConsole();
        var outcome = await app.RollbackAsync(to, view, ct);
        view.Complete();
        output.WriteLine($"{outcome.Result.ToString().ToLowerInvariant()}: {outcome.Reason}");
        return outcome.Result == DeploymentResult.Refused ? ExitCodes.Refused : ExitCodes.Success;
    }

    public async Task<int> UndeployAsync(CancellationToken ct)
    {
        var app = services.GetRequiredService<ApplicationLifecycle>();
        await app.UndeployAsync(RolloutProgressView.ForConsole(), ct);
        output.WriteLine($"application '{paths.Application}': every program detached and unloaded; history kept in {paths.StateDirectory}");
        return ExitCodes.Success;
    }

    public async Task<int> RecoverAsync(CancellationToken ct)
    {
        var app = services.GetRequiredService<ApplicationLifecycle>();
        var report = await app.Manager.RecoverAsync(RolloutProgressView.ForConsole(), ct);
        output.WriteLine(report.Action switch
        {
            RecoveryAction.None => $"application '{paths.Application}': no interrupted operation",
            RecoveryAction.Reverted => $"application '{paths.Application}': interrupted {report.Operation?.Operation} reverted",
            _ => $"application '{paths.Application}': interrupted {report.Operation?.Operation} finished",
        });
        foreach (var drift in report.Drift)
        {
            output.WriteLine($"  drift: {drift}");
        }

        return ExitCodes.Success;
    }

    public int AuditVerify()
    {
        if (!File.Exists(paths.AuditLogPath))
        {
            output.WriteLine($"no audit log at {paths.AuditLogPath}");
            return ExitCodes.NotFound;
        }

        var result = AuditLogVerifier.Verify(paths.AuditLogPath);
        output.WriteLine(result.IsValid
            ? $"audit log {paths.AuditLogPath}: valid, {result.EntryCount} entries, head {result.Head}"
            : $"audit log {paths.AuditLogPath}: TAMPERED at line {result.FailedLine}: {result.Problem}");
        return result.IsValid ? ExitCodes.Success : ExitCodes.Error;
    }

    public static void PrintStatus(DeploymentStatus status, TextWriter output)
    {
        if (status.ActiveVersionId is null && status.CandidateVersionId is null)
        {
            output.WriteLine($"application '{status.Application}': nothing deployed");
            return;
        }

        output.WriteLine($"application  {status.Application}");
        output.WriteLine($"program      {status.Program}");
        output.WriteLine($"attached to  {string.Join(", ", status.AttachPoints.Select(a => status.LinkIds.TryGetValue(a, out var l) ? $"{a} (link {l})" : a))}");
        output.WriteLine($"strategy     {status.Strategy ?? "-"}");
        output.WriteLine($"active       v{status.ActiveVersionId} (kernel program {status.ActiveProgramId})");
        if (status.CandidateVersionId is { } c)
        {
            output.WriteLine($"candidate    v{c} (kernel program {status.CandidateProgramId}), canary share {status.CanaryBasisPoints / 100.0:0.##}%");
        }

        if (status.DispatcherProgramId is { } d)
        {
            output.WriteLine($"dispatcher   kernel program {d}");
        }

        if (status.Health is { } h)
        {
            output.WriteLine($"last health  {h.Verdict}: {h.Candidate.Runs} runs, {h.Candidate.ErrorRate:P2} errors{(h.Failures.Any() ? " — " + string.Join("; ", h.Failures.Select(f => f.Explanation)) : "")}");
        }

        if (status.PendingPhase is { } p)
        {
            output.WriteLine($"pending      {p} (run `bpflc run` or any command to recover)");
        }
    }

    public static void PrintVersions(IEnumerable<VersionDocument> versions, TextWriter output)
    {
        output.WriteLine($"{"ID",-4} {"NAME",-16} {"VERSION",-10} {"COMMIT",-9} {"DEPLOYED",-20} {"STATUS",-11} SHA256");
        foreach (var v in versions)
        {
            output.WriteLine($"{v.Id,-4} {v.Name,-16} {v.Version,-10} {v.Commit ?? "-",-9} {v.DeployedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss}  {v.Status,-11} {v.ArtifactSha256[..12]}{(v.Reason is null ? "" : "  " + v.Reason)}");
        }
    }

    public static int ExitCodeOf(DeploymentOutcome outcome) => outcome.Result switch
    {
        DeploymentResult.Promoted => ExitCodes.Success,
        DeploymentResult.RolledBack => ExitCodes.RolledBack,
        _ => ExitCodes.Refused,
    };

    private static AttachPoint ParseAttach(string text)
    {
        try
        {
            return AttachPoint.Parse(text);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"--attach: {e.Message}", e);
        }
    }
}
