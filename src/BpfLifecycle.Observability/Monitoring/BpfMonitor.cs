// The monitor: keeps the registered program versions, polls their statistics as deltas, exports them as meters,
// feeds the health windows, evaluates rules, raises alerts and drains the BPF log rings into ILogger.
using System.Collections.Concurrent;
using BpfLifecycle.Interop;
using BpfLifecycle.Maps;
using BpfLifecycle.Observability.Abi;
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Logging;
using BpfLifecycle.Observability.Metrics;
using BpfLifecycle.Observability.Stats;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Observability.Monitoring;

/// <summary>
/// Polls every registered program version, exports what changed through <see cref="BpfLifecycleMetrics"/>, keeps a
/// sliding <see cref="HealthWindow"/> per version for <see cref="Evaluate"/>, and forwards BPF log records to ILogger.
/// Thread-safe; <see cref="Poll"/> and <see cref="DrainLogs"/> may run concurrently with each other and with registration.
/// </summary>
public sealed partial class BpfMonitor : IDisposable
{
    private readonly Func<ObservabilityOptions> _options;
    private readonly BpfLifecycleMetrics _metrics;
    private readonly IHealthEvaluator _evaluator;
    private readonly AlertPublisher? _alerts;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BpfLogForwarder _forwarder;
    private readonly ConcurrentDictionary<ProgramIdentity, Tracked> _programs = new();
    private readonly Dictionary<uint, LogRing> _rings = new();
    private readonly Lock _pollLock = new();
    private readonly Lock _ringLock = new();
    private KernelStatsSession? _stats;
    private long _lastMalformed;
    private bool _disposed;

    /// <summary>Creates a monitor (the DI constructor).</summary>
    public BpfMonitor(IOptionsMonitor<ObservabilityOptions> options, BpfLifecycleMetrics metrics, IHealthEvaluator evaluator, AlertPublisher alerts, ILoggerFactory loggerFactory, TimeProvider timeProvider)
        : this(() => options.CurrentValue, metrics, evaluator, alerts, loggerFactory, timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
    }

