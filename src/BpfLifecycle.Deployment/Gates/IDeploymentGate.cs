// Gates run before the kernel is touched: signature, resource budget, capabilities, custom policy.
// A gate that refuses stops the deployment; nothing has been loaded at that point.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Gates;

/// <summary>What a gate sees: the application, the validated artifact and the object's map specs.</summary>
/// <param name="Application">Application name.</param>
/// <param name="Artifact">The validated artifact.</param>
/// <param name="MapSpecs">Map specs read from the object before load (for budgets), empty if not read.</param>
public sealed record GateContext(string Application, Artifact Artifact, IReadOnlyList<BpfMapSpec> MapSpecs)
{
    /// <summary>Free-form properties a host may add for custom gates.</summary>
    public IReadOnlyDictionary<string, object?> Properties { get; init; } = new Dictionary<string, object?>();
}

/// <summary>A gate's decision and the reason for it.</summary>
/// <param name="Allowed">Whether the deployment may continue.</param>
/// <param name="Reason">Why, in one sentence naming the figures or the key involved.</param>
public sealed record GateResult(bool Allowed, string Reason)
{
    /// <summary>An allowing result.</summary>
    public static GateResult Allow(string reason) => new(true, reason);

    /// <summary>A refusing result.</summary>
    public static GateResult Deny(string reason) => new(false, reason);
}

/// <summary>A check that must pass before an artifact reaches the kernel.</summary>
public interface IDeploymentGate
{
    /// <summary>Gate name for logs and the audit trail, e.g. <c>signature</c>.</summary>
    string Name { get; }

    /// <summary>Order among gates (lower runs first). Signature 100, budget 200, capabilities 300 by convention.</summary>
    int Order { get; }

    /// <summary>Decides whether the deployment may continue.</summary>
    ValueTask<GateResult> CheckAsync(GateContext context, CancellationToken cancellationToken);
}

/// <summary>A deployment was refused by a gate. Nothing was loaded.</summary>
public sealed class DeploymentRefusedException : Exception
{
    /// <summary>Creates the error.</summary>
    public DeploymentRefusedException(string gate, string reason) : base($"Deployment refused by the {gate} gate: {reason}")
    {
        Gate = gate;
        Reason = reason;
    }

    /// <summary>The gate that refused.</summary>
    public string Gate { get; }

    /// <summary>Its reason.</summary>
    public string Reason { get; }
}
