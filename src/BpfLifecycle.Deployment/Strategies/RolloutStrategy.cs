// The extension point for rollouts: a small abstract base with one core method. The manager hands the
// strategy a RolloutContext (switch traffic, set a canary share, observe health, wait, report) and
// acts on the decision it returns; everything durable (journal, registry, undo) stays with the manager.
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Strategies;

/// <summary>How traffic reaches versions while a strategy runs.</summary>
public enum TrafficSwitchMode
{
    /// <summary>The hook's link runs the version program itself; switches are link updates (compare-and-swap).</summary>
    Direct,
    /// <summary>The hook runs the generated dispatcher; switches and canary shares are single control-map writes.</summary>
    Dispatcher,
}

/// <summary>What a strategy decided.</summary>
/// <param name="Promote">True to promote the candidate, false to roll back to the baseline.</param>
/// <param name="Reason">Why, in one sentence.</param>
/// <param name="Evidence">The health report the decision rests on, if any.</param>
public readonly record struct RolloutDecision(bool Promote, string Reason, HealthReport? Evidence)
{
    /// <summary>Promote the candidate.</summary>
    public static RolloutDecision PromoteCandidate(string reason, HealthReport? evidence = null) => new(true, reason, evidence);

    /// <summary>Roll back to the baseline.</summary>
    public static RolloutDecision RollBack(string reason, HealthReport? evidence = null) => new(false, reason, evidence);
}

/// <summary>
/// A rollout strategy. Implement <see cref="ExecuteAsync"/> to move traffic with the context and return a
/// decision; the manager then commits or reverts. Built-ins come from <see cref="Immediate"/>,
/// <see cref="BlueGreen"/> and <see cref="Canary"/>.
/// </summary>
public abstract class RolloutStrategy
{
    /// <summary>Strategy name for status, events and the audit trail.</summary>
    public abstract string Name { get; }

    /// <summary>How this strategy needs traffic switched. <see cref="TrafficSwitchMode.Dispatcher"/> makes the manager insert the dispatcher first.</summary>
    public virtual TrafficSwitchMode SwitchMode => TrafficSwitchMode.Direct;

    /// <summary>
    /// Runs the rollout. On entry the candidate is loaded and pinned but receives no traffic (unless there is no
    /// baseline: a first deployment serves from the start). Throwing rolls back, like returning
    /// <see cref="RolloutDecision.RollBack"/>.
    /// </summary>
    public abstract ValueTask<RolloutDecision> ExecuteAsync(RolloutContext context, CancellationToken cancellationToken);

    /// <summary>Switch straight to the candidate with a link compare-and-swap, optionally observe once.</summary>
    public static RolloutStrategy Immediate(ImmediateRolloutOptions? options = null) => new ImmediateStrategy(Validated(options ?? new()));

    /// <summary>Test vectors, atomic switch, observation window, then keep or switch back.</summary>
    public static RolloutStrategy BlueGreen(BlueGreenRolloutOptions? options = null) => new BlueGreenStrategy(Validated(options ?? new()));

    /// <summary>Traffic share steps through the dispatcher, each observed against the baseline, then promotion or rollback.</summary>
    public static RolloutStrategy Canary(CanaryRolloutOptions? options = null) => new CanaryStrategy(Validated(options ?? new()));

    private static T Validated<T>(T options) where T : RolloutStrategyOptions
    {
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid {typeof(T).Name}: {string.Join("; ", errors)}.", nameof(options));
        }

        return options;
    }
}

/// <summary>Which version traffic goes to.</summary>
public enum RolloutTarget
{
    /// <summary>The version being deployed.</summary>
    Candidate,
    /// <summary>The version that served before the rollout.</summary>
    Baseline,
}

/// <summary>What a strategy can do to the deployment it runs. Implemented by the deployment manager.</summary>
public abstract class RolloutContext
{
    /// <summary>The application.</summary>
    public abstract string Application { get; }

    /// <summary>The candidate version.</summary>
    public abstract State.VersionRecord Candidate { get; }

    /// <summary>The version serving before the rollout, or null for a first deployment.</summary>
    public abstract State.VersionRecord? Baseline { get; }

    /// <summary>The hooks the application is attached to.</summary>
    public abstract IReadOnlyList<Artifacts.AttachPoint> AttachPoints { get; }

    /// <summary>The clock for every wait.</summary>
    public abstract TimeProvider TimeProvider { get; }

    /// <summary>The current canary share in basis points (0 when not in canary).</summary>
    public abstract int CanaryBasisPoints { get; }

    /// <summary>Sends all traffic on every hook to <paramref name="target"/> (atomic per hook).</summary>
    public abstract ValueTask RouteAllAsync(RolloutTarget target, CancellationToken cancellationToken);

    /// <summary>Sends all traffic of one hook to <paramref name="target"/> (direct switch mode only).</summary>
    public abstract ValueTask RouteAsync(Artifacts.AttachPoint attachPoint, RolloutTarget target, CancellationToken cancellationToken);

    /// <summary>Sends <paramref name="basisPoints"/> (0..10000) of traffic to the candidate, the rest to the baseline: one map write.</summary>
    public abstract ValueTask SetCanaryShareAsync(int basisPoints, CancellationToken cancellationToken);

    /// <summary>Counts candidate and baseline over <paramref name="window"/> and judges the candidate with the health evaluator.</summary>
    public abstract ValueTask<HealthReport> ObserveAsync(TimeSpan window, CancellationToken cancellationToken);

    /// <summary>Runs the artifact's test vectors through BPF_PROG_TEST_RUN on the candidate (no traffic involved).</summary>
    public abstract ValueTask<TestVectorReport> RunTestVectorsAsync(CancellationToken cancellationToken);

    /// <summary>Waits on <see cref="TimeProvider"/>.</summary>
    public Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(delay, TimeProvider, cancellationToken);

    /// <summary>Reports a progress event.</summary>
    public abstract void Report(RolloutEventKind kind, string message, HealthReport? health = null);
}

/// <summary>Results of an artifact's test vectors.</summary>
/// <param name="Supported">False when the program type has no kernel test run (e.g. tracepoints): nothing ran.</param>
/// <param name="Results">One result per vector.</param>
public sealed record TestVectorReport(bool Supported, IReadOnlyList<TestVectorResult> Results)
{
    /// <summary>True when every vector returned its expected verdict (or none could run).</summary>
    public bool Passed => Results.All(r => r.Passed);

    /// <summary>The failures as one sentence.</summary>
    public string Describe() => !Supported ? "program type has no test run; vectors skipped"
        : Results.Count == 0 ? "no test vectors"
        : Passed ? $"{Results.Count} test vector(s) passed"
        : string.Join("; ", Results.Where(r => !r.Passed).Select(r => $"vector '{r.Name}' returned {r.Actual}, expected {r.Expected}"));
}

/// <summary>One test vector's result.</summary>
/// <param name="Name">Vector name.</param>
/// <param name="Expected">Expected verdict.</param>
/// <param name="Actual">Verdict the kernel returned.</param>
/// <param name="DurationNs">Kernel-measured run time.</param>
public sealed record TestVectorResult(string Name, long Expected, long Actual, long DurationNs)
{
    /// <summary>Whether the verdict matched.</summary>
    public bool Passed => Expected == Actual;
}