    /// <summary>Creates a monitor with fixed options; the evaluator defaults to <see cref="HealthEvaluator"/> over <see cref="ObservabilityOptions.Health"/>.</summary>
    public BpfMonitor(ObservabilityOptions options, BpfLifecycleMetrics metrics, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, AlertPublisher? alerts = null, IHealthEvaluator? evaluator = null)
        : this(() => options, metrics, evaluator ?? new HealthEvaluator(options?.Health ?? throw new ArgumentNullException(nameof(options)), timeProvider), alerts, loggerFactory, timeProvider ?? TimeProvider.System)
    {
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid observability options: " + string.Join(" ", problems), nameof(options));
        }
    }

    private BpfMonitor(Func<ObservabilityOptions> options, BpfLifecycleMetrics metrics, IHealthEvaluator evaluator, AlertPublisher? alerts, ILoggerFactory? loggerFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _metrics = metrics;
        _evaluator = evaluator;
        _alerts = alerts;
        _time = timeProvider;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<BpfMonitor>();
        // Meters are fed per drain by the rings (one Add per ring and drain), not per record.
        _forwarder = new BpfLogForwarder(loggerFactory.CreateLogger(LogCategory));
    }

    /// <summary>The logger category BPF log records are written under.</summary>
    public const string LogCategory = "BpfLifecycle.BpfLog";

    /// <summary>The versions being monitored.</summary>
    public IReadOnlyCollection<ProgramIdentity> Programs => _programs.Keys.ToList();

    /// <summary>Counts of the log records forwarded and rejected.</summary>
    public BpfLogStatistics LogStatistics => _forwarder.Statistics;

    /// <summary>Whether this monitor holds a BPF_ENABLE_STATS descriptor.</summary>
    public bool KernelStatsEnabled => _stats?.IsActive == true;

    /// <summary>Holds a BPF_ENABLE_STATS descriptor until <see cref="DisableKernelStats"/> or disposal. Idempotent.</summary>
    public void EnableKernelStats()
    {
        lock (_pollLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stats ??= KernelStatsSession.Start();
        }
    }

    /// <summary>Releases the BPF_ENABLE_STATS descriptor. Idempotent.</summary>
    public void DisableKernelStats()
    {
        lock (_pollLock)
        {
            _stats?.Dispose();
            _stats = null;
        }
    }

    /// <summary>Starts monitoring a version: validates its maps, takes the first snapshot and maps its log ring.</summary>
    /// <returns>Dispose it to stop monitoring (before closing the handles).</returns>
    /// <exception cref="ArgumentException">The identity is incomplete or a map has the wrong layout.</exception>
    /// <exception cref="InvalidOperationException">The identity is already registered.</exception>
    public IDisposable Register(MonitoredProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(program.Identity);
        program.Identity.Validate();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (program.StatsMap is { } sm)
        {
            ProgramStatsReader.ValidateStatsMap(sm);
        }

        if (program.Dispatcher is { } d)
        {
            ProgramStatsReader.ValidateDispatcherMap(d.Counters);
        }

        var tracked = new Tracked(program, new HealthWindow(_options().Health.Window, _time));
        lock (_pollLock)
        {
            tracked.Snapshot = Read(program);
            tracked.SnapshotAt = _time.GetTimestamp();
            if (!_programs.TryAdd(program.Identity, tracked))
            {
                throw new InvalidOperationException($"{program.Identity} is already monitored.");
            }
        }

        if (program.LogRing is { } ring)
        {
            try
            {
                AttachRing(ring, tracked);
            }
            catch
            {
                _programs.TryRemove(program.Identity, out _);
                throw;
            }
        }

        return new Registration(this, tracked);
    }

    /// <summary>
    /// Reads every version's statistics, computes the deltas since the previous poll, exports them as meters and adds
    /// them to the health windows. Versions whose objects can no longer be read are logged and skipped.
    /// </summary>
    public IReadOnlyList<ProgramObservation> Poll()
    {
        var result = new List<ProgramObservation>(_programs.Count);
        lock (_pollLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var online = Math.Max(1, Bpf.OnlineCpuCount);
            foreach (var tracked in _programs.Values)
            {
                Snapshot now;
                try
                {
                    now = Read(tracked.Program);
                }
                catch (Exception e) when (e is BpfException or ObjectDisposedException or IOException)
                {
                    LogReadFailed(_logger, e, tracked.Program.Identity.ToString());
                    continue;
                }

                var ts = _time.GetTimestamp();
                var elapsed = _time.GetElapsedTime(tracked.SnapshotAt, ts);
                var obs = Delta(tracked, tracked.Snapshot, now, elapsed, online);
                tracked.Snapshot = now;
                tracked.SnapshotAt = ts;
                tracked.Window.Add(obs.Sample);
                _metrics.RecordWindow(tracked.Program.Identity, obs.Sample, (long)obs.Kernel.RecursionMisses);
                if (obs.Version.lost_logs > 0)
                {
                    _metrics.RecordLogRecords(tracked.Program.Identity, 0, lost: (long)obs.Version.lost_logs);
                    LogLostRecords(_logger, (long)obs.Version.lost_logs, tracked.Program.Identity.ToString());
                }

                result.Add(obs);
            }
        }

        var malformed = _forwarder.Statistics.Malformed;
        var previous = Interlocked.Exchange(ref _lastMalformed, malformed);
        if (malformed > previous)
        {
            LogMalformed(_logger, malformed - previous, _forwarder.Statistics.ToString());
        }

        return result;
    }

    /// <summary>Polls, then evaluates every version's window on its own and publishes alerts for failed rules.</summary>
    public async ValueTask<IReadOnlyList<(ProgramIdentity Program, HealthReport Report)>> PollAndEvaluateAsync(CancellationToken cancellationToken)
    {
        Poll();
        var reports = new List<(ProgramIdentity, HealthReport)>();
        foreach (var id in _programs.Keys)
        {
            if (!TryEvaluate(id, null, out var report))
            {
                continue;
            }

            reports.Add((id, report));
            if (_alerts is not null)
            {
                await _alerts.PublishAsync(report, id, cancellationToken).ConfigureAwait(false);
            }
        }

        return reports;
    }

    /// <summary>The aggregate of a version's health window.</summary>
    /// <exception cref="KeyNotFoundException">The version is not monitored.</exception>
    public HealthSample GetWindow(ProgramIdentity program) => Get(program).Window.Aggregate();

    /// <summary>Evaluates a candidate's window against a baseline's window (over the same period) with the health rules.</summary>
    /// <exception cref="KeyNotFoundException">A version is not monitored.</exception>
    public HealthReport Evaluate(ProgramIdentity candidate, ProgramIdentity? baseline = null)
    {
        if (!TryEvaluate(candidate, baseline, out var report))
        {
            throw new KeyNotFoundException($"{candidate} is not monitored.");
        }

        return report;
    }

    /// <summary>Drops a version's window (its evidence starts again from the next poll).</summary>
    public void ResetWindow(ProgramIdentity program) => Get(program).Window.Clear();

    /// <summary>Drains every log ring into ILogger. Returns how many records were handed to the forwarder.</summary>
    public int DrainLogs(int maxPerRing = 4096)
    {
        var n = 0;
        lock (_ringLock)
        {
            foreach (var ring in _rings.Values)
            {
                n += ring.Drain(_forwarder, _metrics, maxPerRing);
            }
        }

        return n;
    }

    private bool TryEvaluate(ProgramIdentity candidate, ProgramIdentity? baseline, out HealthReport report)
    {
        if (!_programs.TryGetValue(candidate, out var c))
        {
            report = null!;
            return false;
        }

        HealthSample? b = baseline is null ? null : Get(baseline).Window.Aggregate();
        var sample = c.Window.Aggregate();
        report = _evaluator is HealthEvaluator he
            ? he.Evaluate(sample, b, c.Program.MapMemoryBudgetBytes)
            : _evaluator.Evaluate(sample, b);
        return true;
    }

    private Tracked Get(ProgramIdentity program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return _programs.TryGetValue(program, out var t) ? t : throw new KeyNotFoundException($"{program} is not monitored.");
    }

    private static Snapshot Read(MonitoredProgram p)
    {
        var s = new Snapshot();
        if (p.Program is { } prog)
        {
            s.Kernel = ProgramStatsReader.ReadKernel(prog);
        }

        if (p.StatsMap is { } sm)
        {
            s.Version = ProgramStatsReader.ReadVersionStats(sm);
        }

        if (p.Dispatcher is { } d)
        {
            s.Dispatcher = ProgramStatsReader.ReadDispatcherSlot(d.Counters, d.Slot);
        }

        s.MapMemory = p.Maps.Count == 0 ? 0 : ProgramStatsReader.ReadMemory(p.Maps);
        return s;
    }

    // A counter that went backwards was recreated (a map replaced under the same identity): count from zero.
    private static ulong D(ulong now, ulong before) => now >= before ? now - before : now;

    private ProgramObservation Delta(Tracked t, Snapshot a, Snapshot b, TimeSpan elapsed, int onlineCpus)
    {
        var kernel = new KernelProgramStats(D(b.Kernel.RunCount, a.Kernel.RunCount), D(b.Kernel.RunTimeNs, a.Kernel.RunTimeNs), D(b.Kernel.RecursionMisses, a.Kernel.RecursionMisses));
        var version = new BpfLcStats { runs = D(b.Version.runs, a.Version.runs), errors = D(b.Version.errors, a.Version.errors), ns = D(b.Version.ns, a.Version.ns), lost_logs = D(b.Version.lost_logs, a.Version.lost_logs) };
        var dispatcher = new BpfLcDispatchCounters { picks = D(b.Dispatcher.picks, a.Dispatcher.picks), missed_tail_calls = D(b.Dispatcher.missed_tail_calls, a.Dispatcher.missed_tail_calls) };
        var p = t.Program;
        var runs = p.StatsMap is not null ? version.runs : p.Dispatcher is not null ? dispatcher.picks : kernel.RunCount;
        var ns = p.StatsMap is not null ? version.ns : kernel.RunTimeNs;
        var cpuNs = p.Program is not null && kernel.RunTimeNs > 0 ? kernel.RunTimeNs : version.ns;
        var wallNs = elapsed.Ticks * 100.0;
        var cpu = wallNs > 0 ? Math.Min(1.0, cpuNs / (wallNs * onlineCpus)) : 0;
        var sample = new HealthSample((long)runs, (long)version.errors, (long)ns, (long)dispatcher.missed_tail_calls, cpu, b.MapMemory, elapsed);
        return new ProgramObservation(p.Identity, _time.GetUtcNow(), sample, kernel, version, dispatcher);
    }

    private void AttachRing(BpfMapHandle handle, Tracked tracked)
    {
        var id = Bpf.GetMapInfo(handle).Id;
        lock (_ringLock)
        {
            if (!_rings.TryGetValue(id, out var ring))
            {
                // A descriptor of our own (by id) so the ring's lifetime does not depend on the caller's handle.
                ring = new LogRing(RingBuffer.Open(Bpf.MapFromId(id)));
                _rings.Add(id, ring);
            }

            ring.Sources.Add(tracked.Program);
        }
    }

    private void Unregister(Tracked tracked)
    {
        // Drain first so records written before the version went away are not lost with its ring.
        if (tracked.Program.LogRing is not null)
        {
            DrainLogs();
        }

        _programs.TryRemove(new KeyValuePair<ProgramIdentity, Tracked>(tracked.Program.Identity, tracked));
        lock (_ringLock)
        {
            foreach (var (id, ring) in _rings.ToList())
            {
                if (ring.Sources.Remove(tracked.Program) && ring.Sources.Count == 0)
                {
                    ring.Dispose();
                    _rings.Remove(id);
                }
            }
        }
    }

    /// <summary>Releases the kernel statistics descriptor and the log rings. Registered handles stay the caller's.</summary>
    public void Dispose()
    {
        lock (_pollLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stats?.Dispose();
            _stats = null;
        }

        lock (_ringLock)
        {
            foreach (var ring in _rings.Values)
            {
                ring.Dispose();
            }

            _rings.Clear();
        }

        _programs.Clear();
    }

    [LoggerMessage(4300, LogLevel.Warning, "Could not read the statistics of {Program}; skipped in this poll")]
    private static partial void LogReadFailed(ILogger logger, Exception exception, string program);

    [LoggerMessage(4301, LogLevel.Warning, "{Count} BPF log records of {Program} were lost: the ring buffer was full")]
    private static partial void LogLostRecords(ILogger logger, long count, string program);

    [LoggerMessage(4302, LogLevel.Warning, "{Count} malformed BPF log records since the last poll ({Statistics})")]
    private static partial void LogMalformed(ILogger logger, long count, string statistics);

    private sealed class Snapshot
    {
        public KernelProgramStats Kernel;
        public BpfLcStats Version;
        public BpfLcDispatchCounters Dispatcher;
        public long MapMemory;
    }

    private sealed class Tracked(MonitoredProgram program, HealthWindow window)
    {
        public MonitoredProgram Program { get; } = program;
        public HealthWindow Window { get; } = window;
        public Snapshot Snapshot { get; set; } = new();
        public long SnapshotAt { get; set; }
    }

    private sealed class LogRing(RingBuffer ring) : IDisposable
    {
        public List<MonitoredProgram> Sources { get; } = new();

        private long[] _forwarded = new long[1];
        private long[] _malformed = new long[1];

        public int Drain(BpfLogForwarder forwarder, BpfLifecycleMetrics metrics, int max)
        {
            if (_forwarded.Length < Sources.Count)
            {
                _forwarded = new long[Sources.Count];
                _malformed = new long[Sources.Count];
            }

            var n = 0;
            while (n < max && ring.TryRead(out var record))
            {
                var source = SourceOf(record);
                if (forwarder.Forward(record, Sources[source].Identity) == BpfLogParseStatus.Ok)
                {
                    _forwarded[source]++;
                }
                else
                {
                    _malformed[source]++;
                }

                n++;
            }

            ring.Commit();
            for (var i = 0; i < Sources.Count; i++)
            {
                if (_forwarded[i] + _malformed[i] > 0)
                {
                    metrics.RecordLogRecords(Sources[i].Identity, _forwarded[i], malformed: _malformed[i]);
                    _forwarded[i] = 0;
                    _malformed[i] = 0;
                }
            }

            return n;
        }

        private int SourceOf(ReadOnlySpan<byte> record)
        {
            if (Sources.Count > 1 && record.Length >= BpfLcAbi.LogHeaderSize)
            {
                var versionId = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(record[16..]);
                for (var i = 0; i < Sources.Count; i++)
                {
                    if (Sources[i].VersionId == versionId)
                    {
                        return i;
                    }
                }
            }

            return 0;
        }

        public void Dispose() => ring.Dispose();
    }

    private sealed class Registration(BpfMonitor monitor, Tracked tracked) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                monitor.Unregister(tracked);
            }
        }
    }
}
