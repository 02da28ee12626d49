// Checks, before a deployment starts, that this thread holds the capabilities its operations need, and
// lowers the capabilities to a configured set once setup is done.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Audit;

namespace BpfLifecycle.Deployment.Security;

/// <summary>
/// The deployment gate that refuses an artifact when the calling thread lacks a capability one of its
/// operations needs (order 300): CAP_BPF for maps and every load, CAP_NET_ADMIN for XDP and TC,
/// CAP_PERFMON for tracepoints, raw tracepoints and uprobes and their perf events — or CAP_SYS_ADMIN alone.
/// The refusal names every missing capability and the operation that needs it.
/// </summary>
public sealed class CapabilityGate : IDeploymentGate
{
    /// <summary>The gate's name.</summary>
    public const string GateName = "capabilities";

    private readonly Func<CapabilitySet> _effective;

    /// <summary>Creates the gate over the calling thread's effective set.</summary>
    public CapabilityGate()
        : this(static () => Capabilities.Current().Effective)
    {
    }

    /// <summary>Creates the gate over a given source of the effective set (e.g. a worker thread's).</summary>
    public CapabilityGate(Func<CapabilitySet> effective)
    {
        ArgumentNullException.ThrowIfNull(effective);
        _effective = effective;
    }

    /// <inheritdoc />
    public string Name => GateName;

    /// <inheritdoc />
    public int Order => 300;

    /// <summary>The capability requirements of deploying <paramref name="manifest"/>, one per distinct operation.</summary>
    public static IReadOnlyList<CapabilityRequirement> RequirementsOf(ArtifactManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var ops = new SortedSet<BpfOperation> { BpfOperation.CreateMap };
        foreach (var program in manifest.Programs)
        {
            foreach (var a in program.AttachPoints)
            {
                switch (a.Kind)
                {
                    case AttachKind.Xdp or AttachKind.XdpGeneric:
                        ops.Add(BpfOperation.LoadXdp);
                        break;
                    case AttachKind.TcxIngress or AttachKind.TcxEgress:
                        ops.Add(BpfOperation.LoadTc);
                        break;
                    case AttachKind.Tracepoint:
                        ops.Add(BpfOperation.LoadTracepoint);
                        ops.Add(BpfOperation.OpenPerfEvent);
                        break;
                    case AttachKind.RawTracepoint:
                        ops.Add(BpfOperation.LoadRawTracepoint);
                        break;
                    case AttachKind.Uprobe:
                        ops.Add(BpfOperation.LoadUprobe);
                        ops.Add(BpfOperation.OpenPerfEvent);
                        break;
                    case AttachKind.CgroupSkbIngress or AttachKind.CgroupSkbEgress:
                        ops.Add(BpfOperation.LoadCgroupSkb);
                        break;
                }
            }
        }

        return ops.Select(Capabilities.Required).ToArray();
    }

    /// <summary>The capabilities <paramref name="effective"/> lacks for <paramref name="manifest"/>, with the operations that need them.</summary>
    public static IReadOnlyList<(CapabilityRequirement Requirement, CapabilitySet Missing)> MissingFor(ArtifactManifest manifest, CapabilitySet effective)
        => RequirementsOf(manifest).Select(r => (r, r.MissingFrom(effective))).Where(x => !x.Item2.IsEmpty).ToArray();

    /// <inheritdoc />
    public ValueTask<GateResult> CheckAsync(GateContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        var effective = _effective();
        var missing = MissingFor(context.Artifact.Manifest, effective);
        if (missing.Count == 0)
        {
            return ValueTask.FromResult(GateResult.Allow($"effective capabilities {effective} cover every operation of {context.Artifact.Manifest.Name} {context.Artifact.Manifest.Version}"));
        }

        var all = missing.Aggregate(CapabilitySet.Empty, (s, m) => s.Union(m.Missing));
        var detail = string.Join("; ", missing.Select(m => $"{m.Requirement} — missing {m.Missing}"));
        return ValueTask.FromResult(GateResult.Deny($"missing {all} (effective: {effective}): {detail}"));
    }
}

/// <summary>Which capabilities to keep after setup.</summary>
public sealed class CapabilityDropOptions
{
    /// <summary>Kernel names of the capabilities to keep, e.g. <c>CAP_BPF</c>, <c>CAP_NET_ADMIN</c>. Empty keeps none.</summary>
    public IList<string> Keep { get; } = new List<string>();
}

/// <summary>
/// Lowers the calling thread's capabilities to the configured set once setup is done, and audits it. Capabilities
/// are per thread on Linux (see <see cref="Capabilities"/>): call it on the thread that performs later BPF work,
/// before it starts other threads.
/// </summary>
public sealed class CapabilityDropHook
{
    private readonly CapabilitySet _keep;
    private readonly IAuditLog? _audit;

    /// <summary>Creates the hook.</summary>
    /// <exception cref="ArgumentException">A name is not a capability (the message names it).</exception>
    public CapabilityDropHook(CapabilityDropOptions options, IAuditLog? audit = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keep = CapabilitySet.Empty;
        foreach (var name in options.Keep)
        {
            try
            {
                keep = keep.With(CapabilityNames.Parse(name));
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"CapabilityDropOptions.Keep: {e.Message}", nameof(options), e);
            }
        }

        _keep = keep;
        _audit = audit;
    }

    /// <summary>The set kept.</summary>
    public CapabilitySet Keep => _keep;

    /// <summary>Drops the calling thread to <see cref="Keep"/> and returns its sets afterwards.</summary>
    public CapabilityState Apply()
    {
        var before = Capabilities.Current();
        try
        {
            var after = Capabilities.DropTo(_keep);
            _audit?.Append(new AuditEvent(AuditAction.CapabilityDrop, AuditOutcome.Success)
            {
                Details = new Dictionary<string, string?>
                {
                    ["thread"] = after.ThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["before"] = before.Effective.ToString(),
                    ["after"] = after.Effective.ToString(),
                },
            });
            return after;
        }
        catch (Exception e) when (e is ArgumentException or BpfException)
        {
            _audit?.Append(new AuditEvent(AuditAction.CapabilityDrop, AuditOutcome.Failure)
            {
                Details = new Dictionary<string, string?> { ["before"] = before.Effective.ToString(), ["keep"] = _keep.ToString(), ["error"] = e.Message },
            });
            throw;
        }
    }
}
