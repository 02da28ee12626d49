// The monitoring loop as a hosted service: holds kernel statistics on, polls and evaluates every PollInterval,
// drains log rings every LogDrainInterval, all timed by the TimeProvider from DI.
using BpfLifecycle.Interop;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Observability.Monitoring;

/// <summary>Runs <see cref="BpfMonitor"/> on a timer for the lifetime of the host.</summary>
public sealed partial class BpfMonitoringService : BackgroundService
{
    private readonly BpfMonitor _monitor;
    private readonly IOptionsMonitor<ObservabilityOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _polls;
    private long _drains;

    /// <summary>Creates the service.</summary>
    public BpfMonitoringService(BpfMonitor monitor, IOptionsMonitor<ObservabilityOptions> options, TimeProvider timeProvider, ILogger<BpfMonitoringService> logger)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _monitor = monitor;
        _options = options;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>Poll cycles completed (successful or not).</summary>
    public long CompletedPolls => Interlocked.Read(ref _polls);

    /// <summary>Log drain cycles completed.</summary>
    public long CompletedDrains => Interlocked.Read(ref _drains);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.CurrentValue.EnableKernelStats)
        {
            try
            {
                _monitor.EnableKernelStats();
            }
            catch (BpfException e)
            {
                // Without it the kernel counts nothing; the versions' own stats maps still work.
                LogStatsUnavailable(_logger, e);
            }
        }

        try
        {
            await Task.WhenAll(PollLoopAsync(stoppingToken), DrainLoopAsync(stoppingToken)).ConfigureAwait(false);
        }
        finally
        {
            _monitor.DrainLogs();
            _monitor.DisableKernelStats();
        }
    }

    private async Task PollLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.CurrentValue.PollInterval, _time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (_options.CurrentValue.EvaluateOnPoll)
                {
                    await _monitor.PollAndEvaluateAsync(ct).ConfigureAwait(false);
                }
                else
                {
                    _monitor.Poll();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogCycleFailed(_logger, e, "poll");
            }
            finally
            {
                Interlocked.Increment(ref _polls);
            }
        }
    }

    private async Task DrainLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.CurrentValue.LogDrainInterval, _time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                _monitor.DrainLogs();
            }
            catch (Exception e)
            {
                LogCycleFailed(_logger, e, "log drain");
            }
            finally
            {
                Interlocked.Increment(ref _drains);
            }
        }
    }

    [LoggerMessage(4310, LogLevel.Error, "BPF run-time statistics could not be enabled; kernel run counts and run time will read as zero")]
    private static partial void LogStatsUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(4311, LogLevel.Error, "BPF monitoring {Cycle} cycle failed; the next cycle runs as scheduled")]
    private static partial void LogCycleFailed(ILogger logger, Exception exception, string cycle);
}
