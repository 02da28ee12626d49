// Parsing of struct bpflc_log_record as it arrives from the ring buffer: the fixed part is read in place,
// without allocating, and every way a record can be malformed has its own status instead of an exception.
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using BpfLifecycle.Observability.Abi;

namespace BpfLifecycle.Observability.Logging;

/// <summary>Why a log record was accepted or rejected.</summary>
public enum BpfLogParseStatus
{
    /// <summary>The record is well formed.</summary>
    Ok = 0,
    /// <summary>Shorter than the fixed header (<see cref="BpfLcAbi.LogHeaderSize"/> bytes).</summary>
    TooShort = 1,
    /// <summary>The first four bytes are not <see cref="BpfLcAbi.LogMagic"/>.</summary>
    BadMagic = 2,
    /// <summary>The level is not one of <see cref="BpfLcLogLevel"/>.</summary>
    BadLevel = 3,
    /// <summary><c>msg_len</c> is larger than <see cref="BpfLcAbi.LogMessageMax"/>.</summary>
    MessageTooLong = 4,
    /// <summary><c>msg_len</c> runs past the end of the record.</summary>
    Truncated = 5,
}

/// <summary>One parsed log record: its fixed fields and a view of its message bytes inside the ring buffer.</summary>
public readonly ref struct BpfLogRecord
{
    internal BpfLogRecord(BpfLcLogLevel level, byte flags, ulong timestampNs, ulong versionId, uint pid, uint cpu, ulong meta0, ulong meta1, ReadOnlySpan<byte> message)
    {
        Level = level;
        Flags = flags;
        TimestampNs = timestampNs;
        VersionId = versionId;
        Pid = pid;
        Cpu = cpu;
        Meta0 = meta0;
        Meta1 = meta1;
        Message = message;
    }

    /// <summary>The record's level.</summary>
    public BpfLcLogLevel Level { get; }

    /// <summary>Reserved flags (0 today; kept so later writers can set them without breaking this reader).</summary>
    public byte Flags { get; }

    /// <summary>CLOCK_MONOTONIC time the record was written, in nanoseconds.</summary>
    public ulong TimestampNs { get; }

    /// <summary>The version id of the program that wrote it.</summary>
    public ulong VersionId { get; }

    /// <summary>Thread group id of the task (0 in softirq context).</summary>
    public uint Pid { get; }

    /// <summary>The CPU that wrote it.</summary>
    public uint Cpu { get; }

    /// <summary>First user-defined value.</summary>
    public ulong Meta0 { get; }

    /// <summary>Second user-defined value.</summary>
    public ulong Meta1 { get; }

    /// <summary>The message bytes (UTF-8, not NUL-terminated). Valid only as long as the source buffer.</summary>
    public ReadOnlySpan<byte> Message { get; }

    /// <summary>The message as a string (allocates). Invalid UTF-8 becomes U+FFFD; a trailing NUL run is dropped.</summary>
    public string GetMessage()
    {
        var m = Message;
        var nul = m.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? m : m[..nul]);
    }
}

/// <summary>Parses <c>struct bpflc_log_record</c> (see <c>bpf_lifecycle.h</c>).</summary>
public static class BpfLogRecordParser
{
    /// <summary>Parses one record. Never throws: a malformed record gives a status other than <see cref="BpfLogParseStatus.Ok"/>.</summary>
    /// <param name="data">The record as the ring buffer delivered it (possibly padded beyond the message).</param>
    /// <param name="record">The parsed record when the status is <see cref="BpfLogParseStatus.Ok"/>; default otherwise.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BpfLogParseStatus TryParse(ReadOnlySpan<byte> data, out BpfLogRecord record)
    {
        record = default;
        if (data.Length < BpfLcAbi.LogHeaderSize)
        {
            return BpfLogParseStatus.TooShort;
        }

        // Ring buffer records are written by the host CPU, so the layout is little-endian on every supported target.
        if (BinaryPrimitives.ReadUInt32LittleEndian(data) != BpfLcAbi.LogMagic)
        {
            return BpfLogParseStatus.BadMagic;
        }

        var level = data[4];
        if (level > (byte)BpfLcLogLevel.Critical)
        {
            return BpfLogParseStatus.BadLevel;
        }

        int msgLen = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
        if (msgLen > BpfLcAbi.LogMessageMax)
        {
            return BpfLogParseStatus.MessageTooLong;
        }

        if (BpfLcAbi.LogHeaderSize + msgLen > data.Length)
        {
            return BpfLogParseStatus.Truncated;
        }

        record = new BpfLogRecord(
            (BpfLcLogLevel)level,
            data[5],
            BinaryPrimitives.ReadUInt64LittleEndian(data[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(data[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(data[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(data[28..]),
            BinaryPrimitives.ReadUInt64LittleEndian(data[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(data[40..]),
            data.Slice(BpfLcAbi.LogHeaderSize, msgLen));
        return BpfLogParseStatus.Ok;
    }
}
