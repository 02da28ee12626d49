// C# mirror of the structures in bpf/include/bpf_lifecycle.h: the layouts BPF programs write and the SDK reads.
// A test compiles the header with offset assertions generated from these types, so the two cannot drift apart.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Observability.Abi;

/// <summary>Constants of the BPF-side ABI (<c>bpf_lifecycle.h</c>).</summary>
public static class BpfLcAbi
{
    /// <summary><c>BPFLC_ABI_VERSION</c>: bumped only when an existing layout changes.</summary>
    public const int AbiVersion = 1;

    /// <summary><c>BPFLC_LOG_MAGIC</c>: "BLOG" little-endian, the first four bytes of every log record.</summary>
    public const uint LogMagic = 0x474f4c42u;

    /// <summary><c>BPFLC_LOG_MSG_MAX</c>: the largest message a record carries, in bytes.</summary>
    public const int LogMessageMax = 256;

    /// <summary><c>BPFLC_LOG_HEADER_SIZE</c>: bytes of a log record before its message.</summary>
    public const int LogHeaderSize = 48;

    /// <summary><c>BPFLC_CONFIG_KEY_MAX</c>: size of a runtime config key (NUL-padded; at most 63 characters used).</summary>
    public const int ConfigKeyMax = 64;

    /// <summary>Name of the per-CPU per-version statistics map.</summary>
    public const string StatsMapName = "bpflc_stats";

    /// <summary>Name of the log ring buffer.</summary>
    public const string LogRingMapName = "bpflc_logs";

    /// <summary>Name of the runtime configuration hash map.</summary>
    public const string ConfigMapName = "bpflc_config";

    /// <summary>Name of the <c>.rodata</c> global holding the version id, set before load.</summary>
    public const string VersionIdGlobal = "bpflc_version_id";
}

/// <summary><c>enum bpflc_log_level</c>.</summary>
public enum BpfLcLogLevel : byte
{
    /// <summary><c>BPFLC_LEVEL_TRACE</c>.</summary>
    Trace = 0,
    /// <summary><c>BPFLC_LEVEL_DEBUG</c>.</summary>
    Debug = 1,
    /// <summary><c>BPFLC_LEVEL_INFO</c>.</summary>
    Info = 2,
    /// <summary><c>BPFLC_LEVEL_WARN</c>.</summary>
    Warn = 3,
    /// <summary><c>BPFLC_LEVEL_ERROR</c>.</summary>
    Error = 4,
    /// <summary><c>BPFLC_LEVEL_CRITICAL</c>.</summary>
    Critical = 5,
}

/// <summary><c>struct bpflc_stats</c>: one CPU's slot of a version's statistics map.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BpfLcStats
{
    /// <summary>Runs counted by <c>BPFLC_END</c>.</summary>
    public ulong runs;

    /// <summary>Errors counted by <c>BPFLC_END(1)</c> or <c>bpflc_count_error()</c>.</summary>
    public ulong errors;

    /// <summary>Nanoseconds between <c>BPFLC_BEGIN</c> and <c>BPFLC_END</c>, summed.</summary>
    public ulong ns;

    /// <summary>Log records that could not be reserved in the ring buffer.</summary>
    public ulong lost_logs;
}

/// <summary>The fixed part of <c>struct bpflc_log_record</c> (the message follows it).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BpfLcLogRecordHeader
{
    /// <summary><see cref="BpfLcAbi.LogMagic"/>.</summary>
    public uint magic;

    /// <summary>A <see cref="BpfLcLogLevel"/>.</summary>
    public byte level;

    /// <summary>Reserved, 0.</summary>
    public byte flags;

    /// <summary>Bytes of the message used.</summary>
    public ushort msg_len;

    /// <summary><c>bpf_ktime_get_ns()</c> (CLOCK_MONOTONIC).</summary>
    public ulong timestamp_ns;

    /// <summary>The writing program's <c>bpflc_version_id</c>.</summary>
    public ulong version_id;

    /// <summary>Thread group id of the current task (0 in softirq context).</summary>
    public uint pid;

    /// <summary>CPU that wrote the record.</summary>
    public uint cpu;

    /// <summary>First user-defined value.</summary>
    public ulong meta0;

    /// <summary>Second user-defined value.</summary>
    public ulong meta1;
}

/// <summary><c>struct bpflc_dispatch_counters</c>: one CPU's counters of one dispatcher slot.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BpfLcDispatchCounters
{
    /// <summary>Times the dispatcher picked the slot.</summary>
    public ulong picks;

    /// <summary>Tail calls into the slot that fell through (empty slot or tail-call limit).</summary>
    public ulong missed_tail_calls;
}

/// <summary><c>struct bpflc_config_key</c>: a runtime config key, NUL-padded to <see cref="BpfLcAbi.ConfigKeyMax"/> bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct BpfLcConfigKey
{
    /// <summary>The key's bytes.</summary>
    public fixed byte name[BpfLcAbi.ConfigKeyMax];

    /// <summary>Builds a key from an ASCII name of 1 to 63 characters.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long or not printable ASCII.</exception>
    public static BpfLcConfigKey Create(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Length > BpfLcAbi.ConfigKeyMax - 1)
        {
            throw new ArgumentException($"Config key '{key}' is {key.Length} characters; bpflc_config keys hold at most {BpfLcAbi.ConfigKeyMax - 1}.", nameof(key));
        }

        BpfLcConfigKey k = default;
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c is < (char)0x21 or > (char)0x7e)
            {
                throw new ArgumentException($"Config key '{key}' has a character that is not printable ASCII at index {i}.", nameof(key));
            }

            k.name[i] = (byte)c;
        }

        return k;
    }
}
