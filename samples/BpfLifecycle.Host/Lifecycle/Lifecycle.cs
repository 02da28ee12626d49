// Composes the SDK for one application: trust store, audit log, gates, health evaluator and the deployment manager.
// Every command and the demo get their manager here, so the same policy applies however a deployment starts.
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Health;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Audit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Host.Lifecycle;

/// <summary>The SDK objects of one application; disposing closes the audit log and the manager.</summary>
internal sealed class ApplicationLifecycle : IDisposable
{
    public required HostPaths Paths { get; init; }

    public required DeploymentManager Manager { get; init; }

    public required SignaturePolicy Signatures { get; init; }

    public required FileAuditLog Audit { get; init; }

    /// <summary>Reads an artifact directory, checking its signature before its manifest is interpreted.</summary>
    public Artifact LoadArtifact(string directory) => Signatures.LoadVerified(directory);

    public void Dispose()
    {
        Manager.Dispose();
        Audit.Dispose();
    }
}

/// <summary>Builds <see cref="ApplicationLifecycle"/> instances from configuration.</summary>
internal sealed class LifecycleFactory(IOptions<HostSettings> settings, IHostEnvironment environment, TimeProvider time, ILoggerFactory loggers)
{
    public HostSettings Settings => settings.Value;

    public ApplicationLifecycle Create(HostPaths paths)
    {
        Directory.CreateDirectory(paths.StateDirectory);
        var trust = new TrustStore();
        foreach (var (keyId, file) in Settings.TrustedKeys)
        {
            trust.AddFile(Path.IsPathRooted(file) ? file : Path.Combine(environment.ContentRootPath, file), keyId);
        }

        var audit = new FileAuditLog(new FileAuditLogOptions { Path = paths.AuditLogPath }, time);
        try
        {
            var signatures = new SignaturePolicy(trust, new SignaturePolicyOptions { AllowUnsigned = Settings.AllowUnsigned }, audit);
            IDeploymentGate[] gates = [new SignatureGate(signatures), new CapabilityGate()];
            var health = new ThresholdHealthEvaluator(new ThresholdHealthOptions { MinimumRuns = Settings.Health.MinimumRuns, MaxErrorRate = Settings.Health.MaxErrorRate }, time);
            var manager = new DeploymentManager(
                new DeploymentOptions { Application = paths.Application, StateDirectory = paths.StateRoot, BpffsRoot = paths.PinRoot, RetainedVersions = Settings.RetainedVersions },
                gates, health, time, loggers.CreateLogger<DeploymentManager>());
            return new ApplicationLifecycle { Paths = paths, Manager = manager, Signatures = signatures, Audit = audit };
        }
        catch
        {
            audit.Dispose();
            throw;
        }
    }

    /// <summary>The strategy named on the command line, with the configured defaults.</summary>
    public RolloutStrategy Strategy(string name, IReadOnlyList<double>? stepsPercent = null, double? stepSeconds = null) => name switch
    {
        "immediate" => RolloutStrategy.Immediate(),
        "blue-green" => RolloutStrategy.BlueGreen(new BlueGreenRolloutOptions { ObservationWindow = TimeSpan.FromSeconds(stepSeconds ?? Settings.BlueGreenWindowSeconds) }),
        "canary" => RolloutStrategy.Canary(new CanaryRolloutOptions
        {
            StepsBasisPoints = (stepsPercent is { Count: > 0 } ? stepsPercent : Settings.Canary.StepsPercent is { Count: > 0 } s ? s : [10, 50, 100])
                .Select(p => (int)Math.Round(p * 100)).ToList(),
            StepObservation = TimeSpan.FromSeconds(stepSeconds ?? Settings.Canary.StepSeconds),
        }),
        _ => throw new ArgumentException($"Unknown strategy '{name}': use immediate, blue-green or canary."),
    };
}
