// Watches the CPU share of programs (kernel run time over wall time and CPUs) and, when one passes its limit,
// halves its sampling rate through runtime config, records it in the audit log and raises an alert.
using System.Globalization;
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability;
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BpfLifecycle.Deployment.Budgets;

/// <summary>CPU overhead limits and how to lower a program's work.</summary>
public sealed class CpuOverheadOptions
{
    /// <summary>CPU share (0..1 of all online CPUs) above which a program is throttled. Default 0.05 (5%).</summary>
    public double DefaultLimit { get; set; } = 0.05;

    /// <summary>Runtime config key holding a program's sampling percentage. Default <c>log_sample_percent</c>.</summary>
    public string SamplingKey { get; set; } = "log_sample_percent";

    /// <summary>Sampling percentage assumed when the key is unset. Default 100.</summary>
    public ulong DefaultSamplingPercent { get; set; } = 100;

    /// <summary>Sampling is never lowered below this. Default 1.</summary>
    public ulong MinimumSamplingPercent { get; set; } = 1;

    /// <summary>Problems with the values, each naming the option; empty when valid.</summary>
    public IEnumerable<string> Validate(string prefix = "CpuOverhead")
    {
        if (DefaultLimit is <= 0 or > 1 || double.IsNaN(DefaultLimit))
        {
            yield return $"{prefix}.DefaultLimit must be in (0, 1] (is {DefaultLimit.ToString(CultureInfo.InvariantCulture)}).";
        }

        if (string.IsNullOrWhiteSpace(SamplingKey) || SamplingKey.Length > RuntimeConfigMap.MaxKeyLength)
        {
            yield return $"{prefix}.SamplingKey must be 1 to {RuntimeConfigMap.MaxKeyLength} characters.";
        }

        if (DefaultSamplingPercent is 0 or > 100)
        {
            yield return $"{prefix}.DefaultSamplingPercent must be in 1..100 (is {DefaultSamplingPercent}).";
        }

        if (MinimumSamplingPercent > DefaultSamplingPercent)
        {
            yield return $"{prefix}.MinimumSamplingPercent ({MinimumSamplingPercent}) must not exceed {prefix}.DefaultSamplingPercent ({DefaultSamplingPercent}).";
        }
    }
}

/// <summary>One program's CPU figure for one sampling interval.</summary>
/// <param name="Program">Program name.</param>
/// <param name="Share">CPU share over the interval (0..1 of all online CPUs).</param>
/// <param name="Limit">Its limit.</param>
/// <param name="Throttled">True when its sampling was lowered.</param>
/// <param name="OldSamplingPercent">Sampling before, when throttled.</param>
/// <param name="NewSamplingPercent">Sampling after, when throttled.</param>
public sealed record CpuOverheadSample(string Program, double Share, double Limit, bool Throttled, ulong? OldSamplingPercent, ulong? NewSamplingPercent);

/// <summary>
/// Samples watched programs' <c>run_time_ns</c> and throttles those over their CPU limit by halving their sampling
/// rate in the runtime config map (the program reads it on its next run: no reload). Kernel run-time statistics must be
/// on; the monitor turns them on for its lifetime when it may (CAP_SYS_ADMIN). Thread-safe.
/// </summary>
public sealed class CpuOverheadMonitor : IDisposable
{
    private readonly RuntimeConfigMap _config;
    private readonly CpuOverheadOptions _options;
    private readonly TimeProvider _time;
    private readonly IAuditLog? _audit;
    private readonly IReadOnlyList<IAlertSink> _sinks;
    private readonly ILogger _logger;
    private readonly string _application;
    private readonly Dictionary<string, Watched> _watched = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly BpfStatsHandle? _stats;

