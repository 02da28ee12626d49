// The hosted loop that keeps an application within its budgets: samples CPU overhead (throttling programs over
// their limit) and, when configured, cleans up idle programs, every monitoring interval.
using BpfLifecycle.Deployment.Budgets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle;

/// <summary>
/// Runs <see cref="CpuOverheadMonitor.SampleAsync"/> and, when <see cref="BudgetOptions.IdleProgramTimeout"/> is set,
/// <see cref="IdleProgramReaper.CleanupAsync"/> every <see cref="MonitoringOptions.Interval"/>. A failing round is
/// logged and the loop goes on. The monitor and reaper are created on the first round, not at start.
/// </summary>
public sealed partial class BpfLifecycleMaintenanceService : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly IOptions<BpfLifecycleOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<BpfLifecycleMaintenanceService> _logger;
    private long _rounds;
    private PeriodicTimer? _timer;

    /// <summary>Creates the service.</summary>
    public BpfLifecycleMaintenanceService(IServiceProvider services, IOptions<BpfLifecycleOptions> options, TimeProvider timeProvider, ILogger<BpfLifecycleMaintenanceService> logger)
    {
        _services = services;
        _options = options;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>Rounds completed (for diagnostics and tests).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Runs one round now.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await _services.GetRequiredService<CpuOverheadMonitor>().SampleAsync(cancellationToken).ConfigureAwait(false);
        if (_options.Value.Budgets.IdleProgramTimeout is not null)
        {
            await _services.GetRequiredService<IdleProgramReaper>().CleanupAsync(cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _rounds);
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The schedule starts now, not when the background task first runs on the thread pool.
        _timer = new PeriodicTimer(_options.Value.Monitoring.Interval, _time);
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = _timer ?? throw new InvalidOperationException("StartAsync was not called.");
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRoundFailed(e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "BpfLifecycle maintenance round failed")]
    private partial void LogRoundFailed(Exception e);
}
