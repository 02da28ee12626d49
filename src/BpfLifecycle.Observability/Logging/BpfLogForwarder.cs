// Forwards log records written by BPF programs (bpf_lifecycle.h BPFLC_LOG*) to ILogger with structured state,
// and keeps count of every record seen, forwarded or rejected as malformed.
using System.Collections;
using BpfLifecycle.Observability.Abi;
using BpfLifecycle.Observability.Metrics;
using Microsoft.Extensions.Logging;

namespace BpfLifecycle.Observability.Logging;

/// <summary>Counts of the records a <see cref="BpfLogForwarder"/> has seen. <c>Received == Forwarded + Malformed</c>.</summary>
/// <param name="Received">Records handed to the forwarder.</param>
/// <param name="Forwarded">Well-formed records passed to the logger.</param>
/// <param name="Malformed">Records rejected (the sum of the five reasons that follow).</param>
/// <param name="TooShort">Rejected: shorter than the fixed header.</param>
/// <param name="BadMagic">Rejected: wrong magic.</param>
/// <param name="BadLevel">Rejected: unknown level.</param>
/// <param name="MessageTooLong">Rejected: msg_len above the maximum.</param>
/// <param name="Truncated">Rejected: msg_len past the end of the record.</param>
public readonly record struct BpfLogStatistics(long Received, long Forwarded, long Malformed, long TooShort, long BadMagic, long BadLevel, long MessageTooLong, long Truncated);

/// <summary>Turns raw <c>struct bpflc_log_record</c> bytes into <see cref="ILogger"/> entries. Thread-safe.</summary>
public sealed class BpfLogForwarder
{
    /// <summary>Event id of forwarded BPF log records.</summary>
    public static readonly EventId BpfLogEvent = new(4100, "BpfLog");

    private readonly ILogger _logger;
    private readonly BpfLifecycleMetrics? _metrics;
    private long _received;
    private long _forwarded;
    private readonly long[] _malformed = new long[6];

    /// <summary>Creates a forwarder writing to <paramref name="logger"/> and, if given, counting in <paramref name="metrics"/>.</summary>
    public BpfLogForwarder(ILogger logger, BpfLifecycleMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _metrics = metrics;
    }

    /// <summary>Parses one record and logs it. Malformed records are counted and reported by the returned status; nothing is thrown for them.</summary>
    /// <param name="data">The record bytes as delivered by the ring buffer.</param>
    /// <param name="source">The program whose ring buffer delivered it.</param>
    public BpfLogParseStatus Forward(ReadOnlySpan<byte> data, ProgramIdentity source)
    {
        Interlocked.Increment(ref _received);
        var status = BpfLogRecordParser.TryParse(data, out var record);
        if (status != BpfLogParseStatus.Ok)
        {
            Interlocked.Increment(ref _malformed[(int)status]);
            _metrics?.RecordLogRecords(source, 0, malformed: 1);
            return status;
        }

        Interlocked.Increment(ref _forwarded);
        _metrics?.RecordLogRecords(source, 1, malformed: 0);
        var level = MapLevel(record.Level);
        if (_logger.IsEnabled(level))
        {
            // The message string is the one allocation a log entry needs; it is skipped when the level is off.
            var state = new BpfLogState(source, record.VersionId, record.Pid, record.Cpu, record.Meta0, record.Meta1, record.TimestampNs, record.Level, record.GetMessage());
            _logger.Log(level, BpfLogEvent, state, null, static (s, _) => s.Message);
        }

        return BpfLogParseStatus.Ok;
    }

