// The long-running agent behind `bpflc run`: re-adopts the application's pinned state on start (finishing or
// reverting an interrupted rollout), then keeps the observability monitor registered on whatever versions serve —
// so kernel and per-version statistics become meters, BPF log records reach ILogger, and failed health rules alert.
using System.Globalization;
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.Budgets;
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Host.Lifecycle;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability;
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.Observability.Monitoring;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Host.Agent;

/// <summary>Where the Prometheus scrape endpoint listens.</summary>
internal sealed record MetricsEndpoint(string Host, int Port)
{
    public override string ToString() => $"http://{Host}:{Port}/metrics";
}

internal sealed partial class AgentService(
    ApplicationLifecycle app, IOptions<BpfLifecycleOptions> options, HostPaths paths, BpfMonitor monitor, TimeProvider time, ILogger<AgentService> logger,
    IEnumerable<IAlertSink> alertSinks, ILoggerFactory loggers) : BackgroundService
{
    /// <summary>How often the agent looks for version changes made by other processes (deploys, rollbacks).</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(2);

    private readonly Dictionary<long, Watched> _watched = new();
    private IAuditLog? _audit;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _audit = app.Audit;
        var report = await app.Manager.RecoverAsync(null, stoppingToken);
        LogRecovered(paths.Application, report.Action, report.Drift.Count);
        foreach (var drift in report.Drift)
        {
            LogDrift(drift);
        }

        using var timer = new PeriodicTimer(WatchInterval, time);
        try
        {
            do
            {
                try
                {
                    Sync(app.Manager.GetStatus());
                    foreach (var w in _watched.Values)
                    {
                        if (w.Cpu is { } cpu)
                        {
                            foreach (var sample in await cpu.SampleAsync(stoppingToken))
                            {
                                if (sample.Throttled)
                                {
                                    LogThrottled(w.Identity.ToString(), sample.Share, sample.Limit, sample.OldSamplingPercent, sample.NewSamplingPercent);
                                }
                            }
                        }
                    }
                }
                catch (Exception e) when (e is BpfException or IOException or InvalidOperationException)
                {
                    LogSyncFailed(e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var w in _watched.Values)
            {
                w.Dispose();
            }

            _watched.Clear();
        }
    }

    private void Sync(DeploymentStatus status)
    {
        var wanted = new[] { status.ActiveVersionId, status.CandidateVersionId }.OfType<long>().ToHashSet();
        foreach (var id in _watched.Keys.Where(id => !wanted.Contains(id)).ToList())
        {
            _watched.Remove(id, out var gone);
            gone!.Dispose();
            LogUnwatched(paths.Application, id);
        }

        foreach (var id in wanted.Where(id => !_watched.ContainsKey(id)))
        {
            if (Watch(id, status) is { } w)
            {
                _watched[id] = w;
                LogWatched(paths.Application, id, w.Identity.ToString());
            }
        }
    }

    private Watched? Watch(long id, DeploymentStatus status)
    {
        var dir = Path.Combine(paths.PinDirectory, "versions", id.ToString(CultureInfo.InvariantCulture));
        if (!File.Exists(Path.Combine(dir, "prog")))
        {
            return null;
        }

        var w = new Watched { Identity = new ProgramIdentity(paths.Application, status.Program ?? "program", id.ToString(CultureInfo.InvariantCulture), status.AttachPoints.Count > 0 ? status.AttachPoints[0] : null) };
        try
        {
            // Behind a dispatcher the version is tail-called and gets no kernel run statistics: use its own counters.
            w.Program = status.DispatcherProgramId is null ? Bpf.GetPinnedProgram(Path.Combine(dir, "prog")) : null;
            w.Stats = OpenMap(dir, "bpflc_stats");
            w.Logs = OpenMap(dir, "bpflc_logs");
            // CPU guard rail (limit BpfLifecycle:Budgets:CpuShareLimit): only an entry program has kernel run time;
            // behind a dispatcher the health rules judge it.
            var config = Path.Combine(dir, "maps", RuntimeConfigMap.MapName);
            if (w.Program is not null && File.Exists(config))
            {
                w.Config = RuntimeConfigMap.OpenOrCreate(config, _audit);
                w.Cpu = new CpuOverheadMonitor(paths.Application, w.Config, new CpuOverheadOptions { DefaultLimit = options.Value.Budgets.CpuShareLimit }, time, _audit, alertSinks, loggers.CreateLogger<CpuOverheadMonitor>());
                w.Cpu.Watch(w.Identity.Program, w.Identity.Version, w.Program);
            }

            w.Registration = monitor.Register(new MonitoredProgram
            {
                Identity = w.Identity,
                VersionId = (ulong)id,
                Program = w.Program,
                StatsMap = w.Stats,
                LogRing = w.Logs,
                Maps = new[] { w.Stats, w.Logs }.OfType<BpfMapHandle>().ToList(),
            });
            return w;
        }
        catch
        {
            w.Dispose();
            throw;
        }
    }

    private static BpfMapHandle? OpenMap(string versionDir, string name)
    {
        var path = Path.Combine(versionDir, "maps", name);
        return File.Exists(path) ? Bpf.GetPinnedMap(path) : null;
    }

    private sealed class Watched : IDisposable
    {
        public required ProgramIdentity Identity { get; init; }

        public BpfProgramHandle? Program { get; set; }

        public BpfMapHandle? Stats { get; set; }

        public BpfMapHandle? Logs { get; set; }

        public IDisposable? Registration { get; set; }

        public RuntimeConfigMap? Config { get; set; }

        public CpuOverheadMonitor? Cpu { get; set; }

        public void Dispose()
        {
            Registration?.Dispose();
            Cpu?.Dispose();
            Config?.Dispose();
            Program?.Dispose();
            Stats?.Dispose();
            Logs?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Application {Application}: pinned state re-adopted, recovery {Action}, {DriftCount} drift finding(s)")]
    private partial void LogRecovered(string application, RecoveryAction action, int driftCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drift: {Drift}")]
    private partial void LogDrift(string drift);

    [LoggerMessage(Level = LogLevel.Information, Message = "Application {Application}: watching version {VersionId} ({Identity})")]
    private partial void LogWatched(string application, long versionId, string identity);

    [LoggerMessage(Level = LogLevel.Information, Message = "Application {Application}: version {VersionId} no longer serves; stopped watching it")]
    private partial void LogUnwatched(string application, long versionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Identity}: CPU share {Share:P2} above {Limit:P2}; log sampling lowered from {Old}% to {New}%")]
    private partial void LogThrottled(string identity, double share, double limit, ulong? old, ulong? @new);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not follow the application's versions")]
    private partial void LogSyncFailed(Exception e);
}
