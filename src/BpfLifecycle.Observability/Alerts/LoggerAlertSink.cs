// The built-in alert sink that writes alerts to ILogger: critical as Critical, warning as Warning, info as Information.
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.Logging;

namespace BpfLifecycle.Observability.Alerts;

/// <summary>Writes alerts to an <see cref="ILogger"/> with the rule, program and numbers as structured state.</summary>
public sealed class LoggerAlertSink : IAlertSink
{
    /// <summary>Event id of alert log entries.</summary>
    public static readonly EventId AlertEvent = new(4201, "BpfAlert");

    private readonly ILogger _logger;

    /// <summary>Creates the sink.</summary>
    public LoggerAlertSink(ILogger<LoggerAlertSink> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => "logger";

    /// <inheritdoc />
    public ValueTask SendAsync(Alert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var level = alert.Severity switch
        {
            AlertSeverity.Critical => LogLevel.Critical,
            AlertSeverity.Warning => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        _logger.Log(level, AlertEvent,
            "BPF alert {Severity} {Rule} for {Application}/{Program}@{Version}: {AlertMessage} (observed {Observed}, threshold {Threshold}, repeated {SuppressedCount})",
            Metrics.BpfLifecycleMetrics.SeverityName(alert.Severity), alert.Rule, alert.Program.Application, alert.Program.Program, alert.Program.Version, alert.Message, alert.Observed, alert.Threshold, alert.SuppressedCount);
        return ValueTask.CompletedTask;
    }
}