    /// <summary>A snapshot of the counts.</summary>
    public BpfLogStatistics Statistics
    {
        get
        {
            var tooShort = Volatile.Read(ref _malformed[(int)BpfLogParseStatus.TooShort]);
            var badMagic = Volatile.Read(ref _malformed[(int)BpfLogParseStatus.BadMagic]);
            var badLevel = Volatile.Read(ref _malformed[(int)BpfLogParseStatus.BadLevel]);
            var tooLong = Volatile.Read(ref _malformed[(int)BpfLogParseStatus.MessageTooLong]);
            var truncated = Volatile.Read(ref _malformed[(int)BpfLogParseStatus.Truncated]);
            var forwarded = Volatile.Read(ref _forwarded);
            var malformed = tooShort + badMagic + badLevel + tooLong + truncated;
            return new BpfLogStatistics(forwarded + malformed, forwarded, malformed, tooShort, badMagic, badLevel, tooLong, truncated);
        }
    }

    /// <summary>Maps a BPF log level to a <see cref="LogLevel"/>.</summary>
    public static LogLevel MapLevel(BpfLcLogLevel level) => level switch
    {
        BpfLcLogLevel.Trace => LogLevel.Trace,
        BpfLcLogLevel.Debug => LogLevel.Debug,
        BpfLcLogLevel.Info => LogLevel.Information,
        BpfLcLogLevel.Warn => LogLevel.Warning,
        BpfLcLogLevel.Error => LogLevel.Error,
        BpfLcLogLevel.Critical => LogLevel.Critical,
        _ => LogLevel.Warning,
    };
}

/// <summary>
/// The structured state of a forwarded BPF log record. Logging providers see it as key/value pairs:
/// <c>bpf.application</c>, <c>bpf.program</c>, <c>bpf.version</c>, <c>bpf.attach_point</c>, <c>bpf.version_id</c>,
/// <c>bpf.pid</c>, <c>bpf.cpu</c>, <c>bpf.meta0</c>, <c>bpf.meta1</c>, <c>bpf.timestamp_ns</c>, <c>bpf.level</c>,
/// <c>Message</c> and <c>{OriginalFormat}</c>.
/// </summary>
public readonly struct BpfLogState : IReadOnlyList<KeyValuePair<string, object?>>
{
    internal BpfLogState(ProgramIdentity source, ulong versionId, uint pid, uint cpu, ulong meta0, ulong meta1, ulong timestampNs, BpfLcLogLevel level, string message)
    {
        Source = source;
        VersionId = versionId;
        Pid = pid;
        Cpu = cpu;
        Meta0 = meta0;
        Meta1 = meta1;
        TimestampNs = timestampNs;
        Level = level;
        Message = message;
    }

    /// <summary>The program whose ring buffer delivered the record.</summary>
    public ProgramIdentity Source { get; }

    /// <summary>The version id written by the program.</summary>
    public ulong VersionId { get; }

    /// <summary>Thread group id.</summary>
    public uint Pid { get; }

    /// <summary>CPU.</summary>
    public uint Cpu { get; }

    /// <summary>First user-defined value.</summary>
    public ulong Meta0 { get; }

    /// <summary>Second user-defined value.</summary>
    public ulong Meta1 { get; }

    /// <summary>CLOCK_MONOTONIC nanoseconds.</summary>
    public ulong TimestampNs { get; }

    /// <summary>The BPF-side level.</summary>
    public BpfLcLogLevel Level { get; }

    /// <summary>The message.</summary>
    public string Message { get; }

    /// <inheritdoc />
    public int Count => 13;

    /// <inheritdoc />
    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("bpf.application", Source.Application),
        1 => new("bpf.program", Source.Program),
        2 => new("bpf.version", Source.Version),
        3 => new("bpf.attach_point", Source.AttachPoint),
        4 => new("bpf.version_id", VersionId),
        5 => new("bpf.pid", Pid),
        6 => new("bpf.cpu", Cpu),
        7 => new("bpf.meta0", Meta0),
        8 => new("bpf.meta1", Meta1),
        9 => new("bpf.timestamp_ns", TimestampNs),
        10 => new("bpf.level", Level.ToString()),
        11 => new("Message", Message),
        12 => new("{OriginalFormat}", "{Message}"),
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "BpfLogState has 13 entries."),
    };

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => Message;
}
