// Alerts raised from failed health rules and the sink abstraction they are delivered through.
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Observability.Alerts;

/// <summary>One alert: a rule that failed for a program version, with the numbers behind it.</summary>
/// <param name="Program">The program version.</param>
/// <param name="Rule">The rule name (see <see cref="HealthRules"/>).</param>
/// <param name="Severity">Severity.</param>
/// <param name="Message">A sentence with the numbers.</param>
/// <param name="Observed">The observed figure.</param>
/// <param name="Threshold">The limit.</param>
/// <param name="RaisedAt">When it was raised.</param>
public sealed record Alert(ProgramIdentity Program, string Rule, AlertSeverity Severity, string Message, double Observed, double Threshold, DateTimeOffset RaisedAt)
{
    /// <summary>Identical alerts suppressed since this alert was last delivered.</summary>
    public int SuppressedCount { get; init; }

    /// <summary>The key under which repeats are deduplicated: program, version, rule and severity.</summary>
    public string DeduplicationKey => $"{Program.Application}\u001f{Program.Program}\u001f{Program.Version}\u001f{Program.AttachPoint}\u001f{Rule}\u001f{Severity}";

    /// <summary>A one-line summary, e.g. <c>[CRITICAL] app/prog@3 error-rate: error rate 3% &gt; 1%</c>.</summary>
    public string Summary => $"[{Severity.ToString().ToUpperInvariant()}] {Program} {Rule}: {Message}" + (SuppressedCount > 0 ? $" (repeated {SuppressedCount} more times)" : string.Empty);
}

/// <summary>Where alerts go (a log, a webhook, a pager). Implementations should not throw for delivery problems they can report.</summary>
public interface IAlertSink
{
    /// <summary>A short name used in diagnostics.</summary>
    string Name { get; }

    /// <summary>Delivers one alert.</summary>
    ValueTask SendAsync(Alert alert, CancellationToken cancellationToken);
}

/// <summary>Deduplication and rate limits applied before alerts reach sinks.</summary>
public sealed class AlertOptions
{
    /// <summary>An identical alert (same program, version, rule, severity) is delivered at most once per this period. Default 5 min.</summary>
    public TimeSpan DeduplicationWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>At most this many alerts are delivered per <see cref="RateLimitPeriod"/>, across all rules. Default 20.</summary>
    public int MaxAlertsPerPeriod { get; set; } = 20;

    /// <summary>The rate limit's period. Default 1 min.</summary>
    public TimeSpan RateLimitPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Alerts below this severity are dropped. Default <see cref="AlertSeverity.Info"/> (all are delivered).</summary>
    public AlertSeverity MinimumSeverity { get; set; } = AlertSeverity.Info;

    /// <summary>Problems with the values, each naming the option; empty when valid.</summary>
    public IEnumerable<string> Validate(string prefix = "Alerts")
    {
        if (DeduplicationWindow < TimeSpan.Zero)
        {
            yield return $"{prefix}.DeduplicationWindow must not be negative (is {DeduplicationWindow}).";
        }

        if (MaxAlertsPerPeriod < 1)
        {
            yield return $"{prefix}.MaxAlertsPerPeriod must be at least 1 (is {MaxAlertsPerPeriod}).";
        }

        if (RateLimitPeriod <= TimeSpan.Zero)
        {
            yield return $"{prefix}.RateLimitPeriod must be positive (is {RateLimitPeriod}).";
        }

        if (!Enum.IsDefined(MinimumSeverity))
        {
            yield return $"{prefix}.MinimumSeverity is not a valid severity ({(int)MinimumSeverity}).";
        }
    }
}
