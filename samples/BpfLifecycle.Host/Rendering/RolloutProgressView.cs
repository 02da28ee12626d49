// Shows a rollout while it runs. On a terminal: one line per step plus a live status line (step, canary share,
// health evidence) redrawn in place. Redirected: plain timestamped lines only, one per event, for logs and scripts.
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Host.Rendering;

internal sealed class RolloutProgressView(TextWriter output, bool live) : IProgress<RolloutEvent>
{
    private readonly Lock _gate = new();
    private string _status = "";

    /// <summary>A view for the console: live when stdout is a terminal.</summary>
    public static RolloutProgressView ForConsole() => new(Console.Out, !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb"));

    public void Report(RolloutEvent e)
    {
        lock (_gate)
        {
            if (live)
            {
                output.Write("\r\u001b[2K");
            }

            if (e.Kind is not RolloutEventKind.JournalWritten)
            {
                var message = e.Message.Length > 160 ? e.Message[..157] + "..." : e.Message;
                output.WriteLine($"{e.Timestamp.ToLocalTime():HH:mm:ss} {(e.VersionId > 0 ? $"v{e.VersionId}" : "--"),-3} {Label(e.Kind),-9} {message}{Evidence(e.Health)}");
            }

            if (live)
            {
                _status = e.VersionId > 0
                    ? $"  [{e.Strategy ?? "rollout"} v{e.VersionId}] share {e.CanaryBasisPoints / 100.0:0.#}%{(e.Health is { } h ? $", {h.Verdict}: {h.Candidate.Runs} runs, {h.Candidate.ErrorRate:P1} errors" : "")}"
                    : $"  [{e.Strategy ?? "rollout"}] checking gates";
                output.Write($"\u001b[2m{_status}\u001b[0m");
            }

            output.Flush();
        }
    }

    /// <summary>Ends the live line so the next output starts clean.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            if (live && _status.Length > 0)
            {
                output.Write("\r\u001b[2K");
                output.Flush();
            }
        }
    }

    private static string Label(RolloutEventKind kind) => kind switch
    {
        RolloutEventKind.GatePassed => "gate",
        RolloutEventKind.Loaded => "loaded",
        RolloutEventKind.TestVectors => "tests",
        RolloutEventKind.TrafficSwitched => "traffic",
        RolloutEventKind.Observed => "observed",
        RolloutEventKind.Promoted => "PROMOTED",
        RolloutEventKind.RolledBack => "ROLLBACK",
        RolloutEventKind.CleanedUp => "cleanup",
        _ => "info",
    };

    private static string Evidence(HealthReport? health) => health is null ? "" :
        $" [{health.Verdict}: candidate {health.Candidate.Runs} runs, {health.Candidate.ErrorRate:P1} errors, {health.Candidate.MeanDurationNs:F0} ns/run"
        + (health.Baseline is { } b ? $"; baseline {b.Runs} runs, {b.ErrorRate:P1} errors" : "")
        + (health.Failures.Any() ? $"; failed: {string.Join(", ", health.Failures.Select(f => f.Explanation))}" : "") + "]";
}
