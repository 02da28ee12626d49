// Turns failed health rules into alerts and delivers them to every sink, deduplicating repeats and limiting
// the rate (both driven by TimeProvider) so a flapping rule cannot flood a channel.
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Observability.Alerts;

/// <summary>What happened to an alert handed to <see cref="AlertPublisher.PublishAsync(Alert, CancellationToken)"/>.</summary>
public enum AlertOutcome
{
    /// <summary>Delivered to the sinks (see <see cref="AlertStatistics.SinkFailures"/> for sinks that failed).</summary>
    Delivered = 0,
    /// <summary>An identical alert was delivered within the deduplication window.</summary>
    Deduplicated = 1,
    /// <summary>The rate limit was reached.</summary>
    RateLimited = 2,
    /// <summary>Below <see cref="AlertOptions.MinimumSeverity"/>.</summary>
    BelowMinimumSeverity = 3,
}

/// <summary>Counts of an <see cref="AlertPublisher"/>'s decisions.</summary>
/// <param name="Delivered">Alerts delivered.</param>
/// <param name="Deduplicated">Alerts suppressed as repeats.</param>
/// <param name="RateLimited">Alerts dropped by the rate limit.</param>
/// <param name="BelowMinimumSeverity">Alerts dropped for their severity.</param>
/// <param name="SinkFailures">Deliveries a sink failed.</param>
public readonly record struct AlertStatistics(long Delivered, long Deduplicated, long RateLimited, long BelowMinimumSeverity, long SinkFailures);

/// <summary>Delivers alerts to the registered <see cref="IAlertSink"/>s with deduplication and a rate limit. Thread-safe.</summary>
public sealed partial class AlertPublisher
{
    private readonly IAlertSink[] _sinks;
    private readonly Func<AlertOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BpfLifecycleMetrics? _metrics;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTimeOffset LastSent, int Suppressed)> _recent = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _sent = new();
    private long _delivered, _deduplicated, _rateLimited, _belowMinimum, _sinkFailures;

    /// <summary>Creates a publisher with fixed options.</summary>
    public AlertPublisher(IEnumerable<IAlertSink> sinks, AlertOptions options, TimeProvider timeProvider, ILogger<AlertPublisher>? logger = null, BpfLifecycleMetrics? metrics = null)
        : this(sinks, () => options, timeProvider, logger, metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid alert options: " + string.Join(" ", problems), nameof(options));
        }
    }

    /// <summary>Creates a publisher that reads the current <see cref="ObservabilityOptions.Alerts"/> on every alert.</summary>
    public AlertPublisher(IEnumerable<IAlertSink> sinks, IOptionsMonitor<ObservabilityOptions> options, TimeProvider timeProvider, ILogger<AlertPublisher> logger, BpfLifecycleMetrics metrics)
        : this(sinks, () => options.CurrentValue.Alerts, timeProvider, logger, metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
    }

    private AlertPublisher(IEnumerable<IAlertSink> sinks, Func<AlertOptions> options, TimeProvider timeProvider, ILogger? logger, BpfLifecycleMetrics? metrics)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _sinks = sinks.ToArray();
        _options = options;
        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        _metrics = metrics;
    }

    /// <summary>The sinks alerts go to.</summary>
    public IReadOnlyList<IAlertSink> Sinks => _sinks;

    /// <summary>A snapshot of the counts.</summary>
    public AlertStatistics Statistics => new(Interlocked.Read(ref _delivered), Interlocked.Read(ref _deduplicated), Interlocked.Read(ref _rateLimited), Interlocked.Read(ref _belowMinimum), Interlocked.Read(ref _sinkFailures));

    /// <summary>Raises one alert per failed rule of <paramref name="report"/> (skipped and passed rules raise none).</summary>
    /// <returns>How many alerts were delivered.</returns>
    public async ValueTask<int> PublishAsync(HealthReport report, ProgramIdentity program, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(program);
        if (report.Verdict == HealthVerdict.InsufficientEvidence)
        {
            return 0;
        }

        var delivered = 0;
        foreach (var rule in report.Failures)
        {
            var alert = new Alert(program, rule.Rule, rule.Severity, rule.Explanation, rule.Observed, rule.Threshold, report.EvaluatedAt);
            if (await PublishAsync(alert, cancellationToken).ConfigureAwait(false) == AlertOutcome.Delivered)
            {
                delivered++;
            }
        }

        return delivered;
    }

    /// <summary>Delivers an alert unless it repeats one delivered within the deduplication window or the rate limit is reached.</summary>
    public async ValueTask<AlertOutcome> PublishAsync(Alert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var o = _options();
        if (alert.Severity < o.MinimumSeverity)
        {
            Interlocked.Increment(ref _belowMinimum);
            return AlertOutcome.BelowMinimumSeverity;
        }

        var now = _time.GetUtcNow();
        var key = alert.DeduplicationKey;
        int suppressed;
        lock (_lock)
        {
            if (_recent.TryGetValue(key, out var last) && now - last.LastSent < o.DeduplicationWindow)
            {
                _recent[key] = (last.LastSent, last.Suppressed + 1);
                Interlocked.Increment(ref _deduplicated);
                return AlertOutcome.Deduplicated;
            }

            while (_sent.Count > 0 && now - _sent.Peek() >= o.RateLimitPeriod)
            {
                _sent.Dequeue();
            }

            if (_sent.Count >= o.MaxAlertsPerPeriod)
            {
                Interlocked.Increment(ref _rateLimited);
                return AlertOutcome.RateLimited;
            }

            _sent.Enqueue(now);
            suppressed = last.Suppressed;
            _recent[key] = (now, 0);
            if (_recent.Count > 4096)
            {
                // Forget keys whose window has passed so a long-running host with churning versions stays bounded.
                foreach (var stale in _recent.Where(kv => now - kv.Value.LastSent >= o.DeduplicationWindow).Select(kv => kv.Key).ToList())
                {
                    _recent.Remove(stale);
                }
            }
        }

        var toSend = suppressed > 0 ? alert with { SuppressedCount = suppressed } : alert;
        Interlocked.Increment(ref _delivered);
        _metrics?.RecordAlert(alert.Program, alert.Rule, alert.Severity);
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.SendAsync(toSend, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                // One failing channel must not keep the alert from the others, nor stop the monitoring loop.
                Interlocked.Increment(ref _sinkFailures);
                LogSinkFailed(_logger, e, sink.Name, toSend.Rule, toSend.Program.ToString());
            }
        }

        return AlertOutcome.Delivered;
    }

    [LoggerMessage(4200, LogLevel.Warning, "Alert sink {Sink} failed to deliver the {Rule} alert for {Program}")]
    private static partial void LogSinkFailed(ILogger logger, Exception exception, string sink, string rule, string program);
}