    /// <summary>Creates the monitor.</summary>
    public CpuOverheadMonitor(string application, RuntimeConfigMap config, CpuOverheadOptions? options = null, TimeProvider? timeProvider = null, IAuditLog? audit = null, IEnumerable<IAlertSink>? alertSinks = null, ILogger<CpuOverheadMonitor>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(application);
        ArgumentNullException.ThrowIfNull(config);
        _options = options ?? new CpuOverheadOptions();
        var problems = _options.Validate().ToArray();
        if (problems.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _application = application;
        _config = config;
        _time = timeProvider ?? TimeProvider.System;
        _audit = audit;
        _sinks = alertSinks?.ToArray() ?? [];
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        if (Capabilities.Required(BpfOperation.EnableStats).IsSatisfiedBy(Capabilities.Current().Effective))
        {
            _stats = Bpf.EnableStats(BpfStatsType.RunTime);
        }
    }

    /// <summary>True when run-time statistics are on (held by this monitor).</summary>
    public bool StatisticsEnabled => _stats is not null;

    /// <summary>Starts watching a program. The handle stays owned by the caller and must outlive the watch.</summary>
    /// <param name="program">Program name (the key for <see cref="Unwatch"/>).</param>
    /// <param name="version">Version label, for alerts.</param>
    /// <param name="handle">The loaded program.</param>
    /// <param name="limit">CPU share limit, or null for <see cref="CpuOverheadOptions.DefaultLimit"/>.</param>
    /// <param name="samplingKey">Runtime config key of its sampling, or null for <see cref="CpuOverheadOptions.SamplingKey"/>.</param>
    public void Watch(string program, string version, BpfProgramHandle handle, double? limit = null, string? samplingKey = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(program);
        ArgumentNullException.ThrowIfNull(handle);
        if (limit is { } l && (l <= 0 || l > 1 || double.IsNaN(l)))
        {
            throw new ArgumentOutOfRangeException(nameof(limit), l, $"CPU share limit of '{program}' must be in (0, 1].");
        }

        var key = samplingKey ?? _options.SamplingKey;
        RuntimeConfigMap.EncodeKey(key, stackalloc byte[RuntimeConfigMap.KeySize]);
        var info = Bpf.GetProgramInfo(handle);
        lock (_lock)
        {
            _watched[program] = new Watched(program, version, handle, limit ?? _options.DefaultLimit, key, info.RunTimeNs, _time.GetTimestamp());
        }
    }

    /// <summary>Stops watching a program.</summary>
    public bool Unwatch(string program)
    {
        lock (_lock)
        {
            return _watched.Remove(program);
        }
    }

    /// <summary>Measures every watched program since its last sample and throttles those over their limit.</summary>
    public async ValueTask<IReadOnlyList<CpuOverheadSample>> SampleAsync(CancellationToken cancellationToken = default)
    {
        Watched[] watched;
        lock (_lock)
        {
            watched = _watched.Values.ToArray();
        }

        var cpus = Math.Max(1, Bpf.OnlineCpuCount);
        var results = new List<CpuOverheadSample>(watched.Length);
        foreach (var w in watched)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = _time.GetTimestamp();
            var runTime = Bpf.GetProgramInfo(w.Handle).RunTimeNs;
            var wallNs = _time.GetElapsedTime(w.LastTimestamp, now).TotalNanoseconds;
            var share = wallNs <= 0 ? 0 : (runTime - w.LastRunTimeNs) / (wallNs * cpus);
            lock (_lock)
            {
                if (_watched.TryGetValue(w.Program, out var current) && ReferenceEquals(current, w))
                {
                    _watched[w.Program] = w with { LastRunTimeNs = runTime, LastTimestamp = now };
                }
            }

            if (share <= w.Limit)
            {
                results.Add(new CpuOverheadSample(w.Program, share, w.Limit, false, null, null));
                continue;
            }

            var old = _config.Get(w.SamplingKey, _options.DefaultSamplingPercent);
            var lowered = Math.Max(_options.MinimumSamplingPercent, old / 2);
            var message = $"CPU share {share.ToString("P2", CultureInfo.InvariantCulture)} over the limit of {w.Limit.ToString("P2", CultureInfo.InvariantCulture)}; sampling ({w.SamplingKey}) {old}% -> {lowered}%";
            if (lowered < old)
            {
                _config.Set(w.SamplingKey, lowered, "cpu-overhead", w.Program);
            }
            else
            {
                message = $"CPU share {share.ToString("P2", CultureInfo.InvariantCulture)} over the limit of {w.Limit.ToString("P2", CultureInfo.InvariantCulture)}; sampling ({w.SamplingKey}) already at its minimum of {old}%";
            }

            _audit?.Append(new AuditEvent(AuditAction.Throttle, AuditOutcome.Success)
            {
                Program = w.Program,
                Version = w.Version,
                Details = new Dictionary<string, string?>
                {
                    ["cpuShare"] = share.ToString("R", CultureInfo.InvariantCulture),
                    ["limit"] = w.Limit.ToString("R", CultureInfo.InvariantCulture),
                    ["key"] = w.SamplingKey,
                    ["old"] = old.ToString(CultureInfo.InvariantCulture),
                    ["new"] = lowered.ToString(CultureInfo.InvariantCulture),
                },
            });
            _logger.LogWarning("{Program}@{Version}: {Message}", w.Program, w.Version, message);
            var alert = new Alert(new ProgramIdentity(_application, w.Program, w.Version), "cpu-overhead", AlertSeverity.Warning, message, share, w.Limit, _time.GetUtcNow());
            foreach (var sink in _sinks)
            {
                await sink.SendAsync(alert, cancellationToken).ConfigureAwait(false);
            }

            results.Add(new CpuOverheadSample(w.Program, share, w.Limit, lowered < old, old, lowered));
        }

        return results;
    }

    /// <summary>Samples every <paramref name="interval"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            await SampleAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stats?.Dispose();

    private sealed record Watched(string Program, string Version, BpfProgramHandle Handle, double Limit, string SamplingKey, ulong LastRunTimeNs, long LastTimestamp);
}
