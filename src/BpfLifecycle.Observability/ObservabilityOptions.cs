// Options of the observability layer: monitoring cadence, kernel statistics, health rules and alerting.
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Observability;

/// <summary>Configuration of monitoring, health rules and alerts (bound from the <c>BpfLifecycle:Observability</c> section by convention).</summary>
public sealed class ObservabilityOptions
{
    /// <summary>How often program statistics are polled, evaluated and exported. Default 10 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often log ring buffers are drained into ILogger. Default 1 s.</summary>
    public TimeSpan LogDrainInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Hold a BPF_ENABLE_STATS descriptor while monitoring so the kernel counts run time. Default true.</summary>
    public bool EnableKernelStats { get; set; } = true;

    /// <summary>Evaluate each monitored program's window on every poll and raise alerts for failed rules. Default true.</summary>
    public bool EvaluateOnPoll { get; set; } = true;

    /// <summary>Health rules.</summary>
    public HealthRuleOptions Health { get; set; } = new();

    /// <summary>Alert deduplication and rate limits.</summary>
    public AlertOptions Alerts { get; set; } = new();

    /// <summary>Problems with the values, each naming the option; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > TimeSpan.FromHours(1))
        {
            yield return $"PollInterval must be between 10 ms and 1 h (is {PollInterval}).";
        }

        if (LogDrainInterval < TimeSpan.FromMilliseconds(1) || LogDrainInterval > TimeSpan.FromMinutes(5))
        {
            yield return $"LogDrainInterval must be between 1 ms and 5 min (is {LogDrainInterval}).";
        }

        if (Health is null)
        {
            yield return "Health must not be null.";
        }
        else
        {
            foreach (var p in Health.Validate())
            {
                yield return p;
            }

            if (Health.Window < PollInterval)
            {
                yield return $"Health.Window ({Health.Window}) is shorter than PollInterval ({PollInterval}): no window would ever hold a sample.";
            }
        }

        if (Alerts is null)
        {
            yield return "Alerts must not be null.";
        }
        else
        {
            foreach (var p in Alerts.Validate())
            {
                yield return p;
            }
        }
    }
}
